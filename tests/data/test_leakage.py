"""The leakage check's ranks and counts, against scipy and numpy on a bundled dataset."""

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import rankdata
from sklearn.datasets import load_diabetes

from loopml.data.leakage import average_ranks, distinct_count, leakage_scores
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
