"""Diagnostics report of a built reference: an HTML page with PNG figures beside it.

Per sex (and group): the fitted centile curves over the data; worm plots by age group
(van Buuren & Fredriks [VANBUUREN2001]); Q statistics per age group (Royston & Wright
[ROYSTON2000]); the observed share below each fitted centile; the measurements with |Z| > 4
(line numbers of the input, to check for data errors). Every text from the user's data or
options is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pedbone.references._build import CENTILES, BuildResult
from pedbone.references._fit import centile_shares, q_statistics, worm_points
from pedbone.references._pack import expected_unit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_diagnostics"]

#: Software rule [PEDBONE_FIT]: age groups of the worm plots (Q statistics use 10).
WORM_GROUPS = 6


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _z_of(c: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(c / 100.0))


def write_diagnostics(result: BuildResult, folder: Path | str) -> Path:
    """Write ``index.html`` and PNGs into ``folder`` (created); return the HTML path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    prov = result.provenance
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(result.pack_id)}: diagnostics</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;"
        "padding:2px 8px;text-align:right}th{background:#eee}.bad{background:#fdd}"
        ".warn{color:#a00}img{max-width:100%}</style></head><body>",
        f"<h1>Reference <code>{esc(result.pack_id)}</code>: {esc(result.measure)}</h1>",
        f"<p>Data: <code>{esc(str(prov['data']['file']))}</code> "
        f"({esc(str(prov['data']['sha256']))}); {esc(str(prov['data']['description']))}. "
        f"Rows used {int(prov['data']['rows_used'])} of {int(prov['data']['rows_read'])}. "
        f"Built with {esc(str(prov['built_with']))} on {esc(str(prov['built_on']))}.</p>",
    ]
    if result.warnings:
        parts.append("<h2 class='warn'>Warnings</h2><ul>")
        parts += [f"<li class='warn'>{esc(w)}</li>" for w in result.warnings]
        parts.append("</ul>")
    parts.append(
        "<p>How to read this: the centile curves should follow the data; in the worm plots "
        "the points should lie flat around zero inside the dashed 95% bands (a shifted worm: "
        "wrong median; a tilted one: wrong spread; U or inverted U: skewness; S: kurtosis); "
        "|Z| &gt; 2 in the Q-statistic table flags the age group; the observed share below "
        "each centile should be close to the nominal one.</p>"
    )
    for label, seg in result.segments.items():
        fit = result.fits[label]
        slug = label.replace("/", "_")
        z = fit.zscore(seg.age, seg.value)
        # centile curves over the data
        fig = _figure(8, 5)
        ax = fig.add_subplot()
        ax.scatter(seg.age, seg.value, s=4, alpha=0.35, color="0.4", linewidths=0)
        grid = np.linspace(fit.age_min, fit.age_max, 300)
        for c in CENTILES:
            y = fit.centile_curve(grid, _z_of(c))
            ax.plot(grid, y, lw=1.6 if c == 50 else 1.0, color="C0" if c == 50 else "C1")
            ax.annotate(
                f"P{c:g}",
                (grid[-1], y[-1]),
                fontsize=7,
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
            )
        ax.set_xlabel("age (years)")
        ax.set_ylabel(f"{result.measure} ({expected_unit(result.measure)})")
        ax.set_title(f"{label}: fitted centiles P3-P97 over {seg.age.size} measurements")
        fig.savefig(out / f"centiles_{slug}.png", dpi=110, bbox_inches="tight")
        # worm plots
        order = np.argsort(seg.age, kind="stable")
        groups = [g for g in np.array_split(order, WORM_GROUPS) if g.size >= 8]
        cols = 3
        rows = math.ceil(len(groups) / cols)
        fig = _figure(10, 3.1 * rows)
        for i, idx in enumerate(groups):
            ax = fig.add_subplot(rows, cols, i + 1)
            x, dev, band = worm_points(z[idx])
            ax.scatter(x, dev, s=5, color="C0", linewidths=0)
            ax.plot(x, band, "--", color="0.5", lw=0.8)
            ax.plot(x, -band, "--", color="0.5", lw=0.8)
            ax.axhline(0, color="0.3", lw=0.6)
            lim = max(0.6, float(np.nanmax(np.abs(dev))) * 1.1)
            ax.set_ylim(-lim, lim)
            ax.set_xlim(-4, 4)
            a0, a1 = seg.age[idx].min(), seg.age[idx].max()
            ax.set_title(f"{a0:.1f}-{a1:.1f} y (n={idx.size})", fontsize=9)
            ax.tick_params(labelsize=7)
        fig.suptitle(f"{label}: worm plots (deviation vs unit normal quantile)", fontsize=10)
        fig.savefig(out / f"worm_{slug}.png", dpi=110, bbox_inches="tight")
        q = q_statistics(seg.age, z, fit)
        edf = fit.settings()["edf"]
        parts += [
            f"<h2>{esc(label)}: {seg.age.size} measurements, ages "
            f"{fit.age_min:.2f}-{fit.age_max:.2f} y</h2>",
            f"<p>Fit: {esc(fit.criterion)}; edf L {edf['L']}, M {edf['M']}, S {edf['S']}; "
            f"log-likelihood {fit.loglik:.2f}; GAIC {fit.gaic:.2f} (k = {fit.gaic_k:.3f}).</p>",
            f"<img src='centiles_{esc(slug)}.png' alt='centile curves {esc(label)}'>",
            f"<img src='worm_{esc(slug)}.png' alt='worm plots {esc(label)}'>",
            "<h3>Q statistics by age group (Royston &amp; Wright 2000)</h3>",
            "<table><tr><th>ages (y)</th><th>n</th><th>Z1 mean</th><th>Z2 variance</th>"
            "<th>Z3 skewness</th><th>Z4 kurtosis</th></tr>",
        ]
        for (a0, a1, n), zs in zip(q.groups, q.z, strict=True):
            cells = "".join(
                f"<td class='bad'>{v:.2f}</td>" if abs(v) > 2 else f"<td>{v:.2f}</td>" for v in zs
            )
            parts.append(f"<tr><td>{a0:.2f}-{a1:.2f}</td><td>{n}</td>{cells}</tr>")
        parts.append("<tr><th>Q (df)</th><th></th>")
        parts += [f"<th>{qv:.2f} ({dv:.1f})</th>" for qv, dv in zip(q.q, q.df, strict=True)]
        parts.append("</tr><tr><th>p</th><th></th>")
        parts += [f"<th>{p:.3f}</th>" for p in q.p]
        parts.append("</tr></table>")
        parts.append(
            "<h3>Observed share below each fitted centile</h3><table><tr><th>centile</th>"
            + "".join(f"<th>P{c:g}</th>" for c in CENTILES)
            + "</tr><tr><th>observed %</th>"
            + "".join(f"<td>{o:.1f}</td>" for _, o in centile_shares(z, CENTILES))
            + "</tr></table>"
        )
        far = np.flatnonzero(np.abs(z) > 4)
        if far.size:
            listed = ", ".join(
                f"line {int(seg.lines[i])} (age {seg.age[i]:.2f}, value {seg.value[i]:g}, "
                f"Z {z[i]:.1f})"
                for i in far[:50]
            )
            parts.append(f"<p class='warn'>|Z| &gt; 4: {esc(listed)}</p>")
    parts.append("</body></html>")
    page = out / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page
