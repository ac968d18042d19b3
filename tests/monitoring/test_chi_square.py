"""Chi-square: homogeneity by default, goodness of fit on request, both scipy's, never NaN."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.data
import pytest
from scipy import stats

import loopml

TOL = 1e-9


def _counts(frame: pd.DataFrame, column: str, keys: list[str]) -> np.ndarray:
    return frame[column].value_counts().reindex(keys, fill_value=0).to_numpy()


def test_homogeneity_is_scipys_contingency_test_on_a_real_table():
    # Restaurant bills (plotly's bundled tips table): lunch has no Saturday or Sunday.
    tips = plotly.data.tips()
    lunch, dinner = tips[tips.time == "Lunch"], tips[tips.time == "Dinner"]
    report = loopml.drift_report(lunch, dinner, methods={"day": "chi2", "size": "psi"})
    day = report.column("day")
    expected = stats.chi2_contingency(pd.crosstab(tips.time, tips.day).to_numpy())
    assert np.isfinite(day.statistic)
    assert day.statistic == pytest.approx(expected.statistic, abs=TOL)
    assert day.p_value == pytest.approx(expected.pvalue, abs=TOL)
    assert day.drifted  # a real difference: the weekend is dinner only
    json.dumps(report.to_dict(), allow_nan=False)


def test_goodness_of_fit_is_selectable_and_is_scipys_chisquare():
    tips = plotly.data.tips()
    lunch, dinner = tips[tips.time == "Lunch"], tips[tips.time == "Dinner"]
    keys = sorted(set(tips.day))
    report = loopml.drift_report(dinner, lunch, methods={"day": "chi2_gof"})
    day = report.column("day")
    observed = _counts(lunch, "day", keys)
    shares = _counts(dinner, "day", keys) + 0.5  # Jeffreys' half count per category
    expected = stats.chisquare(observed, shares / shares.sum() * observed.sum())
    assert (day.method, day.threshold) == ("chi2_gof", 0.05)
    assert day.statistic == pytest.approx(expected.statistic, abs=TOL)
    assert day.p_value == pytest.approx(expected.pvalue, abs=TOL)
    assert day.drifted  # Thursday lunches against a dinner reference with one Thursday


def _false_alarms(method: str, reference_rows: int, seeds: int = 40) -> float:
    """How often ``method`` flags a random split of a real table (gapminder's continents)."""
    gapminder = plotly.data.gapminder()[["continent"]]
    keys = sorted(set(gapminder.continent))
    flagged = 0
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(len(gapminder))
        first, second = (
            gapminder.iloc[order[:reference_rows]],
            gapminder.iloc[order[reference_rows:]],
        )
        column = loopml.drift_report(first, second, methods={"continent": method}).column(
            "continent"
        )
        if method == "chi2":
            table = [_counts(first, "continent", keys), _counts(second, "continent", keys)]
            assert column.p_value == pytest.approx(stats.chi2_contingency(table).pvalue, abs=TOL)
        flagged += column.drifted
    return flagged / seeds


def test_homogeneity_keeps_its_level_on_halves_of_a_real_table():
    assert _false_alarms("chi2", 852) <= 0.1  # two halves of 852 rows
    assert _false_alarms("chi2", 1550) <= 0.1  # a reference nine times the window


def test_goodness_of_fit_holds_its_level_only_against_a_much_larger_reference():
    # It takes the reference's shares as known: right when the reference dwarfs the
    # window, too eager when both are samples of one size (why homogeneity is the default).
    assert _false_alarms("chi2_gof", 1550) <= 0.1
    assert _false_alarms("chi2_gof", 852) > 0.15


@pytest.mark.parametrize("method", ["chi2", "chi2_gof"])
def test_one_row_of_a_category_the_reference_lacks_is_not_a_verdict(method):
    gapminder = plotly.data.gapminder()
    order = np.random.default_rng(1).permutation(len(gapminder))
    first, second = gapminder.iloc[order[:852]], gapminder.iloc[order[852:]]
    reference = first[first.continent != "Oceania"]
    current = pd.concat(
        [second[second.continent != "Oceania"], second[second.continent == "Oceania"].head(1)]
    )
    column = loopml.drift_report(reference, current, methods={"continent": method}).column(
        "continent"
    )
    assert np.isfinite(column.statistic) and column.p_value > 0.05, column
    assert not column.drifted


@pytest.mark.parametrize("method", ["chi2", "chi2_gof"])
def test_a_frequent_new_category_is_drift_with_a_finite_statistic(method):
    gapminder = plotly.data.gapminder()
    reference = gapminder[gapminder.continent != "Europe"]
    column = loopml.drift_report(reference, gapminder, methods={"continent": method}).column(
        "continent"
    )
    assert np.isfinite(column.statistic) and column.drifted and column.p_value < 1e-6
