"""Live performance from labelled predictions, estimated performance before labels, error drift.

Labels arrive late and partially: every window reports its label coverage, and
metrics are computed on the labelled rows only. For probabilistic binary
classifiers, performance is estimated from the scores alone (the idea behind
NannyML's CBPE: a calibrated score p is right with probability max(p, 1-p)).
Once labels flow, river's ADWIN or Page–Hinkley watches the error stream for a
change in the concept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from loopml.errors import InvalidInput

REGRESSION_METRICS = ("mae", "mape", "rmse")
CLASSIFICATION_METRICS = ("accuracy", "f1", "roc_auc", "calibration_error")
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class WindowPerformance:
    segment: str
    rows: int
    labelled: int
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def label_coverage(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    error = predicted - y
    nonzero = y != 0
    return {
        "mae": float(np.mean(np.abs(error))),
        # MAPE skips zero labels, where the percentage is undefined.
        "mape": float(np.mean(np.abs(error[nonzero] / y[nonzero]))) if nonzero.any() else math.nan,
        "rmse": float(np.sqrt(np.mean(error**2))),
    }


def classification_metrics(
    y: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None = None
) -> dict[str, float]:
    metrics = {"accuracy": float(np.mean(y == predicted)), "f1": _f1(y, predicted)}
    binary = set(np.unique(y)) <= {0.0, 1.0}
    if proba is not None and binary and not np.isnan(proba).any():
        metrics["roc_auc"] = roc_auc(y, proba)
        metrics["calibration_error"] = calibration_error(y, proba)
    return metrics


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the Mann–Whitney U of the scores, with ties at half."""
    from scipy.stats import rankdata

    positives = y == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calibration_error(y: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: |mean score - positive rate| over equal-width bins, weighted."""
    slot = np.minimum((proba * bins).astype(int), bins - 1)
    np.bincount(slot, minlength=bins)
    score = np.bincount(slot, weights=proba, minlength=bins)
    positive = np.bincount(slot, weights=y, minlength=bins)
    return float(np.sum(np.abs(score - positive)) / len(y))


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
    """Metrics of a joined window (predictions with ``label``), overall or per segment."""
    if task not in ("regression", "classification"):
        raise InvalidInput(f"Unknown task {task!r}.", hint="Use 'regression' or 'classification'.")
    result = []
    for segment, rows in _segments(table, by_segment):
        label = _floats(rows, "label")
        labelled = ~np.isnan(label)
        prediction = _floats(rows, "prediction")[labelled]
        metrics: dict[str, float] = {}
        if labelled.any():
            y = label[labelled]
            if task == "regression":
                metrics = regression_metrics(y, prediction)
            else:
                proba = _floats(rows, "proba")[labelled] if "proba" in rows.column_names else None
                metrics = classification_metrics(y, prediction, proba)
        result.append(WindowPerformance(segment, rows.num_rows, int(labelled.sum()), metrics))
    return result


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
    if not by_segment or "segment" not in table.column_names:
        yield "", table
        return
    codes = table["segment"].combine_chunks().dictionary_encode()
    indices = codes.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(indices, kind="stable")
    bounds = np.searchsorted(indices[order], np.arange(len(codes.dictionary) + 1))
    ordered = table.take(pa.array(order))
    for code, name in enumerate(codes.dictionary.to_pylist()):
        start, stop = bounds[code], bounds[code + 1]
        if stop > start:
            yield name, ordered.slice(start, stop - start)


def _floats(table: pa.Table, name: str) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.fill_null(table[name].cast(pa.float64()), math.nan).to_numpy()


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of the positive class for binary labels, macro-averaged otherwise."""
    classes = np.unique(np.concatenate([y, predicted]))
    targets = [1.0] if set(classes) <= {0.0, 1.0} else list(classes)
    scores = []
    for target in targets:
        tp = np.sum((predicted == target) & (y == target))
        fp = np.sum((predicted == target) & (y != target))
        fn = np.sum((predicted != target) & (y == target))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))
