"""A monitor's segments computed at once equal each segment computed alone, and scipy.

Real tables split into segments of uneven size (one, two and three rows among
them): tied columns (wine's magnesium, diabetes' sex), skewed ones (breast
cancer's areas), references exact, counted (more rows than the sketch holds, few
distinct values) and compressed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial import distance
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from loopml import metrics
from loopml.data.group_summary import summarize_groups
from loopml.data.summary import SKETCH_SIZE, summarize
from loopml.monitoring.drift import compare, compare_many
from loopml.monitoring.performance import group_rows, window_performance
from loopml.monitoring.stats import STD_FLOOR

TOL = 1e-12


def _frame(loader) -> pd.DataFrame:
    frame = loader(as_frame=True).frame
    return frame[[c for c in frame.columns if frame[c].nunique() > 1]]


def _segments(rows: int, seed: int) -> np.ndarray:
    """Each row's segment: tiny segments of 1, 2 and 3 rows, then uneven larger ones."""
    sizes = [1, 2, 3, 1]
    rng = np.random.default_rng(seed)
    while sum(sizes) < rows:
        sizes.append(int(rng.integers(4, 40)))
    sizes[-1] -= sum(sizes) - rows
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return rng.permutation(labels)  # segments interleaved, as rows arrive in a log


def _split(frame: pd.DataFrame, seed: int):
    """The reference half and the current half, the latter grouped into segments."""
    order = np.random.default_rng(seed).permutation(len(frame))
    reference = frame.iloc[order[: len(frame) // 2]].reset_index(drop=True)
    current = frame.iloc[order[len(frame) // 2 :]].reset_index(drop=True)
    current = current.assign(segment=[f"s={i}" for i in _segments(len(current), seed)])
    grouped = group_rows(pa.Table.from_pandas(current, preserve_index=False), by_segment=True)
    return reference, grouped


def _scipy(method: str, ref: np.ndarray, cur: np.ndarray, ref_summary) -> float:
    if method == "wasserstein":
        return stats.wasserstein_distance(ref, cur) / max(ref_summary.std, STD_FLOOR)
    cuts = ref_summary.cuts
    shares = [
        np.bincount(np.searchsorted(cuts, x, side="right"), minlength=cuts.size + 1)
        for x in (ref, cur)
    ]
    expected, actual = (s / s.sum() for s in shares)
    if method == "jensenshannon":
        return distance.jensenshannon(expected, actual)
    expected = np.where(expected == 0, 1e-4, expected)
    actual = np.where(actual == 0, 1e-4, actual)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@pytest.mark.parametrize("method", ["wasserstein", "jensenshannon", "psi"])
@pytest.mark.parametrize("loader", [load_diabetes, load_wine, load_breast_cancer])
def test_segments_at_once_equal_one_at_a_time_and_scipy(loader, method):
    frame = _frame(loader)
    reference, grouped = _split(frame, seed=3)
    columns = list(frame.columns)
    ref = summarize(pa.Table.from_pandas(reference, preserve_index=False), columns=columns)
    currents = summarize_groups(grouped.rows, grouped.bounds, ref, columns)
    methods = dict.fromkeys(columns, method)
    together = compare_many(ref, currents, columns, methods)
    drifted = 0
    for i, (current, report) in enumerate(zip(currents, together, strict=True)):
        alone = compare(ref, current, columns, methods)
        rows = grouped.rows.slice(grouped.bounds[i], grouped.bounds[i + 1] - grouped.bounds[i])
        for name in columns:
            got, expected = report.column(name), alone.column(name)
            assert got.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=TOL), name
            assert got.drifted == expected.drifted and got.threshold == expected.threshold
            raw = _scipy(
                method, reference[name].to_numpy(float), rows[name].to_numpy(), ref.columns[name]
            )
            assert got.statistic == pytest.approx(raw, rel=1e-9, abs=TOL), name
            drifted += got.drifted
        assert report.problems == alone.problems and report.drifted == alone.drifted
    if method == "wasserstein":  # segments of a few rows are far from the reference by chance
        assert drifted > 0


@pytest.mark.parametrize("rows", [25 * SKETCH_SIZE, 3 * SKETCH_SIZE])
def test_wasserstein_at_once_against_a_counted_or_compressed_reference(rows):
    # wine's magnesium has few distinct values: a big resample is a counted sketch;
    # breast cancer's mean area has hundreds: beyond SKETCH_SIZE rows of noise it compresses
    wine = load_wine(as_frame=True).frame["magnesium"].to_numpy(float)
    area = load_breast_cancer(as_frame=True).frame["mean area"].to_numpy(float)
    rng = np.random.default_rng(rows)
    for values, exact in (
        (rng.choice(wine, rows), True),
        (rng.choice(area, rows) + rng.normal(0, 1, rows), False),
    ):
        ref = summarize(pa.table({"x": values}))
        assert ref.columns["x"].weights is not None and ref.columns["x"].exact == exact
        current = rng.choice(values, 400)
        labels = _segments(current.size, rows)
        table = pa.table({"x": current, "segment": [f"s={i}" for i in labels]})
        grouped = group_rows(table, by_segment=True)
        currents = summarize_groups(grouped.rows, grouped.bounds, ref, ["x"])
        together = compare_many(ref, currents, ["x"], {"x": "wasserstein"})
        for i, (summary, report) in enumerate(zip(currents, together, strict=True)):
            part = grouped.rows["x"].to_numpy()[grouped.bounds[i] : grouped.bounds[i + 1]]
            col = ref.columns["x"]
            expected = stats.wasserstein_distance(col.values, part, col.weights) / col.std
            assert report.column("x").statistic == pytest.approx(expected, rel=1e-9, abs=TOL)
            alone = compare(ref, summary, ["x"], {"x": "wasserstein"}).column("x").statistic
            assert report.column("x").statistic == pytest.approx(alone, rel=1e-9, abs=TOL)


def test_group_summaries_are_each_groups_own():
    frame = _frame(load_diabetes)
    frame.loc[frame.index[::7], "bmi"] = np.nan  # nulls in some segments
    frame["sex"] = np.where(frame["sex"] > 0, "f", "m")  # a categorical column
    reference, grouped = _split(frame, seed=5)
    ref = summarize(pa.Table.from_pandas(reference, preserve_index=False))
    columns = list(frame.columns)
    together = summarize_groups(grouped.rows, grouped.bounds, ref, columns)
    for i, got in enumerate(together):
        rows = grouped.rows.slice(grouped.bounds[i], grouped.bounds[i + 1] - grouped.bounds[i])
        alone = summarize(rows, ref, columns)
        assert got.rows == alone.rows and got.skipped == alone.skipped
        for name in columns:
            a, b = got.columns[name], alone.columns[name]
            if b.kind == "categorical":
                assert a == b
                continue
            assert (a.count, a.nulls, a.exact) == (b.count, b.nulls, b.exact)
            assert a.values.tolist() == b.values.tolist() and a.hist.tolist() == b.hist.tolist()
            assert a.cuts.tolist() == b.cuts.tolist() and a.weights is b.weights is None
            assert np.allclose(
                [a.mean, a.m2, a.minimum, a.maximum],
                [b.mean, b.m2, b.minimum, b.maximum],
                rtol=1e-12,
                atol=TOL,
                equal_nan=True,
            )


def test_regression_metrics_of_every_segment_at_once_are_each_segments_own():
    from sklearn.linear_model import Ridge

    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target.to_numpy(float)
    predicted = Ridge().fit(X, y).predict(X)
    labels = pd.array(y, dtype="Float64")
    labels[::5] = pd.NA  # labels arrive for most rows only
    y_tied = np.round(y, -1)  # tied labels, some zero for MAPE's rule
    y_tied[:3] = 0
    segments = [f"s={i}" for i in _segments(len(y), 11)]
    version = np.where(np.arange(len(y)) % 50 == 0, 2, 1)  # a few segments answered by two
    for label in (labels, y_tied):
        table = pa.table(
            {
                "segment": segments,
                "prediction": predicted,
                "label": pa.array(label, pa.float64(), from_pandas=True),
                "version": version,
            }
        )
        windows = window_performance(table, "regression", by_segment=True)
        grouped = group_rows(table, by_segment=True)
        assert [w.segment for w in windows] == grouped.names
        for i, window in enumerate(windows):
            rows = grouped.rows.slice(grouped.bounds[i], grouped.bounds[i + 1] - grouped.bounds[i])
            frame = rows.to_pandas().dropna(subset=["label"])
            assert window.rows == rows.num_rows and window.labelled == len(frame)
            versions = set(rows["version"].to_pylist())
            assert window.version == (versions.pop() if len(versions) == 1 else None)
            if frame.empty:
                assert window.metrics == {}
                continue
            expected = metrics.regression(frame["label"], frame["prediction"])
            assert window.metrics.keys() == expected.keys()
            for name, value in expected.items():
                assert window.metrics[name] == pytest.approx(
                    value, rel=1e-9, abs=TOL, nan_ok=True
                ), name
            assert window.metrics["mae"] == pytest.approx(
                np.mean(np.abs(frame["label"] - frame["prediction"])), rel=1e-12
            )


def test_a_segment_larger_than_the_sketch_is_computed_alone_and_the_others_at_once():
    wine = load_wine(as_frame=True).frame
    rng = np.random.default_rng(8)
    big = wine.sample(3 * SKETCH_SIZE, replace=True, random_state=8)
    big = big.assign(noisy=big["proline"] + rng.normal(0, 1, len(big)))  # compresses
    small = wine.sample(300, replace=True, random_state=9)
    small = small.assign(noisy=small["proline"] + rng.normal(0, 1, len(small)))
    current = pd.concat(
        [
            big.assign(segment="s=big"),
            small.assign(segment=[f"s={i}" for i in _segments(len(small), 9)]),
        ]
    )
    reference = wine.assign(noisy=wine["proline"] + rng.normal(0, 1, len(wine)))
    columns = ["magnesium", "noisy", "alcohol"]
    ref = summarize(pa.Table.from_pandas(reference, preserve_index=False), columns=columns)
    grouped = group_rows(pa.Table.from_pandas(current, preserve_index=False), by_segment=True)
    currents = summarize_groups(grouped.rows, grouped.bounds, ref, columns)
    methods = dict.fromkeys(columns, "wasserstein")
    together = compare_many(ref, currents, columns, methods)
    largest = grouped.names.index("s=big")
    assert currents[largest].columns["magnesium"].weights is not None  # counted
    assert not currents[largest].columns["noisy"].exact  # compressed
    for i, (summary, report) in enumerate(zip(currents, together, strict=True)):
        rows = grouped.rows.slice(grouped.bounds[i], grouped.bounds[i + 1] - grouped.bounds[i])
        alone_summary = summarize(rows, ref, columns)
        alone = compare(ref, alone_summary, columns, methods)
        for name in columns:
            assert summary.columns[name].count == alone_summary.columns[name].count
            got, expected = report.column(name).statistic, alone.column(name).statistic
            assert got == pytest.approx(expected, rel=1e-9, abs=TOL), (grouped.names[i], name)
