"""Group fairness of a live window of predictions, for the ``fairness`` monitor.

Labels come late and partially, so each across-group metric is measured on the
rows it can be: the demographic parity of a classifier on every scored row (it
needs only the predictions); the equalized odds of a classifier and the error
ratio or difference of a regressor on the labelled rows alone. Each result names
the rows per group it rests on, so a monitor can wait for enough of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.errors import InvalidInput
from loopml.explain import fairness

CLASSIFICATION = fairness.CLASSIFICATION_SUMMARY
REGRESSION = fairness.REGRESSION_SUMMARY
METRICS = (*CLASSIFICATION, *REGRESSION)


def higher_is_fairer(metric: str) -> bool:
    """Ratios (smallest group over largest) are fairer near 1; differences near 0."""
    return metric.endswith("_ratio")


def needs_labels(metric: str) -> bool:
    return not metric.startswith("demographic_parity")


def task_of(metric: str) -> str:
    if metric not in METRICS:
        raise InvalidInput(
            f"Unknown fairness metric {metric!r}.", hint=f"Use one of: {', '.join(METRICS)}."
        )
    return "classification" if metric in CLASSIFICATION else "regression"


@dataclass(frozen=True)
class WindowFairness:
    metric: str
    value: float
    rows: int  # the rows the metric was measured on
    groups: dict[str, dict[str, float]]  # group -> its rows and per-group metrics

    @property
    def smallest_group(self) -> tuple[str, int]:
        group = min(self.groups, key=lambda g: self.groups[g]["rows"])
        return group, int(self.groups[group]["rows"])


def window_fairness(
    metric: str, predicted: np.ndarray, actual: np.ndarray, groups: Any, positive: Any = None
) -> WindowFairness | None:
    """``metric`` across the groups of a window; None if no row can be measured.

    ``actual`` is NaN (or None) where no label came yet; ``positive`` is the class a
    classifier selects (1 by default)."""
    task = task_of(metric)
    predicted, actual = np.asarray(predicted, dtype=object), np.asarray(actual, dtype=object)
    groups = fairness._groups(groups)
    keep = _known(predicted)
    if needs_labels(metric):
        keep &= _known(actual)
    if not keep.any():
        return None
    predicted, actual, groups = predicted[keep], actual[keep], groups[keep]
    if task == "regression":
        _, by_group, summary = fairness._regression(
            actual.astype(np.float64), predicted.astype(np.float64), groups
        )
        return WindowFairness(metric, summary[metric], int(keep.sum()), by_group)
    positive = 1.0 if positive is None else positive
    chosen = np.asarray([_same(p, positive) for p in predicted], dtype=int)
    if needs_labels(metric):
        truth = np.asarray([_same(a, positive) for a in actual], dtype=int)
        _, by_group, summary = fairness._classification(truth, chosen, groups)
    else:
        by_group, summary = _selection(chosen, groups)
    return WindowFairness(metric, summary[metric], int(keep.sum()), by_group)


def _selection(chosen: np.ndarray, groups: np.ndarray) -> tuple[dict, dict[str, float]]:
    """Selection rate per group from the predictions alone (MetricFrame wants y_true: the
    selection rate does not read it)."""
    fm = fairness.fairlearn_metrics()
    frame = fairness._metric_frame({"selection_rate": fm.selection_rate}, chosen, chosen, groups)
    summary = {
        "demographic_parity_difference": float(frame.difference()["selection_rate"]),
        "demographic_parity_ratio": float(frame.ratio()["selection_rate"]),
    }
    return fairness._by_group(frame), summary


def _known(values: np.ndarray) -> np.ndarray:
    return np.asarray([v is not None and v == v for v in values], dtype=bool)


def _same(value: Any, positive: Any) -> bool:
    """The log keeps numeric classes as numbers and text classes as text."""
    if isinstance(value, str) or isinstance(positive, str):
        return str(value) == str(positive)
    return float(value) == float(positive)
