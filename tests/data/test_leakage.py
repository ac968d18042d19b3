"""The leakage check's ranks and counts, against scipy and numpy on a bundled dataset."""

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import rankdata
from sklearn.datasets import load_diabetes

from loopml.data.leakage import SAMPLE_ROWS, average_ranks, distinct_count, leakage_scores
from loopml.data.rules import LEAKAGE_THRESHOLD
from loopml.data.validation import duplicate_count


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(as_frame=True).frame


def test_average_ranks_are_scipys_with_ties(diabetes):
    for column in ["sex", "bmi", "target"]:  # sex has two values: every rank is a tie
        values = diabetes[column].to_numpy()
        np.testing.assert_array_equal(average_ranks(values), rankdata(values))


def test_distinct_count_is_numpys(diabetes):
    for column in diabetes.columns:
        values = diabetes[column].to_numpy()
        assert distinct_count(values) == np.unique(values).size
    assert distinct_count(np.array([])) == 0


def test_a_copy_of_the_target_scores_one_and_noise_little(diabetes):
    frame = diabetes.assign(
        copy=diabetes["target"] * 2 + 1,
        noise=np.random.default_rng(0).normal(size=len(diabetes)),
    )
    frame.loc[::7, "noise"] = np.nan  # a feature with missing values ranks the target anew
    scores = leakage_scores(pa.Table.from_pandas(frame, preserve_index=False), "target")
    assert scores["copy"] == pytest.approx(1.0)
    assert scores["noise"] < 0.3
    assert 0.5 < scores["bmi"] < 0.9


def test_duplicates_are_counted(diabetes):
    doubled = pa.Table.from_pandas(
        diabetes.iloc[[*range(len(diabetes)), 0, 1, 1]], preserve_index=False
    )
    assert duplicate_count(doubled) == 3


def test_a_big_table_is_scored_on_a_sample_that_agrees_with_every_row(diabetes):
    """300 jittered copies of the diabetes rows (132,600, above the sample size): the
    sample's scores are within a few standard errors of the whole table's, a copy of the
    target is still caught, and the same rows are drawn every time."""
    rng = np.random.default_rng(1)
    big = diabetes.loc[diabetes.index.repeat(300)].reset_index(drop=True)
    features = [c for c in big.columns if c != "target"]
    big[features] += rng.normal(0, 0.001, size=(len(big), len(features)))
    big["copy"] = big["target"] * 3 - 2
    table = pa.Table.from_pandas(big, preserve_index=False)
    assert table.num_rows > SAMPLE_ROWS

    sampled = leakage_scores(table, "target")
    every_row = leakage_scores(table, "target", sample_rows=table.num_rows)
    assert sampled.keys() == every_row.keys()
    for name, score in every_row.items():
        assert sampled[name] == pytest.approx(score, abs=0.02), name
    assert sampled["copy"] >= LEAKAGE_THRESHOLD
    assert max(v for k, v in sampled.items() if k != "copy") < LEAKAGE_THRESHOLD
    assert leakage_scores(table, "target") == sampled
