"""KS on tied columns of real tables agrees with scipy beyond the sketch size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats
from sklearn.datasets import load_diabetes, load_digits, load_wine

import loopml
from loopml.data.profile import quantiles
from loopml.data.summary import SKETCH_SIZE, merge, summarize

TOL = 1e-12


def _halves(frame: pd.DataFrame, rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two random parts (3:2) of ``rows`` rows resampled from a real table."""
    big = frame.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(rows)
    cut = rows * 3 // 5
    return big.iloc[order[:cut]], big.iloc[order[cut:]]


@pytest.mark.parametrize("loader", [load_digits, load_diabetes, load_wine])
def test_ks_on_tied_real_columns_is_scipys_beyond_the_sketch(loader):
    frame = loader(as_frame=True).frame
    columns = [c for c in frame.columns if frame[c].nunique() > 1]
    flagged = 0
    for seed in range(3):
        reference, current = _halves(frame, 25 * SKETCH_SIZE + 1, seed)
        report = loopml.drift_report(reference, current, methods=dict.fromkeys(columns, "ks"))
        for name in columns:
            expected = stats.ks_2samp(reference[name], current[name])
            column = report.column(name)
            assert column.statistic == pytest.approx(expected.statistic, abs=TOL), name
            assert column.p_value == pytest.approx(expected.pvalue, abs=1e-9), name
            assert column.drifted == (expected.pvalue < 0.05)
            flagged += column.drifted
        assert not report.drifted  # two halves of one table
    assert flagged <= 0.1 * 3 * len(columns)  # about the 5% a 0.05 test flags by chance


def test_ks_sketch_keeps_a_tied_value_exact_among_many_distinct_ones():
    # Beyond SKETCH_SIZE distinct values the sketch compresses; a value repeated in
    # many rows must still be one exact point, not a float mean beside it.
    rng = np.random.default_rng(5)

    def sample(rows: int) -> np.ndarray:
        return np.where(rng.random(rows) < 0.4, 0.1, rng.normal(0, 1, rows))

    reference, current = sample(150_000), sample(100_001)
    report = loopml.drift_report(
        pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), methods={"x": "ks"}
    )
    expected = stats.ks_2samp(reference, current)
    assert report.column("x").statistic == pytest.approx(expected.statistic, abs=2 / SKETCH_SIZE)
    assert report.column("x").p_value == pytest.approx(expected.pvalue, abs=0.05)
    assert not report.column("x").drifted


def test_tied_columns_merge_exactly_and_quantiles_are_numpys():
    pixels = load_digits().data.ravel()  # 0..16, 115,008 values
    half = pixels.size // 2
    whole = summarize(pa.table({"p": pixels}))
    merged = merge(
        summarize(pa.table({"p": pixels[:half]})), summarize(pa.table({"p": pixels[half:]}))
    )
    for summary in (whole.columns["p"], merged.columns["p"]):
        assert summary.exact and summary.values.tolist() == list(np.unique(pixels))
        assert summary.weights.tolist() == np.bincount(pixels.astype(int)).tolist()
        got = quantiles(summary)
        for q, value in got.items():
            assert value == pytest.approx(np.quantile(pixels, float(q)), abs=TOL)


def test_wasserstein_on_tied_columns_is_scipys_beyond_the_sketch():
    frame = load_digits(as_frame=True).frame
    reference, current = _halves(frame, 25 * SKETCH_SIZE + 1, 3)
    columns = ["pixel_2_3", "pixel_4_5", "pixel_5_2"]
    report = loopml.drift_report(reference, current, columns=columns)
    for name in columns:
        expected = stats.wasserstein_distance(reference[name], current[name])
        assert report.column(name).method == "wasserstein"
        assert report.column(name).statistic == pytest.approx(
            expected / np.std(reference[name]), abs=TOL
        )
        assert not report.column(name).drifted
