"""Empty windows, all-null, new, missing and retyped columns are data problems, never crashes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import loopml


def _reference():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "price": rng.normal(10, 2, 500),
            "city": rng.choice(["a", "b", "c"], 500),
            "qty": rng.integers(0, 9, 500),
        }
    )


def _problems(report):
    return {(p.column, p.problem) for p in report.problems}


def test_an_empty_window_is_a_problem_of_the_window_not_a_crash():
    report = loopml.drift_report(_reference(), _reference().iloc[:0])
    assert not report.drifted and report.columns == ()
    assert (None, "empty_window") in _problems(report)
    json.dumps(report.to_dict())
    assert "empty_window" in report.to_html()


def test_all_null_new_missing_and_retyped_columns_are_reported_and_the_rest_compared():
    reference = _reference()
    current = reference.sample(300, random_state=1).reset_index(drop=True)
    current["price"] = np.nan
    current["qty"] = current["qty"].astype(str)
    current["brand_new"] = 1.0
    current = current.drop(columns=["city"])
    current["when"] = pd.Timestamp("2026-01-01")
    report = loopml.drift_report(reference.assign(when=pd.Timestamp("2025-01-01")), current)
    assert _problems(report) == {
        ("price", "all_null"),
        ("qty", "type_changed"),
        ("city", "missing_column"),
        ("brand_new", "new_column"),
        ("when", "unsupported_type"),
    }
    assert report.columns == ()
    json.dumps(report.to_dict())


def test_an_all_null_arrow_column_of_null_type_is_all_null_not_unsupported():
    reference = pa.table({"x": pa.array(np.arange(100.0))})
    current = pa.table({"x": pa.nulls(50)})
    report = loopml.drift_report(reference, current)
    assert _problems(report) == {("x", "all_null")}


@pytest.mark.parametrize("method", ["chi2", "chi2_gof"])
def test_a_category_the_reference_never_saw_counts_as_drift_with_finite_json(method):
    reference = pd.DataFrame({"c": ["a", "b"] * 200})
    current = pd.DataFrame({"c": ["a", "b", "z"] * 100})
    report = loopml.drift_report(reference, current, methods={"c": method})
    column = report.to_dict()["columns"][0]
    assert column["drifted"] and column["statistic"] is not None and column["p_value"] < 1e-6
    json.dumps(report.to_dict(), allow_nan=False)
