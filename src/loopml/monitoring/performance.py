"""Live performance from labelled predictions, estimated performance before labels, error drift.

Labels arrive late and partially: every window reports its label coverage, and
the metrics of ``loopml.metrics`` (the same as at training) are computed on
the labelled rows only. For probabilistic binary classifiers, performance is
estimated from the scores alone (the idea behind NannyML's CBPE: a calibrated
score p is right with probability max(p, 1-p)).
Once labels flow, river's ADWIN or Page–Hinkley watches the error stream for a
change in the concept.
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

    @property
    def label_coverage(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0


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
    """Metrics (``loopml.metrics``) of a joined window (predictions with ``label``)."""
    if task not in ("regression", "classification"):
        raise InvalidInput(f"Unknown task {task!r}.", hint="Use 'regression' or 'classification'.")
    result = []
    for segment, rows in _segments(table, by_segment):
        labelled = labelled_rows(rows)
        scores: dict[str, float] = {}
        if labelled.num_rows:
            y, predicted = labelled["label"].to_numpy(), labelled["prediction"].to_numpy()
            if task == "regression":
                scores = metrics.regression(y, predicted)
            else:
                proba = _floats(labelled, "proba") if "proba" in labelled.column_names else None
                scores = metrics.classification(y, predicted, proba)
        result.append(WindowPerformance(segment, rows.num_rows, labelled.num_rows, scores))
    return result


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
    return pc.fill_null(table[name].cast(pa.float64()), math.nan).to_numpy()
