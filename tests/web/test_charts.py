"""The SVG chart builder shared by the pages and the PDF report."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pedbone.report.charts import Band, Chart, Series, decimal_year, nice_ticks, render_chart


def test_nice_ticks() -> None:
    # range 0..1, 6 ticks wanted: raw step 1/6 = 0.167 -> next nice step 0.2
    assert nice_ticks(0.0, 1.0, 6) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    # -2.7..0.4 with 5 ticks: raw 0.62 -> step 1 -> -2, -1, 0
    assert nice_ticks(-2.7, 0.4, 5) == [-2.0, -1.0, 0.0]
    # 0.745..0.801 with 5: raw 0.0112 -> step 0.02
    assert nice_ticks(0.745, 0.801, 5) == [0.76, 0.78, 0.8]
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(float("nan"), 1.0)


def test_decimal_year() -> None:
    assert decimal_year(dt.date(2026, 1, 1)) == 2026.0
    # 2024 is a leap year: 1 July is day 182 of 366 -> 2024 + 182/366
    assert decimal_year(dt.date(2024, 7, 1)) == pytest.approx(2024 + 182 / 366)


def test_points_land_where_the_scales_put_them() -> None:
    chart = Chart(
        "T",
        "x",
        "y",
        series=[Series("s", [(0.0, 0.0), (10.0, 10.0)])],
        x_range=(0.0, 10.0),
        y_range=(0.0, 10.0),
        width=560,
        height=290,
    )
    svg = render_chart(chart)
    # plot area: left 64, right margin 16 -> width 480; top 44, bottom 46 -> height 200
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert circles == [("64.0", "244.0"), ("544.0", "44.0")]
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")


def test_bands_lines_and_escaping() -> None:
    chart = Chart(
        "<b>LSC</b>",
        "x",
        "y",
        series=[Series("a & b", [(0.0, 0.5), (1.0, None), (2.0, 0.7)])],
        bands=[Band("band", 0.4, 0.6)],
        hlines=[(0.5, "ref", "#b3261e")],
        x_range=(0.0, 2.0),
        y_range=(0.0, 1.0),
    )
    svg = render_chart(chart)
    assert "<b>" not in svg
    assert "&lt;b&gt;LSC&lt;/b&gt;" in svg
    assert "a &amp; b" in svg
    assert svg.count("<rect") >= 3  # frame, band, legend swatch
    assert "<polyline" not in svg  # the None value breaks the line into single points
    assert 'stroke-dasharray="5,4"' in svg  # the reference line


def test_an_empty_chart_says_so() -> None:
    svg = render_chart(Chart("T", "x", "y", empty_text="No data yet"))
    assert "No data yet" in svg
    assert "<circle" not in svg


def test_page_z_scores_are_not_shown_for_implausible_values() -> None:
    # software rule [PEDBONE_PLAUSIBILITY]: weight 0.2-250 kg; |Z| <= 8
    from pedbone.web._zscores import IMPLAUSIBLE_TEXT, ZRequest, zscore, zscores

    absurd = zscore("cdc2000", "weight", sex="F", age_years=10.0, value=32000.0)
    assert absurd.z is None
    assert absurd.status == IMPLAUSIBLE_TEXT
    ok = zscore("cdc2000", "weight", sex="F", age_years=10.0, value=30.0)
    assert ok.z is not None
    tall = zscore("cdc2000", "height", sex="F", age_years=2.0, value=249.0)  # Z far above 8
    assert tall.z is None
    both = zscores(
        [
            ZRequest("cdc2000", "weight", "F", 10.0, 32000.0),
            ZRequest("cdc2000", "weight", "F", 10.0, 30.0),
        ]
    )
    assert [z.z is None for z in both] == [True, False]
