"""The paired test behind every decision agrees with scipy and waits for enough rows."""

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from loopml.automation.evidence import beats
from loopml.metrics import losses


def test_the_verdict_is_scipys_one_sided_paired_t_test_with_the_margin():
    rng = np.random.default_rng(1)
    champion = rng.gamma(2.0, 2.0, 40)
    challenger = 0.8 * champion + rng.normal(0, 0.5, 40)
    found = beats(champion, challenger, margin=0.05, confidence=0.9, min_rows=10)
    expected = stats.ttest_rel(0.95 * champion, challenger, alternative="greater")
    assert found.p_value == pytest.approx(expected.pvalue)
    assert found.verdict == ("yes" if expected.pvalue < 0.1 else "no")
    low = stats.t.interval(
        0.8, 39, loc=found.mean_difference, scale=stats.sem(0.95 * champion - challenger)
    )[0]
    assert found.lower_bound == pytest.approx(low)  # one-sided 90% = lower end of two-sided 80%


def test_too_few_rows_wait_and_say_how_many_are_needed():
    found = beats([9.0, 9.0, 9.0], [1.0, 1.0, 1.0], margin=0.05, confidence=0.9, min_rows=10)
    assert found.verdict == "wait" and (found.rows, found.needed) == (3, 10)
    assert found.describe("champion v1", "challenger v2") == (
        "3 of 10 rows to compare challenger v2 with champion v1"
    )


def test_a_real_table_a_better_model_wins_and_an_equal_one_does_not():
    """Diabetes (scikit-learn's bundled table): a linear model on every feature against
    one on a single feature, and against itself, on the same 142 held-out rows."""
    X, y = load_diabetes(return_X_y=True)
    train, test = slice(0, 300), slice(300, None)
    full = LinearRegression().fit(X[train], y[train]).predict(X[test])
    single = LinearRegression().fit(X[train, 2:3], y[train]).predict(X[test, 2:3])
    weak, strong = losses("mae", y[test], single), losses("mae", y[test], full)
    assert beats(weak, strong, margin=0.05, confidence=0.9, min_rows=10).verdict == "yes"
    assert beats(strong, strong, margin=0.05, confidence=0.9, min_rows=10).verdict == "no"
    assert beats(strong, weak, margin=0.0, confidence=0.9, min_rows=10).verdict == "no"
