"""The pure batch core: hand-computed Z-scores, flagged bad values, chunk independence."""

from __future__ import annotations

import math

import polars as pl
import pytest

from pedbone.references.batch import (
    STATUS_COLUMN,
    BatchSchemaError,
    plan_batch,
    score_frame,
)


def _lms_z(y: float, L: float, M: float, S: float) -> float:
    """Cole's LMS transform, written out independently of the engine."""
    return math.log(y / M) / S if L == 0 else ((y / M) ** L - 1) / (L * S)


# Table rows used below (copied from ../shared/refdata, exact table ages, no interpolation):
# CDC 2000 statage.csv  girls 24.0 mo: L=1.07244896  M=84.97555512 S=0.040791394
CDC_F24 = (1.07244896, 84.97555512, 0.040791394)
# CDC 2000 wtage.csv    girls 24.0 mo: L=-0.73533951 M=12.05503983 S=0.107399495
CDC_W_F24 = (-0.73533951, 12.05503983, 0.107399495)
# WHO 2007 hfawho2007   girls 120 mo:  L=1 M=138.6363 S=0.04614
WHO_H_F120 = (1.0, 138.6363, 0.04614)
# Schafmeyer 2022 "BMCwhite","female",10: L=0.139077413 M=216.5561082 S=0.199233739
SCH_BMC_WF10 = (0.139077413, 216.5561082, 0.199233739)


def test_growth_z_match_the_lms_formula_at_table_ages() -> None:
    frame = pl.DataFrame(
        {
            "id": ["a", "b"],
            "sex": ["F", "2"],
            "age_years": ["2.0", "2"],
            "height_cm": ["90", "84.97555512"],
            "weight_kg": ["13.5", ""],
        }
    )
    out = score_frame(frame)
    # a: ((90/84.97555512)^1.07244896 - 1) / (1.07244896 * 0.040791394) = 1.452574
    assert out["height_z"][0] == pytest.approx(_lms_z(90.0, *CDC_F24), abs=1e-9)
    assert out["height_z"][0] == pytest.approx(1.452574, abs=1e-6)
    # b: value = M gives Z = 0 and the 50th centile
    assert out["height_z"][1] == pytest.approx(0.0, abs=1e-9)
    assert out["height_centile"][1] == pytest.approx(50.0, abs=1e-7)
    # a: weight 13.5 kg -> ((13.5/12.05503983)^-0.73533951 - 1) / (-0.73533951 * 0.107399495)
    assert out["weight_z"][0] == pytest.approx(_lms_z(13.5, *CDC_W_F24), abs=1e-9)
    # centile = 100 * Phi(z)
    z = out["height_z"][0]
    assert out["height_centile"][0] == pytest.approx(50 * (1 + math.erf(z / math.sqrt(2))))
    # a blank weight is missing, not a problem; input columns pass through as they were
    assert out["weight_z"][1] is None
    assert out[STATUS_COLUMN].to_list() == ["ok", "ok"]
    assert out["age_years"].to_list() == ["2.0", "2"]


def test_reference_choice_who2007() -> None:
    frame = pl.DataFrame({"sex": ["F"], "age_years": [10.0], "height_cm": [140.0]})
    out = score_frame(frame, references={"growth": "who2007"})
    # L = 1: (140 - 138.6363) / (138.6363 * 0.04614) = 1.3637 / 6.39668 = 0.213189
    assert out["height_z"][0] == pytest.approx(0.2131888, abs=1e-6)


def test_dxa_with_population_group() -> None:
    frame = pl.DataFrame(
        {
            "sex": ["F", "F", "F"],
            "age_years": [10.0, 10.0, 10.0],
            "group": ["white", "White ", "martian"],
            "leg_bmc": [250.0, 216.5561082, 250.0],
        }
    )
    out = score_frame(frame)
    # ((250/216.5561082)^0.139077413 - 1) / (0.139077413 * 0.199233739) = 0.728065
    assert out["leg_bmc_z"][0] == pytest.approx(_lms_z(250.0, *SCH_BMC_WF10), abs=1e-9)
    assert out["leg_bmc_z"][0] == pytest.approx(0.728065, abs=1e-6)
    assert out["leg_bmc_z"][1] == pytest.approx(0.0, abs=1e-9)
    assert out["leg_bmc_z"][2] is None
    assert out[STATUS_COLUMN].to_list() == ["ok", "ok", "group:group_unknown"]


def test_bad_values_flag_their_row_and_the_rest_go_on() -> None:
    frame = pl.DataFrame(
        {
            "sex": ["F", "F", "X", "F", "F", "F", None],
            "age_years": ["2", "2", "2", "2", "30", "abc", "2"],
            "height_cm": ["tall", "-90", "90", "90", "90", "90", "90"],
            "weight_kg": ["13.5", "13.5", "13.5", "inf", "13.5", "13.5", "NA"],
        }
    )
    out = score_frame(frame)
    assert out[STATUS_COLUMN].to_list() == [
        "height_cm:not_a_number",
        "height_cm:value_not_positive",
        "sex:sex_unknown",
        "weight_kg:not_a_number",
        "height_cm:age_out_of_range;weight_kg:age_out_of_range",
        "age_years:not_a_number",
        "sex:sex_unknown",
    ]
    # the other measure of a flagged row is still scored
    assert out["weight_z"][0] == pytest.approx(_lms_z(13.5, *CDC_W_F24), abs=1e-9)
    assert out["weight_z"][1] == pytest.approx(_lms_z(13.5, *CDC_W_F24), abs=1e-9)
    assert out["height_z"][3] == pytest.approx(_lms_z(90.0, *CDC_F24), abs=1e-9)
    assert out["height_z"].null_count() == 6


def test_age_from_dates_and_corrected_age() -> None:
    frame = pl.DataFrame(
        {
            "sex": ["F", "F", "F", "F"],
            "birth_date": ["2014-03-01", "2014-03-01", "2014-03-01", "01/03/2014"],
            "measurement_date": ["2016-03-01", "2015-03-01", "2013-01-01", "2016-03-01"],
            "gestational_age_weeks": [None, "30", None, None],
            "height_cm": ["90", "75", "90", "90"],
        }
    )
    out = score_frame(frame)
    ages = out["age_used_years"].to_list()
    # 2014-03-01 -> 2016-03-01 is 365 + 366 = 731 days; 731 / 365.25 = 2.001369 y
    assert ages[0] == pytest.approx(731 / 365.25, abs=1e-12)
    # 365 days = 0.999316 y, under 2 y so corrected for 30 weeks: minus (40-30)*7 = 70 days
    assert ages[1] == pytest.approx((365 - 70) / 365.25, abs=1e-12)
    assert out[STATUS_COLUMN].to_list() == [
        "ok",
        "height_cm:age_out_of_range",  # CDC 2000 starts at 2 years
        "measurement_date:before_birth",
        "birth_date:not_a_date",
    ]
    same = score_frame(
        pl.DataFrame({"sex": ["F"], "age_years": [731 / 365.25], "height_cm": [90.0]})
    )
    assert out["height_z"][0] == pytest.approx(same["height_z"][0], abs=1e-12)


def test_given_age_wins_and_dates_fill_blanks() -> None:
    frame = pl.DataFrame(
        {
            "sex": ["F", "F"],
            "age_years": ["2.0", None],
            "birth_date": ["2000-01-01", "2014-03-01"],
            "measurement_date": ["2000-01-02", "2016-03-01"],
            "height_cm": ["90", "90"],
        }
    )
    ages = score_frame(frame)["age_used_years"].to_list()
    assert ages == [2.0, pytest.approx(731 / 365.25)]


def test_typed_columns_as_from_parquet() -> None:
    import datetime as dt

    frame = pl.DataFrame(
        {
            "sex": [2, 1],
            "birth_date": [dt.date(2014, 3, 1), dt.date(2014, 3, 1)],
            "measurement_date": [dt.date(2016, 3, 1), None],
            "height_cm": [90.0, float("nan")],
        }
    )
    out = score_frame(frame)
    assert out["height_z"][0] == pytest.approx(
        score_frame(pl.DataFrame({"sex": ["F"], "age_years": [731 / 365.25], "height_cm": [90.0]}))[
            "height_z"
        ][0]
    )
    assert out[STATUS_COLUMN].to_list() == ["ok", "measurement_date:age_missing"]


def test_rows_are_independent_of_chunking() -> None:
    frame = pl.DataFrame(
        {
            "sex": ["F", "M", "x", "F", "M", "F", "M", "F", "M", "F", "M"],
            "age_years": ["2", "3.3", "4", "abc", "12.25", "19.9", "25", "8", "9", "10", "5.5"],
            "height_cm": ["90", "100", "100", "100", "150", "165", "170", "-1", "", "140", "x"],
        }
    )
    plan = plan_batch(frame.columns)
    whole = score_frame(frame, plan)
    for size in (1, 7, 10_000):
        parts = [score_frame(frame.slice(i, size), plan) for i in range(0, frame.height, size)]
        assert pl.concat(parts).equals(whole)


def test_empty_frame_keeps_the_output_schema() -> None:
    frame = pl.DataFrame(schema={"sex": pl.String, "age_years": pl.String, "bmi": pl.String})
    out = score_frame(frame)
    assert out.columns == ["sex", "age_years", "bmi", "bmi_z", "bmi_centile", STATUS_COLUMN]
    assert out.height == 0


@pytest.mark.parametrize(
    ("columns", "needle"),
    [
        (["age_years", "height_cm"], "a 'sex' column"),
        (["sex", "height_cm"], "an 'age_years' column or both"),
        (["sex", "birth_date", "height_cm"], "(only 'birth_date' found)"),
        (["sex", "age_years", "comment"], "at least one measure column"),
        (["sex", "age_years", "height_cm", "height_z"], "'height_z' (it would be overwritten)"),
        (
            ["sex", "age_years", "gestational_age_weeks", "bmi", "age_used_years"],
            "'age_used_years' (it would be overwritten)",
        ),
    ],
)
def test_plan_names_what_is_missing(columns: list[str], needle: str) -> None:
    with pytest.raises(BatchSchemaError) as info:
        plan_batch(columns)
    assert needle in str(info.value)


def test_plan_leaves_uncovered_dxa_columns_unscored_unless_asked() -> None:
    plan = plan_batch(["sex", "age_years", "height_cm", "spine_abmd"])
    assert [m.column for m in plan.measures] == ["height_cm"]
    assert plan.unscored[0][0] == "spine_abmd"
    assert "schafmeyer2022" in plan.unscored[0][1]
    with pytest.raises(BatchSchemaError, match="has no measure 'spine_abmd'"):
        plan_batch(["sex", "age_years", "spine_abmd"], {"spine_abmd": "schafmeyer2022"})


def test_plan_defaults_and_overrides() -> None:
    plan = plan_batch(
        ["sex", "age_years", "height_cm", "head_circumference_cm", "bmi"], {"bmi": "who2007"}
    )
    assert {m.column: m.pack_id for m in plan.measures} == {
        "height_cm": "cdc2000",
        "head_circumference_cm": "who2006",
        "bmi": "who2007",
    }
    assert plan.output_columns[-1] == STATUS_COLUMN


def test_plan_reports_reference_keys_that_match_nothing() -> None:
    plan = plan_batch(
        ["sex", "age_years", "height_cm", "spine_abmd"],
        {"growth": "who2007", "bmi": "cdc2000", "dxa": "schafmeyer2022", "leg_bmc": "x"},
    )
    # growth and dxa both have columns (spine_abmd unscored, but present); no bmi, no leg_bmc
    assert plan.unused_references == ("bmi", "leg_bmc")


def test_aliases_use_the_inputs_own_column_names() -> None:
    frame = pl.DataFrame(
        {
            "gender": ["F", "?"],
            "Age": ["2", "2"],
            "sex": ["M", "M"],  # bears an aliased name: passes through unused
            "Height": ["90", "90"],
        }
    )
    plan = plan_batch(
        frame.columns, aliases={"sex": "gender", "age_years": "Age", "height_cm": "Height"}
    )
    assert (plan.sex_column, plan.age_column) == ("gender", "Age")
    out = score_frame(frame, plan)
    assert out.columns == [*frame.columns, "height_z", "height_centile", STATUS_COLUMN]
    assert out["height_z"][0] == pytest.approx(_lms_z(90.0, *CDC_F24), abs=1e-9)
    # reasons name the input's own column
    assert out[STATUS_COLUMN].to_list() == ["ok", "gender:sex_unknown"]
    with pytest.raises(BatchSchemaError, match=r"a column 'Weight' \(to use as 'weight_kg'\)"):
        plan_batch(frame.columns, aliases={"sex": "gender", "weight_kg": "Weight"})
    with pytest.raises(BatchSchemaError, match="'stature' to be a documented column name"):
        plan_batch(frame.columns, aliases={"stature": "Height"})


def test_chained_packs_score_each_row_with_the_first_covering_its_age() -> None:
    import pedbone

    frame = pl.DataFrame(
        {
            "sex": ["F", "F", "F", "F"],
            "age_years": [1.0, 4.5, 10.0, 25.0],
            "height_cm": [74.0, 104.0, 140.0, 165.0],
            "head_circumference_cm": [45.0, 49.5, None, None],
        }
    )
    plan = plan_batch(frame.columns, {"growth": "who2006+who2007"})
    packs = {m.column: m.packs for m in plan.measures}
    # head circumference (a growth measure, default who2006) is unaffected by the growth choice;
    # height is chained
    assert packs == {"height_cm": ("who2006", "who2007"), "head_circumference_cm": ("who2006",)}
    out = score_frame(frame, plan)
    who06 = pedbone.reference("who2006")
    expected = [
        who06.zscore("height", sex="F", age_years=1.0, value=74.0),
        who06.zscore("height", sex="F", age_years=4.5, value=104.0),
        # L = 1 at 120 months: (140 - 138.6363) / (138.6363 * 0.04614) = 0.213189
        0.2131888,
    ]
    for got, want in zip(out["height_z"].to_list()[:3], expected, strict=True):
        assert got == pytest.approx(float(want), abs=1e-6)
    assert out["height_z"][3] is None
    assert out[STATUS_COLUMN].to_list() == ["ok", "ok", "ok", "height_cm:age_out_of_range"]


def test_plan_pickles_for_a_distributed_map_step() -> None:
    import pickle

    frame = pl.DataFrame({"sex": ["F", "M"], "age_years": ["2", "9"], "height_cm": ["90", "x"]})
    plan = plan_batch(frame.columns, {"growth": "who2006+who2007"})
    shipped = pickle.loads(pickle.dumps(plan))
    assert shipped == plan
    assert score_frame(frame, shipped).equals(score_frame(frame, plan))


def test_implausible_values_get_a_status_not_a_number() -> None:
    # Limits are a software rule [PEDBONE_PLAUSIBILITY]: weight 0.2-250 kg, BMI 5-100 kg/m²,
    # |Z| <= 8. 32 000 kg was scored Z +4.6 with status ok before.
    frame = pl.DataFrame(
        {
            "sex": ["F", "F", "F", "F"],
            "age_years": ["10", "10", "10", "10"],
            "weight_kg": ["32000", "250", "30", ""],
            "bmi": ["170", "", "100", "17"],
        }
    )
    out = score_frame(frame)
    assert out["weight_z"][0] is None
    assert out["weight_centile"][0] is None
    assert out[STATUS_COLUMN][0] == "weight_kg:implausible;bmi:implausible"
    # 250 kg is inside the limit: scored (a large but finite Z), and 100 kg/m² likewise unless
    # its Z is beyond ±8
    assert out["weight_z"][1] is not None
    assert out["weight_z"][2] is not None
    assert out[STATUS_COLUMN][3] == "ok"


def test_z_beyond_the_plausibility_bound_is_implausible() -> None:
    # height 250 cm at 2 y (inside the 20-250 cm value limit) is Z far above +8 on CDC 2000
    frame = pl.DataFrame({"sex": ["F"], "age_years": ["2.0"], "height_cm": ["250"]})
    out = score_frame(frame)
    assert out["height_z"][0] is None
    assert out[STATUS_COLUMN][0] == "height_cm:implausible"
