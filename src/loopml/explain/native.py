"""LightGBM and XGBoost explain themselves: their exact tree contributions (``pred_contrib``).

The boosters compute TreeSHAP in their own C++ at about the cost of a prediction,
where shap's TreeExplainer costs hundreds of times more. The contributions add up
to the raw score: the prediction of a regressor, the log-odds of a classifier.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.explain.explanation import Explanation, pick_class
from loopml.explain.inputs import with_categories

FEW_ROWS = 1_000


def lightgbm_booster(native: Any) -> Any | None:
    import lightgbm

    if isinstance(native, lightgbm.Booster):
        return native
    for name in ("booster_", "booster"):
        booster = getattr(native, name, None)
        if isinstance(booster, lightgbm.Booster):
            return booster
    return None


def xgboost_booster(native: Any) -> Any | None:
    import xgboost

    if isinstance(native, xgboost.Booster):
        return native
    getter = getattr(native, "get_booster", None)
    return getter() if callable(getter) else None


def explain_lightgbm(booster: Any, rows: Any, features: list[str], classes) -> Explanation:
    if not isinstance(rows, np.ndarray):
        rows = with_categories(rows)
    # LightGBM splits rows among threads: a few rows gain nothing from a team of them,
    # and on a busy machine waiting for one costs far more than the arithmetic.
    threads = {"num_threads": 1} if len(rows) < FEW_ROWS else {}
    raw = np.asarray(booster.predict(rows, pred_contrib=True, **threads))
    width = len(features) + 1
    per_class = raw.shape[1] // width
    return _explanation(raw.reshape(len(raw), per_class, width), features, classes, "lightgbm")


def explain_xgboost(booster: Any, rows: Any, features: list[str], classes) -> Explanation:
    import xgboost

    threads = {"nthread": 1} if len(rows) < FEW_ROWS else {}
    if isinstance(rows, np.ndarray):
        matrix = xgboost.DMatrix(rows, feature_names=booster.feature_names, **threads)
    else:
        matrix = xgboost.DMatrix(with_categories(rows), enable_categorical=True, **threads)
    # XGBoost computes in float32; summed in float64, the error is its own rounding alone.
    raw = np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float64)
    if raw.ndim == 2:
        raw = raw[:, None, :]
    return _explanation(raw, features, classes, "xgboost")


def _explanation(raw: np.ndarray, features: list[str], classes, library: str) -> Explanation:
    """``raw`` is (rows, outputs, features + 1), the bias last."""
    values, base = raw[:, :, :-1], raw[:, :, -1]
    method = f"{library} pred_contrib (exact TreeSHAP)"
    if raw.shape[1] > 1:
        values, base, chosen = pick_class(values.transpose(0, 2, 1), base, np.asarray(classes))
        return Explanation(
            tuple(features), values, base, "raw margin of the predicted class", method, chosen
        )
    output = "prediction" if classes is None else f"log-odds of class {_name(classes[-1])}"
    return Explanation(tuple(features), values[:, 0, :], base[:, 0], output, method)


def _name(value: Any) -> str:
    return str(value.item() if isinstance(value, np.generic) else value)
