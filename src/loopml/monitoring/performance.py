"""Live performance from labelled predictions, estimated performance before labels, error drift.

Labels arrive late and partially: every window reports its label coverage, and
the metrics of ``loopml.metrics`` (the same as at training) are computed on
the labelled rows only. For probabilistic binary classifiers, performance is
estimated from the scores alone (the idea behind NannyML's CBPE: a calibrated
score p is right with probability max(p, 1-p)).
Once labels flow, river's ADWIN or Page–Hinkley watches the error stream for a
change in the concept.

A window judges one version: the rows the version now serving the segment
answered (``judged_rows``), so a window that spans a promotion does not blame the
new version for the old one's errors. Its threshold fits the segment
(``threshold_for``): a number for all (``absolute``), a multiple of the serving
version's own backtest error (``backtest``), or the spread of the segment's own
recent windows of that version (``windows``: mean ± ``sigmas`` standard deviations,
as NannyML's chunk thresholds), taken ``season`` windows apart for seasonal data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopml import metrics
from loopml.errors import InvalidInput


@dataclass(frozen=True)
class WindowPerformance:
    segment: str
    rows: int
    labelled: int
    metrics: dict[str, float] = field(default_factory=dict)
    version: int | None = None  # the one version that answered the rows, if one did

    @property
    def label_coverage(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class Threshold:
    value: float | None  # None: not known yet (no verdict)
    basis: str  # how it was found, for the alert's message


MIN_REFERENCE_WINDOWS = 4  # fewer of a segment's own windows give no spread to trust


def serving_versions(store, model: str) -> dict[str, int]:
    """Segment key -> the version the champion alias points at (what serving answers with)."""
    from loopml.registry import service as registry

    return {
        key: version
        for name, key, version in registry.models_with_alias(store, "champion")
        if name == model
    }


def judged_rows(table: pa.Table, serving: dict[str, int]) -> pa.Table:
    """The rows answered by the version that serves their segment now (all rows of a
    segment without a champion)."""
    if not serving or table.num_rows == 0 or "version" not in table.column_names:
        return table
    segments = (
        table["segment"] if "segment" in table.column_names else pa.repeat("", table.num_rows)
    )
    codes = pa.chunked_array(segments).combine_chunks().dictionary_encode()
    wanted = np.array([serving.get(s, -1) for s in codes.dictionary.to_pylist()], dtype=np.int64)
    expected = wanted[codes.indices.to_numpy(zero_copy_only=False)]
    answered = pc.fill_null(table["version"], -2).to_numpy(zero_copy_only=False)
    return table.filter(pa.array((expected == -1) | (answered == expected)))


def threshold_for(spec, version, past: list[float]) -> Threshold:
    """The threshold of one segment's window. ``version`` is the serving version (or None);
    ``past`` the metric values of the segment's earlier windows of that version, newest first."""
    lower = metrics.lower_is_better(spec.metric)
    if spec.threshold_from == "absolute":
        return Threshold(spec.threshold, f"{spec.threshold:g} for every segment")
    expected = (version.metrics or {}).get(spec.metric) if version is not None else None
    if spec.threshold_from == "windows":
        season = spec.season or 1
        usual = [v for v in past[season - 1 :: season] if v is not None and math.isfinite(v)]
        usual = usual[: spec.reference_windows]
        if len(usual) >= MIN_REFERENCE_WINDOWS:
            mean, spread = float(np.mean(usual)), float(np.std(usual, ddof=1))
            value = mean + spec.sigmas * spread if lower else mean - spec.sigmas * spread
            apart = f", {season} windows apart" if season > 1 else ""
            return Threshold(
                value,
                f"mean {mean:.4g} {'+' if lower else '-'} {spec.sigmas:g} × "
                f"sd {spread:.4g} of its last {len(usual)} windows{apart}",
            )
        if expected is None:
            return Threshold(
                None,
                f"{len(usual)} of {MIN_REFERENCE_WINDOWS} windows of its own "
                "to learn its usual error, and no backtest error",
            )
    if expected is None or not math.isfinite(expected):
        return Threshold(None, f"the serving version logged no backtest {spec.metric}")
    value = expected * spec.factor if lower else expected / spec.factor
    return Threshold(value, f"{spec.factor:g} × its backtest {spec.metric} {expected:.4g}")


def estimate_performance(proba: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Expected accuracy and ROC AUC of a calibrated binary classifier, without labels (CBPE)."""
    proba = np.asarray(proba, dtype=float)
    proba = proba[~np.isnan(proba)]
    if proba.size == 0:
        return {}
    predicted = proba >= threshold
    accuracy = float(np.mean(np.where(predicted, proba, 1 - proba)))
    # Expected ROC curve: above each cut, p counts as a true and 1 - p as a false positive.
    order = np.argsort(-proba, kind="stable")
    expected_tp = np.concatenate([[0.0], np.cumsum(proba[order])])
    expected_fp = np.concatenate([[0.0], np.cumsum(1 - proba[order])])
    if expected_tp[-1] == 0 or expected_fp[-1] == 0:
        return {"accuracy": accuracy}
    auc = float(np.trapezoid(expected_tp / expected_tp[-1], expected_fp / expected_fp[-1]))
    return {"accuracy": accuracy, "roc_auc": auc}


def window_performance(table: pa.Table, task: str, *, by_segment: bool) -> list[WindowPerformance]:
    """Metrics (``loopml.metrics``) of a joined window (predictions with ``label``); a
    regression's metrics for all segments at once, from one grouping of the window."""
    if task not in ("regression", "classification"):
        raise InvalidInput(f"Unknown task {task!r}.", hint="Use 'regression' or 'classification'.")
    if task == "regression":  # only the columns it reads are sorted by segment
        wanted = [
            c for c in ("segment", "label", "prediction", "version") if c in table.column_names
        ]
        return _regression_windows(group_rows(table.select(wanted), by_segment))
    result = []
    for segment, rows in _segments(table, by_segment):
        labelled = labelled_rows(rows)
        scores: dict[str, float] = {}
        if labelled.num_rows:
            y, predicted = labelled["label"].to_numpy(), labelled["prediction"].to_numpy()
            proba = _floats(labelled, "proba") if "proba" in labelled.column_names else None
            scores = metrics.classification(y, predicted, proba)
        result.append(
            WindowPerformance(segment, rows.num_rows, labelled.num_rows, scores, _version(rows))
        )
    return result


def _regression_windows(grouped: GroupedRows) -> list[WindowPerformance]:
    rows, count = grouped.rows, len(grouped.names)
    groups = grouped.group_ids()
    if "label" in rows.column_names and rows.num_rows:
        usable = pc.and_(pc.is_valid(rows["label"]), pc.is_valid(rows["prediction"]))
        usable = usable.to_numpy(zero_copy_only=False)
    else:
        usable = np.zeros(rows.num_rows, dtype=bool)
    labelled = np.bincount(groups[usable], minlength=count)
    scores: dict[str, np.ndarray] = {}
    if usable.any():
        joined = labelled_rows(rows)
        scores = metrics.regression_groups(
            _floats(joined, "label"), _floats(joined, "prediction"), groups[usable], count
        )
    versions = _versions(rows, grouped.bounds)
    return [
        WindowPerformance(
            name,
            int(grouped.bounds[i + 1] - grouped.bounds[i]),
            int(labelled[i]),
            {metric: float(values[i]) for metric, values in scores.items()} if labelled[i] else {},
            versions[i],
        )
        for i, name in enumerate(grouped.names)
    ]


def _versions(rows: pa.Table, bounds: np.ndarray) -> list[int | None]:
    """``_version`` of each group of rows: the one version that answered it, if one did."""
    groups = len(bounds) - 1
    if "version" not in rows.column_names or rows.num_rows == 0:
        return [None] * groups
    version = pc.cast(rows["version"], pa.float64())
    low = pc.fill_null(version, math.inf).to_numpy(zero_copy_only=False)
    high = pc.fill_null(version, -math.inf).to_numpy(zero_copy_only=False)
    starts = bounds[:-1]
    lowest, highest = np.minimum.reduceat(low, starts), np.maximum.reduceat(high, starts)
    return [
        int(a) if a == b and math.isfinite(a) else None
        for a, b in zip(lowest.tolist(), highest.tolist(), strict=True)
    ]


def labelled_rows(rows: pa.Table) -> pa.Table:
    """The rows that have both a label and a prediction."""
    if "label" not in rows.column_names:
        return rows.slice(0, 0)
    return rows.filter(pc.and_(pc.is_valid(rows["label"]), pc.is_valid(rows["prediction"])))


def estimated_window_performance(table: pa.Table, *, by_segment: bool) -> list[WindowPerformance]:
    result = []
    for segment, rows in _segments(table, by_segment):
        proba = _floats(rows, "proba") if "proba" in rows.column_names else np.empty(0)
        result.append(WindowPerformance(segment, rows.num_rows, 0, estimate_performance(proba)))
    return result


def detect_error_drift(errors: np.ndarray, detector: str = "adwin") -> list[int]:
    """Positions in the error stream where the detector found a change."""
    from river import drift

    if detector == "adwin":
        watcher = drift.ADWIN()
    elif detector == "page_hinkley":
        watcher = drift.PageHinkley()
    else:
        raise InvalidInput(f"Unknown detector {detector!r}.", hint="Use 'adwin' or 'page_hinkley'.")
    changes = []
    for position, error in enumerate(np.asarray(errors, dtype=float)):
        if math.isnan(error):
            continue
        watcher.update(float(error))
        if watcher.drift_detected:
            changes.append(position)
    return changes


def _segments(table: pa.Table, by_segment: bool):
    """(segment, rows) pairs: one pass of grouping, not one filter per segment."""
    grouped = group_rows(table, by_segment)
    for name, start, stop in zip(grouped.names, grouped.bounds, grouped.bounds[1:], strict=False):
        yield name, grouped.rows.slice(start, stop - start)


@dataclass(frozen=True)
class GroupedRows:
    """A window's rows ordered by segment: segment ``names[i]`` is ``rows[bounds[i]:bounds[i+1]]``
    (every segment with at least one row, in the order of first appearance's dictionary)."""

    names: list[str]
    rows: pa.Table
    bounds: np.ndarray  # len(names) + 1 offsets

    def group_ids(self) -> np.ndarray:
        """The position in ``names`` of each row's segment."""
        return np.repeat(np.arange(len(self.names)), np.diff(self.bounds))


def group_rows(table: pa.Table, by_segment: bool) -> GroupedRows:
    """The rows sorted by segment in one stable sort (one group, "", without segments)."""
    if not by_segment or "segment" not in table.column_names:
        return GroupedRows([""], table, np.array([0, table.num_rows]))
    codes = table["segment"].combine_chunks().dictionary_encode()
    indices = codes.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(indices, kind="stable")
    bounds = np.searchsorted(indices[order], np.arange(len(codes.dictionary) + 1))
    present = np.flatnonzero(np.diff(bounds) > 0)
    names = codes.dictionary.to_pylist()
    return GroupedRows(
        [names[code] for code in present],
        table.take(pa.array(order)),
        np.append(bounds[present], bounds[-1]),
    )


def _version(rows: pa.Table) -> int | None:
    if "version" not in rows.column_names or rows.num_rows == 0:
        return None
    versions = pc.unique(rows["version"].drop_null()).to_pylist()
    return int(versions[0]) if len(versions) == 1 else None


def _floats(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table[name].cast(pa.float64()), math.nan).to_numpy()
