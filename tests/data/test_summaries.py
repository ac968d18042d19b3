"""Summaries are computed once, stored, and merge: hourly summaries add up to a day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import loopml
from loopml.data.summary import merge, summarize, summarize_array


def test_hourly_summaries_merge_into_the_days_summary():
    rng = np.random.default_rng(1)
    reference = summarize(
        pa.table({"x": rng.normal(0, 1, 5000), "c": rng.choice(list("abc"), 5000)})
    )
    day = pa.table({"x": rng.normal(0.3, 1, 24 * 400), "c": rng.choice(list("abcd"), 24 * 400)})
    hours = [summarize(day.slice(h * 400, 400), reference) for h in range(24)]
    merged = hours[0]
    for hour in hours[1:]:
        merged = merge(merged, hour)
    whole = summarize(day, reference)
    x, whole_x = merged.columns["x"], whole.columns["x"]
    assert merged.rows == whole.rows == 9600
    assert x.count == whole_x.count and list(x.hist) == list(whole_x.hist)
    assert x.mean == pytest.approx(whole_x.mean) and x.std == pytest.approx(whole_x.std)
    assert merged.columns["c"].counts == whole.columns["c"].counts
    by_merge = loopml.drift_report(reference, merged).column("x").statistic
    by_whole = loopml.drift_report(reference, whole).column("x").statistic
    assert by_merge == pytest.approx(by_whole, rel=1e-3)


def test_a_stored_reference_gives_the_same_report_as_the_raw_training_data(sqlite_ctx):
    rng = np.random.default_rng(2)
    training = pd.DataFrame({"x": rng.normal(0, 1, 3000), "c": rng.choice(list("abc"), 3000)})
    window = pd.DataFrame({"x": rng.normal(0.2, 1, 700), "c": rng.choice(list("abc"), 700)})
    digest = loopml.save_reference(loopml.make_reference(training))
    stored = loopml.load_reference(digest)
    assert (
        loopml.drift_report(stored, window).to_dict()
        == loopml.drift_report(training, window).to_dict()
    )


def _stored(summary) -> dict:
    return {name: column.to_dict() for name, column in summary.columns.items()}


def test_summaries_of_an_array_are_those_of_its_table():
    from sklearn.datasets import load_diabetes

    features = load_diabetes(as_frame=True).data.iloc[:200]
    matrix = features.to_numpy()
    whole = summarize(pa.Table.from_pandas(features, preserve_index=False))
    by_array = summarize_array(matrix, list(features.columns))
    assert by_array.rows == whole.rows == 200 and by_array.skipped == whole.skipped == {}
    assert _stored(by_array) == _stored(whole)


def test_summaries_of_an_array_with_missing_values_and_signed_zeros_are_those_of_its_table():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(300, 3))
    matrix[::7, 0] = np.nan
    matrix[5, 0], matrix[9, 0] = np.inf, -np.inf
    matrix[::3, 1], matrix[1::3, 1] = 0.0, -0.0  # equal values whose order shows when stored
    matrix[:, 2] = np.round(matrix[:, 2])  # ties
    names = ["gaps", "zeros", "ties"]
    whole = summarize(pa.table({n: matrix[:, i] for i, n in enumerate(names)}))
    by_array = summarize_array(matrix, names)
    assert by_array.columns["gaps"].nulls == whole.columns["gaps"].nulls == 45
    assert _stored(by_array) == _stored(whole)
