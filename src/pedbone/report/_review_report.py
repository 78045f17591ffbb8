"""The review report: one HTML template, rendered to HTML or to PDF (WeasyPrint).

:func:`review_report_html` / :func:`review_report_pdf` render a review — the part-1 document
(protocol, searches, screening: :class:`pedbone.review.ReviewDocument`) and its part-2
:class:`~pedbone.report._review_synthesis.Synthesis` — as: methods generated from the protocol
and from what was done, the PRISMA 2020 diagram, characteristics of included studies, RoB
traffic-light and summary plots (the layout robvis draws [ROBVIS2021]), a forest plot or the
structured narrative synthesis (SWiM vote count, sign test, effect-direction plot), the harms
table, the GRADE summary of findings, and references.

Safety: the template autoescapes everything. The only markup passed in is SVG that pedbone
built itself — every text node in it escaped (``html.escape`` here and in
:func:`pedbone.review.synthesis.effect_direction_svg`; Matplotlib's SVG writer for PRISMA and
forest plots escapes text) — and is marked safe in :func:`_svg` only.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from pedbone.bibliography import sources
from pedbone.report._pdf import html_to_pdf
from pedbone.report._review_synthesis import ComparisonResult, RobRow, Synthesis
from pedbone.review import ReviewDocument, prisma_counts, prisma_svg
from pedbone.review.synthesis import (
    MIN_STUDIES_TO_POOL,
    ROB2_VERSION,
    Direction,
    effect_direction_svg,
)

__all__ = [
    "review_report_html",
    "review_report_pdf",
    "rob_summary_svg",
    "rob_traffic_light_svg",
]

# Traffic-light colours and symbols as robvis's default ("cochrane") scheme draws them
# [ROBVIS2021]; "not assessed" is pedbone's own grey.
_COLOUR = {
    "low": "#02C100",
    "some_concerns": "#E2DF07",
    "moderate": "#E2DF07",
    "high": "#BF0000",
    "serious": "#BF0000",
    "critical": "#820000",
    "no_information": "#4EA1F7",
    None: "#D9D9D9",
}
_SYMBOL = {
    "low": "+",
    "some_concerns": "-",
    "moderate": "-",
    "high": "X",
    "serious": "X",
    "critical": "!",
    "no_information": "?",
    None: "",
}
_LABEL = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "moderate": "Moderate",
    "high": "High",
    "serious": "Serious",
    "critical": "Critical",
    "no_information": "No information",
    None: "Not assessed",
}


def _svg(text: str) -> Markup:
    """Mark pedbone-built SVG safe: only call with SVG whose every text node was escaped."""
    return Markup(text)


def rob_traffic_light_svg(rows: Sequence[RobRow]) -> str:
    """Traffic-light plot: one row per study, one circle per domain and overall [ROBVIS2021]."""
    if not rows:
        return ""
    labels = [*list(rows[0].domains), "Overall"]
    lw, cw, rh, top = 150, 44, 30, 34
    width = lw + cw * len(labels) + 10
    height = top + rh * len(rows) + 24 + 16 * len({j for r in rows for j in r.judgements} | {None})
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="11">',
        f'<text x="4" y="{top - 12}" font-weight="bold">Study ({html.escape(rows[0].tool)})</text>',
    ]
    for j, lab in enumerate(labels):
        x = lw + cw * j + cw / 2
        out.append(
            f'<text x="{x}" y="{top - 12}" text-anchor="middle" font-weight="bold">'
            f"{html.escape(lab)}</text>"
        )
    seen: list[str | None] = []
    for i, r in enumerate(rows):
        y = top + rh * i + rh / 2
        out.append(f'<text x="4" y="{y + 4}">{html.escape(r.study)}</text>')
        for j, jd in enumerate((*r.judgements, r.overall)):
            if jd not in seen:
                seen.append(jd)
            x = lw + cw * j + cw / 2
            out.append(
                f'<circle cx="{x}" cy="{y}" r="11" fill="{_COLOUR[jd]}" stroke="#555"/>'
                f'<text x="{x}" y="{y + 4}" text-anchor="middle" font-weight="bold">'
                f"{html.escape(_SYMBOL[jd])}</text>"
            )
    ly = top + rh * len(rows) + 16
    for k, jd in enumerate(seen):
        y = ly + 16 * k
        out.append(
            f'<circle cx="10" cy="{y - 4}" r="6" fill="{_COLOUR[jd]}" stroke="#555"/>'
            f'<text x="22" y="{y}">{html.escape(_LABEL[jd])}'
            f"{' (' + html.escape(_SYMBOL[jd]) + ')' if _SYMBOL[jd] else ''}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def rob_summary_svg(rows: Sequence[RobRow]) -> str:
    """Summary plot: per domain, the share of studies at each judgement (unweighted bars)."""
    if not rows:
        return ""
    labels = [*list(rows[0].domains), "Overall"]
    order = [
        "low",
        "some_concerns",
        "moderate",
        "high",
        "serious",
        "critical",
        "no_information",
        None,
    ]
    lw, bw, bh, top = 80, 420, 20, 20
    height = top + (bh + 8) * len(labels) + 40
    width = lw + bw + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="11">',
        f'<text x="4" y="14" font-weight="bold">{html.escape(rows[0].tool)}: share of '
        f"{len(rows)} studies</text>",
    ]
    used: list[str | None] = []
    for i, lab in enumerate(labels):
        y = top + (bh + 8) * i + 4
        out.append(f'<text x="4" y="{y + 14}">{html.escape(lab)}</text>')
        col = [r.judgements[i] if i < len(r.judgements) else r.overall for r in rows]
        x = float(lw)
        for jd in order:
            n = sum(c == jd for c in col)
            if not n:
                continue
            if jd not in used:
                used.append(jd)
            w = bw * n / len(col)
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bh}" '
                f'fill="{_COLOUR[jd]}" stroke="#555"><title>{html.escape(_LABEL[jd])}: '
                f"{n}</title></rect>"
            )
            if w > 24:
                out.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 14}" text-anchor="middle">'
                    f"{100 * n / len(col):.0f}%</text>"
                )
            x += w
    ly = top + (bh + 8) * len(labels) + 16
    x = float(lw)
    for jd in used:
        out.append(
            f'<rect x="{x:.0f}" y="{ly - 9}" width="10" height="10" fill="{_COLOUR[jd]}"/>'
            f'<text x="{x + 14:.0f}" y="{ly}">{html.escape(_LABEL[jd])}</text>'
        )
        x += 14 + 7 * len(_LABEL[jd]) + 14
    out.append("</svg>")
    return "\n".join(out)


def _forest_svg(c: ComparisonResult) -> str:
    import matplotlib
    import matplotlib.pyplot as plt

    from pedbone.evidence import rma

    usable = [e for e in c.effects if e.yi is not None and e.vi is not None]
    res = rma(
        [e.yi for e in usable],
        [e.vi for e in usable],
        method="REML",
        slab=[e.study for e in usable],
    )
    from pedbone.evidence import forest

    fig = forest(res, title=c.title)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pedbone"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _methods(doc: ReviewDocument | None, syn: Synthesis) -> list[str]:
    """Methods paragraphs generated from the protocol and from what was done."""
    paras: list[str] = []
    if doc is not None:
        p = doc.protocol
        q = p.question
        reg = f", registered as {p.registration}" if p.registration else ""
        paras.append(
            f"The review followed protocol “{p.title}” (version {p.version}{reg}). "
            f"Population: {q.population}. Intervention: {q.intervention}. "
            f"Comparator: {q.comparator}. Outcomes: {q.outcomes}."
        )
        e = p.eligibility
        designs = ", ".join(d.value.replace("_", " ") for d in e.designs)
        harms = ", ".join(d.value.replace("_", " ") for d in e.harms_only_designs)
        paras.append(
            f"Eligible: ages {e.age_min_years:g} to {e.age_max_years:g} years; conditions: "
            f"{', '.join(e.conditions)}; interventions: {', '.join(e.interventions)}; designs: "
            f"{designs}" + (f"; for harms only: {harms}" if harms else "") + "."
        )
        if p.amendments:
            paras.append(
                "Protocol amendments: "
                + "; ".join(
                    f"v{a.version} on {a.date} by {a.author}: {a.reason}" for a in p.amendments
                )
                + "."
            )
        if doc.searches:
            searched = "; ".join(
                f"{s.source} on {s.searched_on} ({s.records_found} records"
                + (", simulated" if s.simulated else "")
                + ")"
                for s in doc.searches
            )
            paras.append(f"Searches: {searched}.")
        n_rev = p.reviewers_per_record
        votes = len(doc.votes)
        resolved = len(doc.resolutions)
        simulated = any(v.simulated for v in doc.votes) if doc.votes else False
        paras.append(
            f"Each record was screened by {n_rev} reviewer{'s' if n_rev > 1 else ''} independently "
            f"at title/abstract and full-text stages ({votes} votes; {resolved} conflicts "
            "resolved by the arbiter or by discussion)"
            + (". The votes of this example are SIMULATED" if simulated else "")
            + ". Flow counts follow PRISMA 2020 [PAGE2021]."
        )
    paras.append(
        "Data were extracted per study with the location of each value; derived effects name "
        "their derivation (SE from a 95 % CI as (upper − lower) / (2 × 1.96); variance of a mean "
        "difference from arm SDs and sizes or from arm SEs) [COCHRANE_HB6]. Percent change, "
        "Z-score change and absolute values were kept apart as different scales."
    )
    paras.append(
        f"Risk of bias: {ROB2_VERSION} for randomised trials (the decision diagram of each "
        "domain proposes a judgement that the reviewers may override with a reason); "
        "ROBINS-I (2016) for non-randomised studies [ROBINSI_2016]. Domains without "
        "information in the sources held are shown as not assessed."
    )
    n_pooled = sum(c.decision.pool for c in syn.comparisons)
    paras.append(
        "Synthesis: per comparison, a meta-analysis only with at least "
        f"{MIN_STUDIES_TO_POOL} studies with an analysable effect on the same outcome, scale "
        "and time point [PEDBONE_REVIEW_RULES]; otherwise a structured narrative synthesis "
        "as SWiM reports it: vote counting on the direction of effect with an exact two-sided "
        "sign test, and an effect-direction plot [SWIM2020][BOON2021]. "
        f"{n_pooled} of {len(syn.comparisons)} comparison(s) could be pooled."
    )
    paras.append(
        "Harms: the proportion of children with each harm, first infusion apart from later "
        "ones, pooled across studies with a random-effects model (REML) on the logit scale "
        "with metafor's 1/2 correction for 0 or all events, back-transformed. Certainty of "
        "evidence per outcome with GRADE, each step with its reason [GRADE18_2019]."
    )
    if syn.simulated_judgements:
        paras.append(
            "The risk-of-bias and GRADE judgements of this example were made for the "
            "demonstration from the facts quoted in their reasons; they are not the published "
            "review's assessments."
        )
    return paras


def _conclusions(syn: Synthesis) -> list[str]:
    out: list[str] = []
    for c in syn.comparisons:
        if c.decision.pool:
            out.append(f"{c.title}: pooled — {c.pooled_text}.")
        else:
            out.append(f"{c.title}: not pooled ({'; '.join(c.decision.reasons)}). {c.vote.text()}.")
    top = syn.most_frequent_harm()
    if top is not None:
        out.append(
            f"The most frequently reported harm at the first infusion was {top.harm} "
            f"({top.k} studies, {top.events} of {top.total} children; pooled proportion "
            f"{100 * top.proportion:.0f} %)."
        )
    for g, _k in syn.grade:
        out.append(f"Certainty of evidence for {g.outcome}: {g.certainty.label}.")
    return out


def _context(doc: ReviewDocument | None, syn: Synthesis) -> dict[str, Any]:
    prisma = _svg(prisma_svg(prisma_counts(doc))) if doc is not None else None
    # every text node escaped in effect_direction_svg; arrows are constants
    outcomes = [c.outcome for c in syn.comparisons] + [d.outcome for d in syn.directions]
    studies: list[str] = []
    for c in syn.comparisons:
        studies += [r.study for r in c.rows if r.study not in studies]
    for d in syn.directions:
        studies += [s for s in d.rows if s not in studies]
    grid: list[tuple[str, list[Direction | None]]] = []
    for s in studies:
        cells: list[Direction | None] = []
        for c in syn.comparisons:
            row = next((r for r in c.rows if r.study == s), None)
            cells.append(row.direction if row is not None else None)
        for d in syn.directions:
            cell = d.rows.get(s)
            cells.append(cell.direction if cell is not None else None)
        grid.append((s, cells))
    direction_plot = _svg(effect_direction_svg(grid, outcomes)) if grid else None
    forests = {c.id: _svg(_forest_svg(c)) for c in syn.comparisons if c.decision.pool}
    bib = sources()
    methods = _methods(doc, syn)
    keys = list(syn.references)
    for k in re.findall(r"\[([A-Za-z0-9_]+)\]", " ".join(methods)):
        if k not in keys:
            keys.append(k)
    keys += [k for k in ("ROB2_2019", "ROBVIS2021") if k not in keys]
    refs = [(k, bib[k].text if k in bib else "(not in pedbone's bibliography)") for k in keys]
    title = doc.protocol.title if doc is not None else (syn.review or "Systematic review")
    return {
        "title": title,
        "review_id": doc.protocol.id if doc is not None else syn.review,
        "doc": doc,
        "syn": syn,
        "methods": methods,
        "conclusions": _conclusions(syn),
        "prisma": prisma,
        "traffic_rob2": _svg(rob_traffic_light_svg(syn.rob2)) if syn.rob2 else None,
        "summary_rob2": _svg(rob_summary_svg(syn.rob2)) if syn.rob2 else None,
        "traffic_robins": _svg(rob_traffic_light_svg(syn.robins_i)) if syn.robins_i else None,
        "summary_robins": _svg(rob_summary_svg(syn.robins_i)) if syn.robins_i else None,
        "direction_plot": direction_plot,
        "forests": forests,
        "label": _LABEL,
        "references": refs,
        "generated": dt.datetime.now(dt.UTC).replace(microsecond=0),
    }


_ENV = Environment(
    loader=PackageLoader("pedbone.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def review_report_html(doc: ReviewDocument | None, synthesis: Synthesis) -> str:
    """The review report as a self-contained HTML page (inline SVG and styles)."""
    return _ENV.get_template("review_report.html").render(**_context(doc, synthesis))


def review_report_pdf(doc: ReviewDocument | None, synthesis: Synthesis) -> bytes:
    """The same report as PDF (WeasyPrint, the same template)."""
    return html_to_pdf(review_report_html(doc, synthesis))
