"""PRISMA 2020 flow counts, computed from the records, and the flow diagram.

Counts follow the PRISMA 2020 flow diagram for new systematic reviews which included searches
of databases, registers and other sources [PAGE2021]; the CSV uses the field names and the row
layout of the PRISMA2020 R package's template (``inst/extdata/PRISMA.csv``, MIT) so that
``PRISMA2020::PRISMA_data(read.csv(file))`` reads it [HADDAWAY2022]. Exclusion reasons are
written "Reason, n; Reason, n" as the template asks; labels may not contain ';' (the protocol
refuses it, PRISMA2020 #77).

Definitions used (each a count of records or reports, never of people):

- identified: records per search, by source kind (database, register, website, organisation,
  citation searching);
- duplicates: records marked as duplicates of another record (they stay in the review);
- screened: unique records from databases and registers (title/abstract);
- excluded: screened records whose title/abstract outcome is exclude;
- sought: records included at title/abstract (databases/registers) or all unique records from
  other methods;
- not retrieved: sought reports whose full text is marked not retrieved;
- assessed: sought − not retrieved; excluded with reasons: full-text outcome exclude;
- included: reports included at full text; studies: distinct ``study`` labels among them (a
  report without a label is its own study).
Records still awaiting a decision are reported by :func:`prisma_counts` as ``awaiting_*`` so a
diagram drawn mid-review says it is provisional.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pedbone.review._document import FullTextStatus, ReviewDocument, SourceKind
from pedbone.review._screening import Stage, Status

__all__ = [
    "PRISMA_FIELDS",
    "PrismaCounts",
    "prisma_counts",
    "prisma_csv",
    "prisma_figure",
]

#: Field names of the PRISMA2020 package's CSV template, in its order [HADDAWAY2022].
PRISMA_FIELDS = (
    "previous_studies",
    "previous_reports",
    "database_results",
    "register_results",
    "website_results",
    "organisation_results",
    "citations_results",
    "duplicates",
    "excluded_automatic",
    "excluded_other",
    "records_screened",
    "records_excluded",
    "dbr_sought_reports",
    "dbr_notretrieved_reports",
    "other_sought_reports",
    "other_notretrieved_reports",
    "dbr_assessed",
    "dbr_excluded",
    "other_assessed",
    "other_excluded",
    "new_studies",
    "new_reports",
    "total_studies",
    "total_reports",
)


@dataclass
class PrismaCounts:
    """The numbers of a PRISMA 2020 flow diagram (PRISMA2020 field names) plus breakdowns."""

    previous_studies: int = 0
    previous_reports: int = 0
    database_results: int = 0
    register_results: int = 0
    website_results: int = 0
    organisation_results: int = 0
    citations_results: int = 0
    duplicates: int = 0
    excluded_automatic: int = 0
    excluded_other: int = 0
    records_screened: int = 0
    records_excluded: int = 0
    dbr_sought_reports: int = 0
    dbr_notretrieved_reports: int = 0
    other_sought_reports: int = 0
    other_notretrieved_reports: int = 0
    dbr_assessed: int = 0
    dbr_excluded: dict[str, int] = field(default_factory=dict)
    other_assessed: int = 0
    other_excluded: dict[str, int] = field(default_factory=dict)
    new_studies: int = 0
    new_reports: int = 0
    total_studies: int = 0
    total_reports: int = 0
    per_source: dict[str, int] = field(default_factory=dict)  # databases and registers
    per_source_other: dict[str, int] = field(default_factory=dict)  # other methods
    awaiting_title_abstract: int = 0
    awaiting_full_text: int = 0
    conflicts: int = 0

    @property
    def provisional(self) -> bool:
        """True while any record awaits a vote or a conflict resolution."""
        return bool(self.awaiting_title_abstract or self.awaiting_full_text or self.conflicts)

    def as_row(self) -> dict[str, str]:
        """PRISMA2020 field → value as the template writes it (reasons "Label, n; ...")."""
        out: dict[str, str] = {}
        for name in PRISMA_FIELDS:
            value = getattr(self, name)
            if isinstance(value, dict):
                out[name] = "; ".join(f"{label}, {n}" for label, n in value.items())
            else:
                out[name] = str(value)
        return out


def prisma_counts(doc: ReviewDocument) -> PrismaCounts:
    """Compute the flow counts from the review's records, votes and resolutions."""
    c = PrismaCounts()
    labels = {r.code: r.label for r in doc.protocol.exclusion_reasons}
    kind_field = {
        SourceKind.DATABASE: "database_results",
        SourceKind.REGISTER: "register_results",
        SourceKind.WEBSITE: "website_results",
        SourceKind.ORGANISATION: "organisation_results",
        SourceKind.CITATIONS: "citations_results",
    }
    per_source: Counter[str] = Counter()
    per_other: Counter[str] = Counter()
    studies: set[str] = set()
    dbr_reasons: Counter[str] = Counter()
    other_reasons: Counter[str] = Counter()
    for entry in doc.records:
        search = doc.search(entry.search_id)
        setattr(c, kind_field[search.kind], getattr(c, kind_field[search.kind]) + 1)
        (per_other if search.kind.other_methods else per_source)[search.source] += 1
        if entry.duplicate_of is not None:
            c.duplicates += 1
            continue
        other = search.kind.other_methods
        if not other:
            c.records_screened += 1
            ta = doc.outcome(entry, Stage.TITLE_ABSTRACT)
            assert ta is not None
            if ta.status is Status.EXCLUDED:
                c.records_excluded += 1
                continue
            if ta.status is Status.AWAITING:
                c.awaiting_title_abstract += 1
                continue
            if ta.status is Status.CONFLICT:
                c.conflicts += 1
                continue
            c.dbr_sought_reports += 1
        else:
            c.other_sought_reports += 1
        if entry.fulltext.status is FullTextStatus.NOT_RETRIEVED:
            if other:
                c.other_notretrieved_reports += 1
            else:
                c.dbr_notretrieved_reports += 1
            continue
        if other:
            c.other_assessed += 1
        else:
            c.dbr_assessed += 1
        ft = doc.outcome(entry, Stage.FULL_TEXT)
        assert ft is not None
        if ft.status is Status.EXCLUDED:
            label = labels.get(ft.reason or "", ft.reason or "reason not given")
            (other_reasons if other else dbr_reasons)[label] += 1
        elif ft.status is Status.INCLUDED:
            c.new_reports += 1
            studies.add(entry.study or f"record-{entry.id}")
        elif ft.status is Status.CONFLICT:
            c.conflicts += 1
        else:
            c.awaiting_full_text += 1
    order = [r.label for r in doc.protocol.exclusion_reasons]

    def ordered(counter: Counter[str]) -> dict[str, int]:
        known = {k: counter[k] for k in order if counter[k]}
        known.update({k: v for k, v in sorted(counter.items()) if k not in known})
        return known

    c.dbr_excluded = ordered(dbr_reasons)
    c.other_excluded = ordered(other_reasons)
    c.new_studies = len(studies)
    c.total_studies = c.previous_studies + c.new_studies
    c.total_reports = c.previous_reports + c.new_reports
    c.per_source = dict(per_source)
    c.per_source_other = dict(per_other)
    return c


# Rows of the PRISMA2020 template: (data, node, box, description, boxtext) [HADDAWAY2022].
_TEMPLATE_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("NA", "node4", "prevstud", "Grey title box; Previous studies", "Previous studies"),
    (
        "previous_studies",
        "node5",
        "box1",
        "Studies included in previous version of review",
        "Studies included in previous version of review",
    ),
    (
        "previous_reports",
        "NA",
        "box1",
        "Reports of studies included in previous version of review",
        "Reports of studies included in previous version of review",
    ),
    (
        "NA",
        "node6",
        "newstud",
        "Yellow title box; Identification of new studies via databases and registers",
        "Identification of new studies via databases and registers",
    ),
    ("database_results", "node7", "box2", "Records identified from: Databases", "Databases"),
    ("register_results", "NA", "box2", "Records identified from: Registers", "Registers"),
    (
        "NA",
        "node16",
        "othstud",
        "Grey title box; Identification of new studies via other methods",
        "Identification of new studies via other methods",
    ),
    ("website_results", "node17", "box11", "Records identified from: Websites", "Websites"),
    (
        "organisation_results",
        "NA",
        "box11",
        "Records identified from: Organisations",
        "Organisations",
    ),
    (
        "citations_results",
        "NA",
        "box11",
        "Records identified from: Citation searching",
        "Citation searching",
    ),
    ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records"),
    (
        "excluded_automatic",
        "NA",
        "box3",
        "Records marked as ineligible by automation tools",
        "Records marked as ineligible by automation tools",
    ),
    (
        "excluded_other",
        "NA",
        "box3",
        "Records removed for other reasons",
        "Records removed for other reasons",
    ),
    (
        "records_screened",
        "node9",
        "box4",
        "Records screened (databases and registers)",
        "Records screened",
    ),
    (
        "records_excluded",
        "node10",
        "box5",
        "Records excluded (databases and registers)",
        "Records excluded",
    ),
    (
        "dbr_sought_reports",
        "node11",
        "box6",
        "Reports sought for retrieval (databases and registers)",
        "Reports sought for retrieval",
    ),
    (
        "dbr_notretrieved_reports",
        "node12",
        "box7",
        "Reports not retrieved (databases and registers)",
        "Reports not retrieved",
    ),
    (
        "other_sought_reports",
        "node18",
        "box12",
        "Reports sought for retrieval (other)",
        "Reports sought for retrieval",
    ),
    (
        "other_notretrieved_reports",
        "node19",
        "box13",
        "Reports not retrieved (other)",
        "Reports not retrieved",
    ),
    (
        "dbr_assessed",
        "node13",
        "box8",
        "Reports assessed for eligibility (databases and registers)",
        "Reports assessed for eligibility",
    ),
    (
        "dbr_excluded",
        "node14",
        "box9",
        "Reports excluded (databases and registers)",
        "Reports excluded",
    ),
    (
        "other_assessed",
        "node20",
        "box14",
        "Reports assessed for eligibility (other)",
        "Reports assessed for eligibility",
    ),
    ("other_excluded", "node21", "box15", "Reports excluded (other)", "Reports excluded"),
    (
        "new_studies",
        "node15",
        "box10",
        "New studies included in review",
        "New studies included in review",
    ),
    (
        "new_reports",
        "NA",
        "box10",
        "Reports of new included studies",
        "Reports of new included studies",
    ),
    (
        "total_studies",
        "node22",
        "box16",
        "Total studies included in review",
        "Total studies included in review",
    ),
    (
        "total_reports",
        "NA",
        "box16",
        "Reports of total included studies",
        "Reports of total included studies",
    ),
    ("NA", "node1", "identification", "Blue identification box", "Identification"),
    ("NA", "node2", "screening", "Blue screening box", "Screening"),
    ("NA", "node3", "included", "Blue included box", "Included"),
)


def prisma_csv(counts: PrismaCounts) -> str:
    """The counts as the PRISMA2020 package's CSV (columns data, node, box, description,
    boxtext, tooltips, url, n)."""
    row = counts.as_row()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"])
    for data, node, box, description, boxtext in _TEMPLATE_ROWS:
        n = row.get(data, "0") if data != "NA" else "0"
        if data in ("dbr_excluded", "other_excluded") and not n:
            n = "0"
        writer.writerow([data, node, box, description, boxtext, description, "NA", n])
    return out.getvalue()


# --------------------------------------------------------------------------- diagram


def _box_text(title: str, lines: list[tuple[str, int]], width: int) -> str:
    parts = textwrap.wrap(title, width) if title else []
    for label, n in lines:
        parts.extend(textwrap.wrap(f"{label} (n = {n})", width, subsequent_indent="  "))
    return "\n".join(parts)


def prisma_figure(counts: PrismaCounts, *, title: str | None = None) -> Any:
    """The PRISMA 2020 flow diagram as a Matplotlib figure (save as SVG or PDF).

    Layout of the PRISMA 2020 template for new reviews with databases, registers and other
    sources [PAGE2021]: identification, screening and included phases down the left; the
    "other methods" column appears when any record came from websites, organisations or
    citation searching. A diagram drawn while records still await decisions says so.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    other = bool(counts.website_results or counts.organisation_results or counts.citations_results)
    width_in = 11.0 if other else 8.27
    fig = Figure(figsize=(width_in, 10.5))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 108 if other else 82.7)
    ax.set_ylim(0, 105)
    ax.axis("off")
    font: dict[str, Any] = {"family": "DejaVu Sans", "size": 7.5}

    def box(
        x: float,
        y: float,
        w: float,
        h: float,
        text: str,
        *,
        fill: str = "white",
        bold: bool = False,
        rotate: bool = False,
        ha: str = "left",
    ) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.8",
                linewidth=0.8,
                edgecolor="#333333",
                facecolor=fill,
            )
        )
        if rotate:
            ax.text(
                x + w / 2,
                y + h / 2,
                text,
                rotation=90,
                ha="center",
                va="center",
                fontweight="bold",
                **font,
            )
        else:
            tx = x + 1.2 if ha == "left" else x + w / 2
            ax.text(
                tx,
                y + h - 1.2,
                text,
                ha=ha,
                va="top",
                fontweight="bold" if bold else "normal",
                linespacing=1.35,
                **font,
            )

    def arrow(x1: float, y1: float, x2: float, y2: float) -> None:
        ax.add_patch(
            FancyArrowPatch(
                (x1, y1),
                (x2, y2),
                arrowstyle="-|>",
                mutation_scale=8,
                linewidth=0.8,
                color="#333333",
            )
        )

    heading = title or "PRISMA 2020 flow diagram"
    ax.text(
        2, 103.5, heading, ha="left", va="top", fontsize=10, fontweight="bold", family="DejaVu Sans"
    )
    if counts.provisional:
        ax.text(
            2,
            100.8,
            (
                f"Provisional: {counts.awaiting_title_abstract} record(s) await title/abstract "
                f"votes, {counts.awaiting_full_text} report(s) await full-text votes, "
                f"{counts.conflicts} conflict(s) open."
            ),
            ha="left",
            va="top",
            color="#9a3412",
            **font,
        )

    lx, lw = 2.0, 4.5  # phase labels
    c1x, cw = 8.5, (30.0 if other else 36.0)  # main column
    c2x = c1x + cw + 4.5  # exclusions
    c3x = c2x + cw + 4.5 if other else 0.0
    chars = int(cw * 1.45)
    ow = 28.0
    ax_top = 97.0
    box(
        c1x,
        ax_top - 4.5,
        cw + 4.5 + cw,
        4.0,
        "Identification of new studies via databases and registers",
        fill="#fde68a",
        bold=True,
    )
    if other:
        box(
            c3x,
            ax_top - 4.5,
            ow,
            4.0,
            "Identification of new studies via other methods",
            fill="#e5e7eb",
            bold=True,
        )

    # identification
    src_lines = [("Databases", counts.database_results), ("Registers", counts.register_results)]
    breakdown = [(name, n) for name, n in counts.per_source.items()]
    ident = _box_text("Records identified from:", src_lines, chars)
    if breakdown:
        ident += "\n" + "\n".join(
            textwrap.wrap("; ".join(f"{n_} (n = {v})" for n_, v in breakdown), chars)
        )
    y_id, h_id = 72.0, 19.0
    box(c1x, y_id, cw, h_id, ident)
    removed = _box_text(
        "Records removed before screening:",
        [
            ("Duplicate records", counts.duplicates),
            ("Records marked as ineligible by automation tools", counts.excluded_automatic),
            ("Records removed for other reasons", counts.excluded_other),
        ],
        chars,
    )
    box(c2x, y_id, cw, h_id, removed)
    arrow(c1x + cw, y_id + h_id / 2, c2x, y_id + h_id / 2)

    rows = [  # (y, h, left text, right text)
        (
            60.0,
            8.0,
            _box_text("", [("Records screened", counts.records_screened)], chars),
            _box_text("", [("Records excluded", counts.records_excluded)], chars),
        ),
        (
            48.0,
            8.0,
            _box_text("", [("Reports sought for retrieval", counts.dbr_sought_reports)], chars),
            _box_text("", [("Reports not retrieved", counts.dbr_notretrieved_reports)], chars),
        ),
        (
            27.0,
            17.0,
            _box_text("", [("Reports assessed for eligibility", counts.dbr_assessed)], chars),
            _box_text(
                "Reports excluded:", list(counts.dbr_excluded.items()) or [("none", 0)], chars
            ),
        ),
    ]
    prev_bottom = y_id
    for y, h, left, right in rows:
        box(c1x, y, cw, h, left)
        box(c2x, y, cw, h, right)
        arrow(c1x + cw / 2, prev_bottom, c1x + cw / 2, y + h)
        arrow(c1x + cw, y + h / 2, c2x, y + h / 2)
        prev_bottom = y
    y_inc, h_inc = 8.0, 12.0
    included = _box_text(
        "",
        [
            ("Studies included in review", counts.total_studies),
            ("Reports of included studies", counts.total_reports),
        ],
        chars,
    )
    box(c1x, y_inc, cw, h_inc, included)
    arrow(c1x + cw / 2, prev_bottom, c1x + cw / 2, y_inc + h_inc)

    if other:
        box(
            c3x,
            y_id,
            ow,
            h_id,
            _box_text(
                "Records identified from:",
                [
                    ("Websites", counts.website_results),
                    ("Organisations", counts.organisation_results),
                    ("Citation searching", counts.citations_results),
                ],
                30,
            ),
        )
        box(
            c3x,
            48.0,
            ow,
            8.0,
            _box_text(
                "", [("Reports sought for retrieval", counts.other_sought_reports)], int(ow * 1.45)
            ),
        )
        box(
            c3x,
            27.0,
            ow,
            17.0,
            _box_text(
                "", [("Reports assessed for eligibility", counts.other_assessed)], int(ow * 1.45)
            )
            + "\n\n"
            + _box_text("", [("Not retrieved", counts.other_notretrieved_reports)], int(ow * 1.45))
            + "\n"
            + _box_text(
                "Excluded:", list(counts.other_excluded.items()) or [("none", 0)], int(ow * 1.45)
            ),
        )
        arrow(c3x + ow / 2, y_id, c3x + ow / 2, 56.0)
        arrow(c3x + ow / 2, 48.0, c3x + ow / 2, 44.0)
        arrow(c3x + ow / 2, 27.0, c1x + cw, y_inc + h_inc / 2)

    box(lx, y_id, lw, h_id, "Identification", fill="#bfdbfe", rotate=True)
    box(lx, 27.0, lw, 41.0, "Screening", fill="#bfdbfe", rotate=True)
    box(lx, y_inc, lw, h_inc, "Included", fill="#bfdbfe", rotate=True)
    ax.text(
        2,
        3.0,
        "PRISMA 2020 flow diagram template (Page MJ et al. BMJ 2021;372:n71), "
        "counts computed by pedbone from the review's records.",
        ha="left",
        va="bottom",
        color="#555555",
        fontsize=6.5,
        family="DejaVu Sans",
    )
    return fig


def prisma_svg(counts: PrismaCounts, *, title: str | None = None) -> str:
    """The flow diagram as SVG text (text kept as text, escaped by Matplotlib)."""
    import matplotlib

    fig = prisma_figure(counts, title=title)
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pedbone"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def prisma_pdf(counts: PrismaCounts, *, title: str | None = None) -> bytes:
    """The flow diagram as a one-page PDF."""
    fig = prisma_figure(counts, title=title)
    out = io.BytesIO()
    fig.savefig(out, format="pdf", metadata={"CreationDate": None})
    return out.getvalue()
