"""The print-out of a fitted model, laid out like metafor's ``print.rma.uni``
(R/print.rma.uni.r) [METAFOR], and its plain-Python (JSON) form.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pedbone.evidence._format import fmtp, fmtt, stars

if TYPE_CHECKING:
    from pedbone.evidence._results import RMAResult

__all__ = ["as_dict_rma", "print_rma"]


def _num(x: float | None) -> Any:
    if x is None:
        return None
    return None if isinstance(x, float) and math.isnan(x) else x


def as_dict_rma(res: RMAResult) -> dict[str, Any]:
    return {
        "model": "rma.uni",
        "method": res.method,
        "test": res.test,
        "level": res.level,
        "measure": res.measure,
        "k": res.k,
        "p": res.p,
        "coefficients": {
            n: {
                "estimate": float(res.beta[i]),
                "se": float(res.se_beta[i]),
                "zval": float(res.zval_beta[i]),
                "pval": float(res.pval_beta[i]),
                "ci_lb": float(res.ci_lb_beta[i]),
                "ci_ub": float(res.ci_ub_beta[i]),
            }
            for i, n in enumerate(res.coef_names)
        },
        "estimate": res.estimate,
        "se": res.se,
        "zval": res.zval,
        "pval": res.pval,
        "ci_lb": res.ci_lb,
        "ci_ub": res.ci_ub,
        "pi_lb": _num(res.pi_lb),
        "pi_ub": _num(res.pi_ub),
        "tau2": res.tau2,
        "se_tau2": _num(res.se_tau2),
        "tau": res.tau,
        "i2": res.i2,
        "h2": res.h2,
        "q": res.q,
        "q_df": res.q_df,
        "q_pval": res.q_pval,
        "qm": res.qm,
        "qm_df": list(res.qm_df),
        "qm_pval": _num(res.qm_pval),
        "ddf": res.ddf,
        "s2w": res.s2w,
        "ll": res.ll,
        "r2": _num(res.r2),
        "iterations": res.iterations,
        "notes": list(res.notes),
        "slab": list(res.slab),
        "weights_percent": [float(x) for x in res.weights()],
    }


_METHOD_TITLE = {
    "DL": "DL",
    "HE": "HE",
    "HS": "HS",
    "SJ": "SJ",
    "ML": "ML",
    "REML": "REML",
    "EB": "EB",
    "PM": "PM",
}


def _btt_txt(btt: tuple[int, ...]) -> str:
    idx = [i + 1 for i in btt]
    if len(idx) == 1:
        return f"coefficient {idx[0]}"
    if idx == list(range(idx[0], idx[-1] + 1)):
        return f"coefficients {idx[0]}:{idx[-1]}"
    return "coefficients " + ",".join(str(i) for i in idx)


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(label) for label, _ in rows)
    return [f"{label:<{width}} {value}" for label, value in rows]


_PI_LABEL = {
    "default": "",
    "riley": "; t on k - 2 df, Riley",
    "t": "; t on k - 1 df",
    "simple": "; without the SE of the estimate",
}


def print_rma(res: RMAResult, digits: int, *, pi_type: str = "default") -> str:
    d = digits
    mods = res.p > 1 or not res.intercept
    lines: list[str] = [""]
    if res.is_random:
        kind = "Mixed-Effects Model" if mods else "Random-Effects Model"
        lines.append(f"{kind} (k = {res.k}; tau^2 estimator: {_METHOD_TITLE[res.method]})")
        lines.append("")
        which = "residual" if mods else "total"
        rows = [
            (
                f"tau^2 ({'specified' if res.tau2_fixed else 'estimated'} amount of {which} "
                "heterogeneity):",
                f"{res.tau2:.{d}f} (SE = "
                + ("NA" if math.isnan(res.se_tau2) else f"{res.se_tau2:.{d}f}")
                + ")",
            ),
            ("tau (square root of estimated tau^2 value):", f"{res.tau:.{d}f}"),
        ]
        if mods:
            rows += [
                ("I^2 (residual heterogeneity / unaccounted variability):", f"{res.i2:.2f}%"),
                ("H^2 (unaccounted variability / sampling variability):", f"{res.h2:.2f}"),
            ]
            if not math.isnan(res.r2):
                rows.append(("R^2 (amount of heterogeneity accounted for):", f"{res.r2:.2f}%"))
        else:
            rows += [
                ("I^2 (total heterogeneity / total variability):", f"{res.i2:.2f}%"),
                ("H^2 (total variability / sampling variability):", f"{res.h2:.2f}"),
            ]
        lines += _aligned(rows)
    else:
        title = "Fixed-Effects" if res.method == "FE" else "Equal-Effects"
        lines.append(f"{title} {'with Moderators ' if mods else ''}Model (k = {res.k})")
        if not mods:
            lines.append("")
            lines += _aligned(
                [
                    ("I^2 (total heterogeneity / total variability):", f"{res.i2:.2f}%"),
                    ("H^2 (total variability / sampling variability):", f"{res.h2:.2f}"),
                ]
            )
    lines.append("")
    lines.append(f"Test for {'Residual ' if mods else ''}Heterogeneity:")
    lines.append(fmtt(res.q, "QE" if mods else "Q", res.q_pval, df=res.q_df, digits=d))
    lines.append("")
    if mods:
        lines.append(f"Test of Moderators ({_btt_txt(res.btt)}):")
        if res.ddf is None:
            lines.append(fmtt(res.qm, "QM", res.qm_pval, df=res.qm_df[0], digits=d))
        else:
            lines.append(
                fmtt(res.qm, "F", res.qm_pval, df1=res.qm_df[0], df2=res.qm_df[1], digits=d)
            )
        lines.append("")
    lines.append("Model Results:")
    lines.append("")
    header = ["", "estimate", "se", "zval" if res.ddf is None else "tval"]
    if res.ddf is not None:
        header.append("df")
    header += ["pval", "ci.lb", "ci.ub", ""]
    table: list[list[str]] = [header]
    for i, name in enumerate(res.coef_names):
        row = [
            name if mods else "",
            f"{res.beta[i]:.{d}f}",
            f"{res.se_beta[i]:.{d}f}",
            f"{res.zval_beta[i]:.{d}f}",
        ]
        if res.ddf is not None:
            row.append(str(res.ddf))
        row += [
            fmtp(float(res.pval_beta[i]), d),
            f"{res.ci_lb_beta[i]:.{d}f}",
            f"{res.ci_ub_beta[i]:.{d}f}",
            stars(float(res.pval_beta[i])),
        ]
        table.append(row)
    widths = [max(len(r[j]) for r in table) for j in range(len(header))]
    for r in table:
        cells = [r[0].ljust(widths[0])] if widths[0] else []
        cells += [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)]
        cells.append(r[-1].ljust(widths[-1]))
        lines.append(" ".join(cells).rstrip())
    lines.append("")
    lines.append("---")
    lines.append("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
    if not mods and res.is_random and res.k > 1:
        pr = res.predict(pi_type=pi_type)
        kind = _PI_LABEL.get(pi_type, pi_type)
        lines.append("")
        lines.append(
            f"Prediction interval ({res.level:g}%{kind}): "
            f"[{pr.pi_lb[0]:.{d}f}, {pr.pi_ub[0]:.{d}f}]"
        )
    for note in res.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines) + "\n"
