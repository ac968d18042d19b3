import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loopml import Rules, infer_rules, validate
from loopml.data.profile import profile_table
from loopml.errors import InvalidInput


def reference(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    label = rng.choice([0, 1], n, p=[0.7, 0.3])
    return pd.DataFrame(
        {
            "price": rng.normal(10, 2, n),
            "store": rng.choice(["a", "b", "c"], n),
            "qty": rng.integers(0, 50, n),
            "noise": rng.normal(size=n),
            "label": label,
        }
    )


def checks(report):
    return sorted((v.column, v.check) for v in report.violations)


def test_inferred_rules_accept_their_reference_and_fresh_data_like_it():
    rules = infer_rules(reference(), target="label")
    assert validate(reference(), rules).violations == []
    assert validate(reference(seed=1), rules).ok
    assert rules.columns["store"].allowed == ("a", "b", "c")
    assert rules.columns["price"].min < reference()["price"].min()
    assert rules.min_class_share == pytest.approx(reference()["label"].mean() / 2, rel=0.01)


def test_every_column_violation_is_reported_with_counts_and_examples():
    rules = infer_rules(reference(), target="label")
    bad = reference(seed=1).drop(columns=["qty"])
    bad.loc[:9, "price"] = 1e6
    bad.loc[:4, "store"] = "zz"
    bad.loc[:999, "noise"] = np.nan
    bad["extra"] = 1.0
    report = validate(bad, rules)
    assert not report.ok
    assert checks(report) == [
        ("extra", "constant"),
        ("extra", "unexpected_column"),
        ("noise", "null_rate"),
        ("price", "range"),
        ("qty", "missing_column"),
        ("store", "category"),
    ]
    by_check = {v.check: v for v in report.violations}
    assert by_check["range"].count == 10 and by_check["range"].examples == [1e6]
    assert by_check["category"].count == 5 and by_check["category"].examples == ["zz"]
    assert by_check["null_rate"].count == 1000
    assert {v.check for v in report.warnings} == {"constant", "unexpected_column"}
    assert report.to_dict()["ok"] is False
    with pytest.raises(InvalidInput, match="breaks 4 validation rule"):
        report.raise_for_errors()


def test_type_changes_and_pandas_int_with_nulls():
    rules = infer_rules(reference())
    retyped = reference().assign(qty=lambda f: f["qty"].astype(str))
    assert checks(validate(retyped, rules)) == [("qty", "type")]
    with_nulls = reference().astype({"qty": "float64"})
    with_nulls.loc[0, "qty"] = np.nan
    assert validate(with_nulls, rules).ok  # integers that pandas turned to floats


def test_empty_data_is_an_error():
    rules = infer_rules(reference())
    assert "empty" in {v.check for v in validate(reference().iloc[:0], rules).errors}


def test_leakage_is_found_and_ids_or_noise_are_not():
    frame = reference()
    rng = np.random.default_rng(5)
    frame["copy"] = frame["label"] * 3 + rng.normal(0, 0.01, len(frame))
    frame["label_text"] = frame["label"].map({0: "no", 1: "yes"})
    frame["row_id"] = [f"id{i}" for i in range(len(frame))]
    report = validate(frame, infer_rules(frame, target="label"))
    assert sorted(v.column for v in report.violations if v.check == "leakage") == [
        "copy",
        "label_text",
    ]


def test_leakage_with_a_numeric_target():
    rng = np.random.default_rng(1)
    y = rng.normal(100, 20, 3000)
    frame = pd.DataFrame({"y": y, "twin": y * 2 + 1, "x": rng.normal(size=3000)})
    report = validate(frame, infer_rules(frame, target="y"))
    assert [(v.column, v.check) for v in report.violations] == [("twin", "leakage")]
    assert infer_rules(frame, target="y").min_class_share is None


def test_class_balance_duplicates_and_constant_columns():
    rules = infer_rules(reference(), target="label")
    rare = reference(seed=2)
    rare = pd.concat([rare[rare.label == 0], rare[rare.label == 1].head(20)])
    rare = pd.concat([rare, rare.head(300)])  # duplicated rows
    rare["store"] = "a"
    found = {(v.column, v.check) for v in validate(rare, rules).violations}
    assert {("label", "class_balance"), (None, "duplicate_rows"), ("store", "constant")} <= found


def test_yaml_and_dict_round_trip_and_hand_edits():
    rules = infer_rules(reference(), target="label")
    assert Rules.from_yaml(rules.to_yaml()) == rules
    assert Rules.from_dict(rules.to_dict()) == rules
    edited = rules.to_yaml().replace("check_constant: true", "check_constant: false")
    assert Rules.from_yaml(edited).check_constant is False
    assert rules.with_column("price", max=5.0).columns["price"].max == 5.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("columns: {x: {type: float, maxx: 3}}", "Unknown key in the rule of column 'x': maxx"),
        ("colums: {}", "need a 'columns' mapping"),
        ("columns: {x: {type: float, min: abc}}", "x.min must be a number"),
        ("columns: {x: {type: float, max_null_rate: 2}}", "between 0 and 1"),
        ("columns: {x: {type: float}}\ntarget: y", "target 'y' is not one"),
        ("columns: [\n", "not valid YAML"),
    ],
)
def test_bad_rules_files_say_what_to_fix(text, match):
    with pytest.raises(InvalidInput, match=match):
        Rules.from_yaml(text)


def test_flag_rows_marks_out_of_range_and_unseen_values_per_row():
    rules = infer_rules(reference(), target="label")
    rows = pd.DataFrame(
        {"price": [10.0, 1e6, None, 9.0], "store": ["a", "zz", "b", None], "qty": [1, 2, 3, -500]}
    )
    assert rules.flag_rows(rows) == [
        [],
        ["out_of_range:price", "unseen_category:store"],
        [],
        ["out_of_range:qty"],
    ]
    assert rules.flag_rows(rows.iloc[:0]) == []


def test_profile_numbers_match_numpy():
    rng = np.random.default_rng(3)
    values = rng.normal(5, 3, 50_000)
    values[:500] = np.nan
    text = rng.choice([f"v{i}" for i in range(300)], 50_000)
    profile, _ = profile_table(pa.table({"x": values, "s": text}))
    x = profile["columns"]["x"]
    finite = values[~np.isnan(values)]
    assert x["null_rate"] == pytest.approx(0.01)
    assert x["mean"] == pytest.approx(finite.mean())
    assert x["std"] == pytest.approx(finite.std())
    assert (x["min"], x["max"]) == (finite.min(), finite.max())
    assert x["quantiles"]["0.5"] == pytest.approx(np.median(finite), abs=0.01)
    assert sum(x["histogram"]["counts"]) == finite.size
    assert len(x["histogram"]["edges"]) == len(x["histogram"]["counts"]) + 1
    s = profile["columns"]["s"]
    assert s["distinct"] == 300 and len(s["top"]) == 20
    assert s["top"][0]["count"] == max(np.unique(text, return_counts=True)[1])


def test_leakage_beyond_linear_correlation_on_a_real_table():
    """load_diabetes: a row index of the table sorted by the target, and a number the
    target follows in two pieces (a step-shaped relation a shallow tree finds), are
    caught although their linear correlation is low; the honest features (bmi is the
    strongest, r = 0.59) are not."""
    from scipy.stats import pearsonr
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.sort_values("target", kind="stable")
    frame["row"] = np.arange(len(frame), dtype=float) ** 8  # grows with the target, not linearly
    assert abs(pearsonr(frame["row"], frame["target"])[0]) < 0.85  # missed by correlation alone
    half = len(frame) // 2
    frame["fold"] = (np.arange(len(frame)) + half) % len(frame)  # an index that wraps midway
    assert abs(pearsonr(frame["fold"], frame["target"])[0]) < 0.6
    report = validate(frame, infer_rules(frame, target="target"))
    leaks = sorted(v.column for v in report.violations if v.check == "leakage")
    assert leaks == ["fold", "row"]
    assert report.errors  # a leak stops a pipeline run before anything trains
