"""Drift statistics agree with scipy's on the same data, and the default choice is Evidently's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

import loopml
from loopml.data.summary import SKETCH_SIZE

TOL = 1e-9


@pytest.fixture
def small():
    rng = np.random.default_rng(7)
    reference = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 800),
            "city": rng.choice(["a", "b", "c", "d"], 800, p=[0.4, 0.3, 0.2, 0.1]),
            "flag": rng.choice(["yes", "no"], 800),
        }
    )
    current = pd.DataFrame(
        {
            "x": rng.normal(0.2, 1.1, 600),
            "city": rng.choice(["a", "b", "c", "d"], 600, p=[0.3, 0.3, 0.2, 0.2]),
            "flag": rng.choice(["yes", "no"], 600, p=[0.6, 0.4]),
        }
    )
    return reference, current


def test_small_reference_uses_p_value_tests_that_match_scipy(small):
    reference, current = small
    report = loopml.drift_report(reference, current)
    x, city, flag = (report.column(n) for n in ("x", "city", "flag"))
    assert (x.method, city.method, flag.method) == ("ks", "chi2", "ztest")
    assert x.threshold == city.threshold == flag.threshold == 0.05

    expected = stats.ks_2samp(reference.x, current.x)
    assert x.statistic == pytest.approx(expected.statistic, abs=TOL)
    assert x.p_value == pytest.approx(expected.pvalue, abs=TOL)

    keys = sorted(set(reference.city))
    table = [
        reference.city.value_counts().reindex(keys).to_numpy(),
        current.city.value_counts().reindex(keys).to_numpy(),
    ]
    chi = stats.chi2_contingency(table)  # homogeneity of the two samples
    assert city.statistic == pytest.approx(chi.statistic, abs=TOL)
    assert city.p_value == pytest.approx(chi.pvalue, abs=TOL)

    # The two-proportion z-test is the 2x2 chi-square test without continuity correction.
    table = [
        reference.flag.value_counts().reindex(["no", "yes"]).to_numpy(),
        current.flag.value_counts().reindex(["no", "yes"]).to_numpy(),
    ]
    chi2x2 = stats.chi2_contingency(table, correction=False)
    assert flag.statistic**2 == pytest.approx(chi2x2.statistic, abs=TOL)
    assert flag.p_value == pytest.approx(chi2x2.pvalue, abs=TOL)


def test_large_reference_uses_distances_that_match_scipy():
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.gamma(2.0, 3.0, 5000), "c": rng.choice(list("pqrs"), 5000)})
    current = pd.DataFrame({"x": rng.gamma(2.2, 3.0, 3000), "c": rng.choice(list("pqrst"), 3000)})
    report = loopml.drift_report(reference, current)
    x, c = report.column("x"), report.column("c")
    assert (x.method, c.method, x.threshold, c.threshold) == (
        "wasserstein",
        "jensenshannon",
        0.1,
        0.1,
    )
    expected = stats.wasserstein_distance(reference.x, current.x) / np.std(reference.x)
    assert x.statistic == pytest.approx(expected, abs=TOL)
    assert x.p_value is None
    keys = sorted(set(reference.c) | set(current.c))
    p = reference.c.value_counts().reindex(keys, fill_value=0).to_numpy() / len(reference)
    q = current.c.value_counts().reindex(keys, fill_value=0).to_numpy() / len(current)
    assert c.statistic == pytest.approx(distance.jensenshannon(p, q), abs=TOL)


def test_psi_is_the_symmetric_kullback_leibler_divergence_of_the_bins(small):
    reference, current = small
    report = loopml.drift_report(reference, current, methods={"city": "psi", "x": "psi"})
    keys = sorted(set(reference.city))
    p = reference.city.value_counts().reindex(keys).to_numpy() / len(reference)
    q = current.city.value_counts().reindex(keys).to_numpy() / len(current)
    expected = stats.entropy(q, p) + stats.entropy(p, q)
    assert report.column("city").statistic == pytest.approx(expected, abs=TOL)
    assert report.column("x").statistic > 0


def test_large_data_sketch_stays_close_to_the_exact_statistics():
    rng = np.random.default_rng(11)
    reference = rng.normal(0, 1, 4 * SKETCH_SIZE)
    current = rng.normal(0.05, 1, 3 * SKETCH_SIZE)
    report = loopml.drift_report(
        pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), methods={"x": "ks"}
    )
    exact = stats.ks_2samp(reference, current)
    assert report.column("x").statistic == pytest.approx(exact.statistic, abs=2e-4)
    wasserstein = loopml.drift_report(pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}))
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert wasserstein.column("x").statistic == pytest.approx(expected, rel=1e-3)


def test_overrides_per_column_and_dataset_verdict(small):
    reference, current = small
    report = loopml.drift_report(
        reference, current, methods={"x": "wasserstein"}, thresholds={"x": 10.0, "city": 1.0}
    )
    assert report.column("x").method == "wasserstein"
    assert report.column("x").threshold == 10.0 and not report.column("x").drifted
    assert report.column("city").drifted  # any p-value is below 1.0
    data = report.to_dict()
    assert set(data["columns"][0]) == {
        "name",
        "kind",
        "method",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
    }
    assert data["share_drifted"] == pytest.approx(
        sum(c["drifted"] for c in data["columns"]) / len(data["columns"])
    )
    assert data["drifted"] == (data["share_drifted"] >= 0.5)


def test_unknown_method_is_refused_with_the_choices(small):
    reference, current = small
    with pytest.raises(loopml.InvalidInput, match="jensenshannon"):
        loopml.drift_report(reference, current, methods={"x": "kl"})


def test_chunked_thresholds_adapt_to_each_columns_variability():
    rng = np.random.default_rng(5)
    n = 20_000
    # "noisy" wanders over time in the reference, "steady" does not.
    noisy = rng.normal(0, 1, n) + np.repeat(rng.normal(0, 0.5, 10), n // 10)
    reference = pd.DataFrame({"noisy": noisy, "steady": rng.normal(0, 1, n)})
    report = loopml.drift_report(reference, reference.iloc[:2000], chunks=10)
    noisy_bound, steady_bound = report.column("noisy").threshold, report.column("steady").threshold
    assert noisy_bound > 2 * steady_bound
    shifted = pd.DataFrame({"noisy": rng.normal(0.3, 1, 2000), "steady": rng.normal(0.3, 1, 2000)})
    verdicts = loopml.drift_report(reference, shifted, chunks=10)
    assert verdicts.column("steady").drifted
    assert not verdicts.column("noisy").drifted
