"""Every metric loopml computes, defined once: training, gates, retrains and monitors use these.

Regression (``y`` and ``p`` numbers):

- ``mae``, ``rmse``: mean absolute error, root mean squared error;
- ``mape``: mean absolute percentage error over the rows whose actual is not zero;
- ``wape``: total absolute error over total absolute actuals (meaningful when some
  periods sell nothing);
- ``r2``: coefficient of determination.

Classification (classes may be numbers, booleans or text; see ``as_classes``):

- ``accuracy``: share of rows predicted right;
- ``f1``: the **macro** average of each class's F1 over the classes seen in labels
  or predictions, for two classes as for many, so a model has one F1 whatever its
  classes are called;
- ``roc_auc``: for two classes, of the second in sorted order (scikit-learn's
  ``classes_[1]``, whose probability serving logs); for more, one-vs-rest,
  macro-averaged;
- ``log_loss``: cross-entropy of the predicted probabilities;
- ``calibration_error``: for two classes, the expected calibration error of the
  positive class's probability over ``CALIBRATION_BINS`` equal-width bins.

A metric that cannot be computed (no probabilities, one class only) is NaN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Metric:
    name: str
    task: str  # "regression" or "classification"
    lower_is_better: bool
    needs_proba: bool = False


METRICS = {
    m.name: m
    for m in (
        Metric("mae", "regression", True),
        Metric("rmse", "regression", True),
        Metric("mape", "regression", True),
        Metric("wape", "regression", True),
        Metric("r2", "regression", False),
        Metric("accuracy", "classification", False),
        Metric("f1", "classification", False),
        Metric("roc_auc", "classification", False, needs_proba=True),
        Metric("log_loss", "classification", True, needs_proba=True),
        Metric("calibration_error", "classification", True, needs_proba=True),
    )
}
REGRESSION = tuple(n for n, m in METRICS.items() if m.task == "regression")
CLASSIFICATION = tuple(n for n, m in METRICS.items() if m.task == "classification")
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "regression": REGRESSION,
    "classification": CLASSIFICATION,
    "forecast": ("mae", "rmse", "mape", "wape"),
}
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "regression": ("mae", "rmse", "r2"),
    "classification": ("accuracy", "f1"),
    "forecast": ("mae", "mape", "wape"),
}
# Metrics a user logs under names of their own: errors and losses are better lower.
_LOWER_BY_NAME = re.compile(r"(mae|mse|rmse|mape|wape|loss|error|brier)", re.I)


def lower_is_better(name: str) -> bool:
    known = METRICS.get(name)
    return known.lower_is_better if known else bool(_LOWER_BY_NAME.search(name))


# regression ---------------------------------------------------------------


def mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def mape(y: np.ndarray, p: np.ndarray) -> float:
    nonzero = y != 0
    if not nonzero.any():
        return math.nan
    return float(np.mean(np.abs((y[nonzero] - p[nonzero]) / y[nonzero])))


def wape(y: np.ndarray, p: np.ndarray) -> float:
    total = np.sum(np.abs(y))
    return float(np.sum(np.abs(y - p)) / total) if total else math.nan


def r2(y: np.ndarray, p: np.ndarray) -> float:
    spread = np.sum((y - np.mean(y)) ** 2)
    return float(1 - np.sum((y - p) ** 2) / spread) if spread else math.nan


_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": mae,
    "rmse": rmse,
    "mape": mape,
    "wape": wape,
    "r2": r2,
}


def regression(y, p, names: Iterable[str] = REGRESSION) -> dict[str, float]:
    """The named regression metrics of predictions ``p`` against actuals ``y``."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    return {name: _REGRESSION[name](y, p) for name in names}


def regression_groups(
    y, p, groups: np.ndarray, count: int, names: Iterable[str] = REGRESSION
) -> dict[str, np.ndarray]:
    """The named regression metrics of each of ``count`` groups of rows at once (``groups``:
    each row's group), the same numbers ``regression`` gives each group's rows (NaN for
    a group without rows)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    groups = np.asarray(groups, dtype=np.int64)

    def total(values: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        if where is None:
            return np.bincount(groups, weights=values, minlength=count)
        return np.bincount(groups[where], weights=values[where], minlength=count)

    rows = np.bincount(groups, minlength=count).astype(float)
    error = y - p
    with np.errstate(invalid="ignore", divide="ignore"):
        nonzero = y != 0
        mean_y = total(y) / rows
        spread = total(np.square(y - mean_y[groups]))
        squared = total(np.square(error))
        found = {
            "mae": total(np.abs(error)) / rows,
            "rmse": np.sqrt(squared / rows),
            "mape": total(np.abs(error / np.where(nonzero, y, 1.0)), nonzero)
            / np.bincount(groups[nonzero], minlength=count),
            "wape": total(np.abs(error))
            / np.where(total(np.abs(y)) != 0, total(np.abs(y)), np.nan),
            "r2": 1 - squared / np.where(spread != 0, spread, np.nan),
        }
    return {name: found[name] for name in names}


# classification -----------------------------------------------------------


def as_classes(*arrays) -> tuple[np.ndarray, ...]:
    """The arrays on one footing: numbers if every value is one (booleans, ints, "1"), else text.

    The prediction log keeps numeric classes as numbers and text classes as
    text, and a label may come back as ``True``, ``1`` or ``"1"``: all compare
    equal here.
    """
    try:
        return tuple(np.asarray(a, dtype=float) for a in arrays)
    except (TypeError, ValueError):
        return tuple(np.asarray([str(v) for v in a], dtype=object) for a in arrays)


def classification(
    y,
    predicted,
    proba=None,
    *,
    classes=None,
    names: Iterable[str] = CLASSIFICATION,
) -> dict[str, float]:
    """The named classification metrics.

    ``proba`` is either the probability of the positive class of a binary model
    (1-D: serving's log) or one column per class in the order of ``classes``
    (2-D: ``predict_proba``).
    """
    if classes is None:
        y, predicted = as_classes(y, predicted)
    else:
        y, predicted, classes = as_classes(y, predicted, classes)
    names = list(names)
    scores: dict[str, float] = {}
    if "accuracy" in names:
        scores["accuracy"] = float(np.mean(y == predicted)) if len(y) else math.nan
    if "f1" in names:
        scores["f1"] = f1_macro(y, predicted)
    wanted = [n for n in names if n in METRICS and METRICS[n].needs_proba]
    if wanted:
        matrix, labels = _probabilities(y, predicted, proba, classes)
        for name in wanted:
            scores[name] = _PROBABILISTIC[name](y, matrix, labels)
    return scores


def f1_macro(y: np.ndarray, predicted: np.ndarray) -> float:
    """The mean over the classes in ``y`` or ``predicted`` of each class's F1 (0 where undefined)."""
    classes = np.unique(np.concatenate([y, predicted]))
    if not len(classes):
        return math.nan
    scores = []
    for target in classes:
        tp = np.sum((predicted == target) & (y == target))
        wrong = np.sum((predicted == target) != (y == target))  # false positives + negatives
        scores.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(scores))


def errors(task: str, y, p) -> np.ndarray:
    """One error per row: absolute error for regression, 1.0 for a wrong class."""
    if task == "classification":
        y, p = as_classes(y, p)
        return (y != p).astype(float)
    return np.abs(np.asarray(p, dtype=float) - np.asarray(y, dtype=float))


def losses(name: str, y, p) -> np.ndarray:
    """One loss per row whose mean is the metric (``mae``, ``mape``) or its square (``rmse``):
    the numbers a paired comparison of two models on the same rows works with. For ``mape``,
    rows whose actual is zero have no loss (NaN), as they count in no MAPE."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if name == "mae":
        return np.abs(y - p)
    if name == "rmse":
        return (y - p) ** 2
    if name == "mape":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y != 0, np.abs((y - p) / y), np.nan)
    raise ValueError(f"{name!r} has no loss per row; use mae, rmse or mape")


def evaluate(task: str, names: Iterable[str], model: Any, X, y) -> dict[str, float]:
    """The named metrics of a fitted ``model`` on ``X``, ``y`` (training's holdout score)."""
    names = list(names)
    if task in ("regression", "forecast"):
        return regression(y, model.predict(X), names)
    proba = classes = None
    needs = any(METRICS[n].needs_proba for n in names if n in METRICS)
    if needs and hasattr(model, "predict_proba"):
        proba, classes = model.predict_proba(X), list(model.classes_)
    return classification(y, model.predict(X), proba, classes=classes, names=names)


def _probabilities(y, predicted, proba, classes):
    """(matrix with one column per class, the classes) or (None, None) without probabilities."""
    if proba is None:
        return None, None
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 2:
        return proba, classes
    labels = np.unique(np.concatenate([y, predicted]))
    if len(labels) != 2 or np.isnan(proba).any():
        return None, None
    return np.column_stack([1 - proba, proba]), labels


def _roc_auc(y, matrix, labels) -> float:
    from sklearn.metrics import roc_auc_score

    if matrix is None or len(np.unique(y)) < 2:
        return math.nan
    if matrix.shape[1] == 2:
        return float(roc_auc_score(y == labels[1], matrix[:, 1]))
    return float(roc_auc_score(y, matrix, multi_class="ovr", labels=list(labels)))


def _log_loss(y, matrix, labels) -> float:
    from sklearn.metrics import log_loss

    if matrix is None or len(np.unique(y)) < 2:
        return math.nan
    return float(log_loss(y, matrix, labels=list(labels)))


def _calibration_error(y, matrix, labels) -> float:
    if matrix is None or matrix.shape[1] != 2 or not len(y):
        return math.nan
    proba, positive = matrix[:, 1], (y == labels[1]).astype(float)
    slot = np.minimum((proba * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    score = np.bincount(slot, weights=proba, minlength=CALIBRATION_BINS)
    hits = np.bincount(slot, weights=positive, minlength=CALIBRATION_BINS)
    return float(np.sum(np.abs(score - hits)) / len(y))


_PROBABILISTIC = {
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "calibration_error": _calibration_error,
}
