"""Metrics of a trained segment, by task. Plain numpy: they run in every worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "regression": ("mae", "rmse", "mape", "wape", "r2"),
    "classification": ("accuracy", "f1", "roc_auc", "log_loss"),
    "forecast": ("mae", "rmse", "mape", "wape"),
}
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "regression": ("mae", "rmse", "r2"),
    "classification": ("accuracy", "f1"),
    "forecast": ("mae", "mape", "wape"),
}


def mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def mape(y: np.ndarray, p: np.ndarray) -> float:
    """Mean absolute percentage error over the rows whose actual value is not zero."""
    nonzero = y != 0
    if not nonzero.any():
        return float("nan")
    return float(np.mean(np.abs((y[nonzero] - p[nonzero]) / y[nonzero])))


def wape(y: np.ndarray, p: np.ndarray) -> float:
    """Weighted absolute percentage error: total absolute error over total actuals.
    Unlike MAPE it stays meaningful when some periods sell nothing."""
    total = np.sum(np.abs(y))
    return float(np.sum(np.abs(y - p)) / total) if total else float("nan")


def r2(y: np.ndarray, p: np.ndarray) -> float:
    spread = np.sum((y - np.mean(y)) ** 2)
    return float(1 - np.sum((y - p) ** 2) / spread) if spread else float("nan")


_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": mae,
    "rmse": rmse,
    "mape": mape,
    "wape": wape,
    "r2": r2,
}


def score(task: str, names: list[str], model: Any, X, y) -> dict[str, float]:
    """The named metrics of ``model`` on ``X``, ``y``."""
    y = np.asarray(y)
    if task in ("regression", "forecast"):
        predicted = np.asarray(model.predict(X), dtype=float)
        actual = y.astype(float)
        return {name: _REGRESSION[name](actual, predicted) for name in names}
    return _classification(names, model, X, y)


def _classification(names: list[str], model: Any, X, y: np.ndarray) -> dict[str, float]:
    from sklearn import metrics

    predicted = model.predict(X)
    out: dict[str, float] = {}
    for name in names:
        if name == "accuracy":
            out[name] = float(metrics.accuracy_score(y, predicted))
        elif name == "f1":
            out[name] = float(metrics.f1_score(y, predicted, average="macro", zero_division=0))
        elif name in ("roc_auc", "log_loss"):
            out[name] = _probabilistic(name, model, X, y)
    return out


def _probabilistic(name: str, model: Any, X, y: np.ndarray) -> float:
    from sklearn import metrics

    if not hasattr(model, "predict_proba") or len(np.unique(y)) < 2:
        return float("nan")
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    if name == "log_loss":
        return float(metrics.log_loss(y, proba, labels=classes))
    if len(classes) == 2:
        return float(metrics.roc_auc_score(y, proba[:, 1]))
    return float(metrics.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
