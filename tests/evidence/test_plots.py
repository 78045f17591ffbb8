"""Forest and funnel plots, tested by structure of the written files (not pixels)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pedbone.evidence import forest, funnel, rma, rma_mh, subgroups, trimfill
from pedbone.evidence._utils import EvidenceInputError

from ._metafor import fixtures

SVG = "{http://www.w3.org/2000/svg}"


def _ids(path: Path) -> list[str]:
    root = ET.parse(path).getroot()  # raises if the SVG is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return [el.get("id", "") for el in root.iter() if el.get("id")]


def _texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def _bcg() -> tuple[list[float], list[float], list[str], list[int]]:
    d = fixtures()["uni_data"]["bcg_rr"]
    return d["yi"], d["vi"], d["slab"], d["year"]


def test_forest_svg_has_every_study_diamond_and_prediction_interval(tmp_path: Path) -> None:
    yi, vi, slab, _ = _bcg()
    res = rma(yi, vi, slab=slab, measure="RR")
    out = tmp_path / "forest.svg"
    forest(res, path=out)
    ids = _ids(out)
    assert sum(i.startswith("study-label-") for i in ids) == 13
    assert sum(i.startswith("study-ci-") for i in ids) == 13
    assert [i for i in ids if i.startswith("diamond-")] == ["diamond-overall"]
    assert "prediction-interval" in ids
    texts = _texts(out)
    for label in slab:
        assert label in texts
    # ratio measure: estimates printed as risk ratios, e.g. overall exp(-0.7145) = 0.49
    assert any(t.startswith("0.49 [") for t in texts)
    assert "Risk ratio [95% CI]" in texts
    assert "1" in texts  # the null is always a labelled tick on the ratio axis


def test_forest_subgroups_one_diamond_per_subgroup(tmp_path: Path) -> None:
    yi, vi, slab, year = _bcg()
    era = ["before 1960" if y < 1960 else "1960 or later" for y in year]
    sg = subgroups(yi, vi, subgroup=era, slab=slab, measure="RR")
    out = tmp_path / "forest_sub.svg"
    forest(sg, path=out)
    ids = _ids(out)
    diamonds = sorted(i for i in ids if i.startswith("diamond-"))
    assert diamonds == ["diamond-1960 or later", "diamond-before 1960", "diamond-overall"]
    assert "subgroup-test" in ids
    assert {"subgroup-before 1960", "subgroup-1960 or later"} <= set(ids)
    assert any(t.startswith("Test for subgroup differences") for t in _texts(out))


def test_forest_equal_effects_has_no_prediction_interval(tmp_path: Path) -> None:
    t = fixtures()["tables"]["hine1989"]
    res = rma_mh(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"], measure="RD", slab=t["slab"])
    out = tmp_path / "mh.svg"
    forest(res, path=out)
    ids = _ids(out)
    assert "prediction-interval" not in ids
    assert sum(i.startswith("study-label-") for i in ids) == 6


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_other_formats_are_valid_files(tmp_path: Path, suffix: str, magic: bytes) -> None:
    yi, vi, slab, _ = _bcg()
    res = rma(yi[:4], vi[:4], slab=slab[:4])
    for fn in (forest, funnel):
        out = tmp_path / f"{fn.__name__}{suffix}"
        fn(res, path=out)
        assert out.read_bytes().startswith(magic)


def test_funnel_contours_and_filled_studies(tmp_path: Path) -> None:
    d = fixtures()["uni_data"]["hackshaw1998"]
    res = rma(d["yi"], d["vi"], measure="OR")
    tf = trimfill(res)
    assert tf.k0 > 0
    out = tmp_path / "funnel.svg"
    funnel(tf, path=out)
    ids = _ids(out)
    assert {"contour-90", "contour-95", "contour-99"} <= set(ids)
    assert {"studies", "filled-studies", "pseudo-ci", "estimate-line"} <= set(ids)
    texts = _texts(out)
    assert "0.05 < p ≤ 0.10" in texts
    assert "p ≤ 0.01" in texts


def test_funnel_without_contours(tmp_path: Path) -> None:
    yi, vi, _, _ = _bcg()
    out = tmp_path / "plain.svg"
    funnel(rma(yi, vi), path=out, contours=None)
    assert not any(i.startswith("contour-") for i in _ids(out))


def test_bad_paths_and_models_are_refused(tmp_path: Path) -> None:
    yi, vi, _, _ = _bcg()
    res = rma(yi, vi)
    with pytest.raises(EvidenceInputError, match=r"\.svg, \.png or \.pdf"):
        forest(res, path=tmp_path / "forest.gif")
    with pytest.raises(EvidenceInputError, match="does not exist"):
        funnel(res, path=tmp_path / "missing" / "f.svg")
    with pytest.raises(EvidenceInputError, match="order must be one of"):
        forest(res, order="alphabet")
    with pytest.raises(EvidenceInputError, match="ilab column 'n' has 2 values for 13"):
        forest(res, ilab={"n": ["1", "2"]})


def test_subgroup_weights_are_shares_of_the_overall_model(tmp_path: Path) -> None:
    yi, vi, slab, year = _bcg()
    era = ["early" if y < 1960 else "late" for y in year]
    sg = subgroups(yi, vi, subgroup=era, slab=slab, measure="RR")
    out = tmp_path / "w.svg"
    forest(sg, path=out)
    texts = _texts(out)
    study_w = [float(t[:-1]) for t in texts if t.endswith("%") and t != "100.0%"]
    # 13 study weights + 2 subtotals; studies sum to 100 % and subtotals to 100 % (rounding)
    assert len(study_w) == 15
    assert sum(study_w) == pytest.approx(200.0, abs=0.2)
    assert "100.0%" in texts
