"""Bibliographic records and their parsers: RIS, PubMed/MEDLINE (``.nbib``), EndNote XML, CSV.

Each parser returns every good record and, for each bad one, the line it starts on and why
(:class:`ParseResult`); one broken record never loses the others. Traps measured on real
exports (review-reference §2.3) are handled here once:

- RIS: ``rispy`` maps ``AU`` to ``authors`` but ``A1`` to ``first_authors``, and ``T2`` to
  ``secondary_title`` but ``JO``/``JF``/``JA`` to other keys; Embase exports use ``A1``/``JF``.
  ``rispy`` also silently drops a record without ``TY`` and glues stray lines onto the previous
  field, so records are split and checked here before ``rispy`` reads each one.
- MEDLINE: the DOI may be only in ``LID - ... [doi]`` (the ``nbib`` package skips ``LID``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_IMPORT_BYTES",
    "Format",
    "ParseResult",
    "Record",
    "RecordError",
    "detect_format",
    "file_sha256",
    "first_author_surname",
    "normalise_doi",
    "normalise_pmid",
    "parse_records",
    "records_to_ris",
]

#: Largest file accepted in one import (software rule, cf. Covidence's 50 MB per import).
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class Format(StrEnum):
    """Import formats."""

    RIS = "ris"
    NBIB = "nbib"
    ENDNOTE_XML = "endnote_xml"
    CSV = "csv"


class Record(BaseModel):
    """One bibliographic record as imported (``line`` is where it starts in its file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    authors: tuple[str, ...] = ()
    year: int | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    abstract: str | None = None
    keywords: tuple[str, ...] = ()
    url: str | None = None
    kind: str | None = None  # RIS TY / MEDLINE PT, as given
    line: int | None = None

    @property
    def first_author(self) -> str | None:
        """The first author as written, or ``None``."""
        return self.authors[0] if self.authors else None

    def citation(self) -> str:
        """A short citation: 'Surname 2005, Journal'."""
        who = first_author_surname(self.first_author) or "Anonymous"
        who = who.title() if who.islower() else who
        if len(self.authors) > 1:
            who += " et al."
        parts = [who, str(self.year) if self.year else "n.d."]
        if self.journal:
            parts.append(self.journal)
        return ", ".join(parts)


@dataclass(frozen=True)
class RecordError:
    """A record that could not be imported: the line it starts on and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParseResult:
    """What a file yielded: the good records and the bad ones (with lines)."""

    format: Format
    records: list[Record] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (unknown format, not text, too large)."""


# --------------------------------------------------------------------------- normalisation

_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)


def normalise_doi(value: str | None) -> str | None:
    """DOI in canonical form: lower case, without ``https://doi.org/`` or ``doi:`` prefixes.

    DOIs are case-insensitive (DOI Handbook §2.4), so lower case is safe for matching.
    """
    if not value:
        return None
    match = _DOI.search(value.strip())
    if not match:
        return None
    return match.group(0).rstrip(".,;)]").lower()


def normalise_pmid(value: str | None) -> str | None:
    """A PubMed id as digits only (``PMID: 123``, ``123 [pmid]`` → ``123``)."""
    if not value:
        return None
    match = re.search(r"\b(\d{1,9})\b", value)
    return match.group(1).lstrip("0") or None if match else None


def first_author_surname(author: str | None) -> str | None:
    """Lower-case, accent-free surname of an author written 'Surname, G.' or 'Surname GH'."""
    if not author:
        return None
    text = author.strip()
    surname = text.split(",", 1)[0] if "," in text else text.split()[0] if text.split() else ""
    folded = unicodedata.normalize("NFKD", surname)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    folded = re.sub(r"[^a-z0-9]+", "", folded)
    return folded or None


def _year(value: Any) -> int | None:
    if value is None:
        return None
    match = re.search(r"(1[89]\d\d|20\d\d)", str(value))
    return int(match.group(1)) if match else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if v)
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None


def _first(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = data.get(key)
        if value:
            return value[0] if isinstance(value, list) and key not in ("authors",) else value
    return None


def _pages(start: Any, end: Any) -> str | None:
    first, last = _text(start), _text(end)
    if first and last and last != first:
        return f"{first}-{last}"
    return first


def _make(line: int, **values: Any) -> Record | RecordError:
    title = _text(values.pop("title", None))
    if not title:
        return RecordError(line, "record has no title")
    return Record(title=title, line=line, **values)


def file_sha256(data: bytes) -> str:
    """SHA-256 of the file's bytes (re-importing the same file is refused by this hash)."""
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFormatError(
            f"file has {len(data) / 1e6:.1f} MB; at most {MAX_IMPORT_BYTES // 1024 // 1024} MB "
            "per import: split it"
        )
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text.replace("\r\n", "\n").replace("\r", "\n")
    return data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- RIS

_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
#: A line that is meant as a tag but malformed ('TI - x', 'TI-x'); other lines continue a field.
_RIS_BAD_TAG = re.compile(r"^[A-Z][A-Z0-9] ?-(?: |$)|^[A-Z][A-Z0-9] {3,}- ")


def _ris_record(chunk: list[str], line: int) -> Record | RecordError:
    import rispy  # type: ignore[import-untyped]

    text = "\n".join(chunk) + "\nER  - \n"
    try:
        parsed = rispy.loads(text)
    except Exception as exc:  # rispy raises plain exceptions on odd input
        return RecordError(line, f"RIS record could not be read: {exc}")
    if len(parsed) != 1:
        return RecordError(line, "RIS record could not be read")
    data: dict[str, Any] = parsed[0]
    authors = [*data.get("authors", []), *data.get("first_authors", [])]
    urls = [str(u) for u in data.get("urls", []) or []]
    doi = normalise_doi(_first(data, "doi")) or next(
        (d for d in (normalise_doi(u) for u in urls) if d and "doi" in " ".join(urls)), None
    )
    pmid = None
    for u in urls:
        m = re.search(r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/)(\d+)", u)
        if m:
            pmid = m.group(1)
            break
    accession = _text(_first(data, "accession_number"))
    if pmid is None and accession and re.fullmatch(r"(?:PMID:?\s*)?\d{1,9}", accession):
        pmid = normalise_pmid(accession)
    return _make(
        line,
        title=_first(data, "title", "primary_title", "translated_title"),
        authors=tuple(a.strip() for a in authors if a and a.strip()),
        year=_year(_first(data, "year", "publication_year", "date")),
        journal=_text(
            _first(
                data,
                "secondary_title",
                "journal_name",
                "alternate_title3",
                "alternate_title1",
                "alternate_title2",
            )
        ),
        volume=_text(data.get("volume")),
        issue=_text(data.get("number")),
        pages=_pages(data.get("start_page"), data.get("end_page")),
        doi=doi,
        pmid=pmid,
        abstract=_text(_first(data, "abstract", "notes_abstract")),
        keywords=tuple(k.strip() for k in data.get("keywords", []) or [] if k.strip()),
        url=urls[0] if urls else None,
        kind=_text(data.get("type_of_reference")),
    )


def parse_ris(text: str) -> ParseResult:
    """Parse RIS text: each record from ``TY`` to ``ER``; stray text is reported, not merged.

    A broken record is reported at its first line and skipped up to its ``ER``; the records
    around it import.
    """
    result = ParseResult(Format.RIS)
    chunk: list[str] = []
    start = 0
    inside = broken = False
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        match = _RIS_LINE.match(line)
        tag = match.group(1) if match else None
        if tag == "TY":
            if inside and not broken:
                result.errors.append(
                    RecordError(start, "record not closed by 'ER  - ' before the next 'TY'")
                )
            chunk, start, inside, broken = [line], number, True, False
        elif tag == "ER":
            if inside and not broken:
                item = _ris_record(chunk, start)
                if isinstance(item, RecordError):
                    result.errors.append(item)
                else:
                    result.records.append(item)
            elif not inside:
                result.errors.append(RecordError(number, "'ER  - ' without a record before it"))
            inside = broken = False
            chunk = []
        elif not line.strip():
            continue
        elif not inside:
            result.errors.append(
                RecordError(
                    number,
                    f"text outside a record (a record starts with 'TY  - '): {line[:60]!r}",
                )
            )
            inside, broken, start = True, True, number
        elif broken:
            continue
        elif tag is None and _RIS_BAD_TAG.match(line):
            result.errors.append(
                RecordError(
                    start,
                    f"line {number} looks like a tag but is not 'XX  - value' "
                    f"(two spaces, dash, space): {line[:60]!r}",
                )
            )
            broken = True
        else:
            chunk.append(line if tag else "      " + line.strip())
    if inside and not broken:
        result.errors.append(RecordError(start, "record not closed by 'ER  - ' at end of file"))
    return result


# --------------------------------------------------------------------------- MEDLINE (.nbib)

_NBIB_LINE = re.compile(r"^([A-Z][A-Z0-9]{0,3})\s*- (.*)$")


def _nbib_record(fields: list[tuple[str, str]], line: int) -> Record | RecordError:
    values: dict[str, list[str]] = {}
    for tag, value in fields:
        values.setdefault(tag, []).append(value.strip())
    doi = None
    for tag in ("AID", "LID"):  # LID carries the DOI when AID does not (nbib skips LID)
        for value in values.get(tag, []):
            if value.endswith("[doi]"):
                doi = normalise_doi(value.removesuffix("[doi]"))
                break
        if doi:
            break
    pmid = normalise_pmid(values["PMID"][0] if values.get("PMID") else None)
    if pmid is None:
        return RecordError(line, "MEDLINE record has no PMID")
    pages = values["PG"][0] if values.get("PG") else None
    authors = values.get("FAU") or values.get("AU") or []

    def one(*tags: str) -> str | None:
        for tag in tags:
            if values.get(tag):
                return values[tag][0]
        return None

    return _make(
        line,
        title=one("TI", "BTI"),
        authors=tuple(authors),
        year=_year(one("DP")),
        journal=one("JT", "TA"),
        volume=one("VI"),
        issue=one("IP"),
        pages=pages,
        doi=doi,
        pmid=pmid,
        abstract=one("AB"),
        keywords=(*values.get("OT", []), *values.get("MH", [])),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        kind=one("PT"),
    )


def parse_nbib(text: str) -> ParseResult:
    """Parse PubMed's MEDLINE text (``.nbib``): records start at ``PMID-``, fields continue on
    lines indented by six spaces."""
    result = ParseResult(Format.NBIB)
    fields: list[tuple[str, str]] = []
    start = 0

    def flush() -> None:
        if fields:
            item = _nbib_record(fields, start)
            (result.errors if isinstance(item, RecordError) else result.records).append(
                item  # type: ignore[arg-type]
            )

    broken = False
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():  # a blank line ends a record
            flush()
            fields, broken = [], False
            continue
        match = _NBIB_LINE.match(line)
        if match and match.group(1) == "PMID":
            flush()
            fields, start, broken = [("PMID", match.group(2))], number, False
            continue
        if broken:
            continue
        if not fields:
            result.errors.append(
                RecordError(
                    number, f"text outside a record (records start with 'PMID- '): {line[:60]!r}"
                )
            )
            broken = True
            continue
        if match:
            fields.append((match.group(1), match.group(2)))
        elif raw.startswith(" "):
            tag, value = fields[-1]
            fields[-1] = (tag, f"{value} {line.strip()}")
        else:
            result.errors.append(
                RecordError(start, f"line {number} is not 'TAG - value': {line[:60]!r}")
            )
            fields, broken = [], True
    flush()
    return result


# --------------------------------------------------------------------------- EndNote XML


def _xml_text(node: ET.Element | None) -> str | None:
    if node is None:
        return None
    return _text("".join(node.itertext()))


def parse_endnote_xml(text: str) -> ParseResult:
    """Parse EndNote's XML export (``<xml><records><record>...``)."""
    result = ParseResult(Format.ENDNOTE_XML)
    lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"<record>", text)]
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ImportFormatError("EndNote XML with a DOCTYPE or entities is refused (unsafe XML)")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, _col = exc.position
        raise ImportFormatError(f"EndNote XML is not well-formed at line {line}: {exc}") from exc
    for index, rec in enumerate(root.iter("record")):
        line = lines[index] if index < len(lines) else 0
        authors = tuple(
            a for a in (_xml_text(x) for x in rec.findall("./contributors/authors/author")) if a
        )
        pages = _xml_text(rec.find("pages"))
        accession = _xml_text(rec.find("accession-num"))
        item = _make(
            line,
            title=_xml_text(rec.find("./titles/title")),
            authors=authors,
            year=_year(_xml_text(rec.find("./dates/year"))),
            journal=_xml_text(rec.find("./periodical/full-title"))
            or _xml_text(rec.find("./titles/secondary-title"))
            or _xml_text(rec.find("./periodical/abbr-1")),
            volume=_xml_text(rec.find("volume")),
            issue=_xml_text(rec.find("number")),
            pages=pages,
            doi=normalise_doi(_xml_text(rec.find("electronic-resource-num"))),
            pmid=normalise_pmid(accession)
            if accession and re.fullmatch(r"\d{1,9}", accession)
            else None,
            abstract=_xml_text(rec.find("abstract")),
            keywords=tuple(
                k for k in (_xml_text(x) for x in rec.findall("./keywords/keyword")) if k
            ),
            url=_xml_text(rec.find("./urls/related-urls/url")),
            kind=(rec.find("ref-type").get("name") if rec.find("ref-type") is not None else None),  # type: ignore[union-attr]
        )
        (result.errors if isinstance(item, RecordError) else result.records).append(item)  # type: ignore[arg-type]
    return result


# --------------------------------------------------------------------------- CSV

#: Column names accepted for each field (case-insensitive): pedbone's own, Scopus', Web of
#: Science tab-delimited tags and PubMed's CSV export.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "ti"),
    "authors": ("authors", "author", "au", "author full names"),
    "year": ("year", "publication year", "py", "publication_year"),
    "journal": ("journal", "source title", "journal/book", "so", "source"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "is", "number"),
    "pages": ("pages",),
    "page_start": ("page start", "bp"),
    "page_end": ("page end", "ep"),
    "doi": ("doi", "di"),
    "pmid": ("pmid", "pubmed id", "pm"),
    "abstract": ("abstract", "ab"),
    "keywords": ("keywords", "author keywords", "de"),
    "url": ("url", "link"),
    "kind": ("document type", "type", "dt"),
}


def _split_authors(value: str) -> tuple[str, ...]:
    value = value.strip()
    if not value:
        return ()
    if ";" in value:
        parts = value.split(";")
    elif value.count(",") >= 2 and not re.search(r",\s*[A-Z]\.", value):
        parts = value.split(",")  # PubMed CSV: 'Acott PD, Wong JA, Lang BA'
    else:
        parts = [value]
    return tuple(p.strip() for p in parts if p.strip())


def parse_csv(text: str) -> ParseResult:
    """Parse a CSV (or tab-separated) file with a header row naming the columns."""
    result = ParseResult(Format.CSV)
    sample = text[:4096]
    delimiter = (
        "\t" if sample.split("\n", 1)[0].count("\t") > sample.split("\n", 1)[0].count(",") else ","
    )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return result
    columns: dict[str, int] = {}
    lowered = [h.strip().casefold() for h in header]
    for name, aliases in CSV_COLUMNS.items():
        for alias in aliases:
            if alias in lowered:
                columns[name] = lowered.index(alias)
                break
    if "title" not in columns:
        result.errors.append(
            RecordError(1, "header has no title column (expected one of: title, Article Title, TI)")
        )
        return result
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))

        def get(name: str, row: list[str] = row) -> str | None:
            index = columns.get(name)
            return _text(row[index]) if index is not None and index < len(row) else None

        item = _make(
            line,
            title=get("title"),
            authors=_split_authors(get("authors") or ""),
            year=_year(get("year")),
            journal=get("journal"),
            volume=get("volume"),
            issue=get("issue"),
            pages=get("pages") or _pages(get("page_start"), get("page_end")),
            doi=normalise_doi(get("doi")),
            pmid=normalise_pmid(get("pmid")),
            abstract=get("abstract"),
            keywords=tuple(k.strip() for k in (get("keywords") or "").split(";") if k.strip()),
            url=get("url"),
            kind=get("kind"),
        )
        (result.errors if isinstance(item, RecordError) else result.records).append(item)  # type: ignore[arg-type]
    return result


# --------------------------------------------------------------------------- dispatch


def detect_format(data: bytes, filename: str | None = None) -> Format:
    """Guess the format from the file name, else from the first lines."""
    name = (filename or "").casefold()
    for suffix, fmt in (
        (".ris", Format.RIS),
        (".nbib", Format.NBIB),
        (".medline", Format.NBIB),
        (".xml", Format.ENDNOTE_XML),
        (".csv", Format.CSV),
        (".tsv", Format.CSV),
    ):
        if name.endswith(suffix):
            return fmt
    head = _decode(data[:4096]).lstrip()
    if head.startswith("TY  -"):
        return Format.RIS
    if head.startswith("PMID"):
        return Format.NBIB
    if head.startswith("<"):
        return Format.ENDNOTE_XML
    if head:
        return Format.CSV
    raise ImportFormatError("the file is empty")


def parse_records(
    data: bytes, fmt: Format | str | None = None, filename: str | None = None
) -> ParseResult:
    """Parse a file's bytes in ``fmt`` (detected from name or content when ``None``)."""
    chosen = Format(fmt) if fmt else detect_format(data, filename)
    text = _decode(data)
    parser = {
        Format.RIS: parse_ris,
        Format.NBIB: parse_nbib,
        Format.ENDNOTE_XML: parse_endnote_xml,
        Format.CSV: parse_csv,
    }[chosen]
    return parser(text)


# --------------------------------------------------------------------------- RIS writer


def records_to_ris(records: Iterable[Record], notes: Iterable[str | None] | None = None) -> str:
    """Write records as RIS (``AU``, ``TI``, ``T2``, ``PY``, ``DO``, ``AN`` for the PMID)."""
    import rispy

    entries = []
    note_list = list(notes) if notes is not None else None
    for index, r in enumerate(records):
        entry: dict[str, Any] = {"type_of_reference": _ris_type(r.kind), "title": r.title}
        if r.authors:
            entry["authors"] = list(r.authors)
        if r.year:
            entry["year"] = str(r.year)
        for key, value in (
            ("secondary_title", r.journal),
            ("volume", r.volume),
            ("number", r.issue),
            ("doi", r.doi),
            ("abstract", r.abstract),
        ):
            if value:
                entry[key] = value
        if r.pages:
            first, _, last = r.pages.partition("-")
            entry["start_page"] = first
            if last:
                entry["end_page"] = last
        if r.pmid:
            entry["accession_number"] = r.pmid
        if r.keywords:
            entry["keywords"] = list(r.keywords)
        if r.url:
            entry["urls"] = [r.url]
        if note_list is not None and index < len(note_list) and note_list[index]:
            entry["notes"] = [note_list[index]]
        entries.append(entry)
    return str(rispy.dumps(entries))


_RIS_TYPES = {"JOUR", "BOOK", "CHAP", "CONF", "ABST", "RPRT", "THES", "GEN", "ELEC", "CPAPER"}


def _ris_type(kind: str | None) -> str:
    if kind and kind.upper() in _RIS_TYPES:
        return kind.upper()
    return "JOUR"
