"""Boosted trees: the arithmetic each participant runs, by bagging or by shared histograms.

Bagging (NVFLARE's tree-based XGBoost):

Each round a participant loads the global forest, grows one boosting round of
trees on its own rows (gradients of the global model's predictions, learning
rate divided among the participants as the engine's "uniform" mode does) and
sends back only those new trees, with their hessian sums masked by the
engine's own ``mask_sum_hessian``. The coordinator appends every participant's
trees (``controller.TreeBagging``), so after ``rounds`` rounds the forest holds
``rounds`` boosting rounds, each the average of one tree per participant.

A tree is arrays of split features, thresholds, child indices and leaf
weights: no row crosses, although thresholds are values of the participant's
features (as in every federated tree method; differential privacy does not
cover them).

Histograms (``strategy="histogram"``, horizontal histogram-based XGBoost):
every participant joins XGBoost's own collective and runs the same
``xgb.train``; at each split the participants' gradient histograms (and, once,
their quantile sketches) are summed over the collective, so every participant
grows the same trees the pooled rows would give, as many as the pooled model
has. NVFLARE's histogram-based executors relay those sums through the engine
but need an XGBoost built with its federated plugin, which the ``xgboost-cpu``
wheel is not (``USE_FEDERATED`` off); loopml uses the collective's ``rabit``
transport instead, so the sums travel between the participants over TCP (a ring
of partial sums), and the coordinator only hosts the tracker that introduces
them and receives the finished forest.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

DEFAULTS = {"learning_rate": 0.6, "max_depth": 3}
# One start for every participant (XGBoost would otherwise estimate it from each one's labels).
BASE_SCORE = 0.5


def params(options: dict[str, Any], participants: int = 1) -> dict[str, Any]:
    """XGBoost's training parameters for one participant of ``participants``."""
    settings = {**DEFAULTS, **{k: options[k] for k in DEFAULTS if options.get(k) is not None}}
    return {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "eta": float(settings["learning_rate"]) / participants,
        "max_depth": int(settings["max_depth"]),
        "base_score": BASE_SCORE,
        "nthread": 1,
    }


def grow(forest: bytes | None, x: np.ndarray, y: np.ndarray, settings: dict[str, Any]) -> bytes:
    """One boosting round on ``x, y`` from ``forest``; returns only the new trees, masked."""
    import xgboost as xgb
    from nvflare.app_opt.xgboost.tree_based.executor import mask_sum_hessian

    rows = xgb.DMatrix(x, label=y)
    if forest:
        booster = xgb.Booster(settings)
        booster.load_model(bytearray(forest))
        booster.update(rows, booster.num_boosted_rounds())
        booster = booster[booster.num_boosted_rounds() - 1 :]
    else:
        booster = xgb.train(settings, rows, num_boost_round=1)
    added = json.loads(bytes(booster.save_raw("json")))
    mask_sum_hessian(added)
    return json.dumps(added).encode()


def grow_together(
    x: np.ndarray, y: np.ndarray, settings: dict[str, Any], rounds: int, collective: dict
) -> bytes:
    """All ``rounds`` boosting rounds on ``x, y`` with the other participants over XGBoost's
    collective (``collective`` is its communicator's settings); returns the forest, masked."""
    import xgboost as xgb
    from nvflare.app_opt.xgboost.tree_based.executor import mask_sum_hessian

    with xgb.collective.CommunicatorContext(**collective):
        booster = xgb.train(settings, xgb.DMatrix(x, label=y), num_boost_round=rounds)
    forest = json.loads(bytes(booster.save_raw("json")))
    mask_sum_hessian(forest)  # the pooled hessian sums would tell every node's size
    return json.dumps(forest).encode()


def collective(tracker: str, member: str, timeout: int = 120) -> dict[str, Any]:
    """The communicator's settings for ``member``, given the tracker's ``host:port``."""
    host, _, port = tracker.rpartition(":")
    return {
        "dmlc_communicator": "rabit",
        "dmlc_tracker_uri": host,
        "dmlc_tracker_port": int(port),
        "dmlc_task_id": member,
        "dmlc_timeout": timeout,
    }


def predict_proba(forest: bytes | None, x: np.ndarray) -> np.ndarray:
    """The positive class's probability under ``forest`` (the base score before any tree)."""
    if not forest:
        return np.full(len(x), BASE_SCORE)
    return _booster(forest).predict(_matrix(x))


def to_estimator(forest: str | bytes, feature_names: list[str] | None = None):
    """The global forest as an ``XGBClassifier`` (saved in XGBoost's own format, no pickle)."""
    import xgboost as xgb

    booster = _booster(forest if isinstance(forest, bytes) else forest.encode())
    if feature_names is not None:
        booster.feature_names = list(feature_names)
    model = xgb.XGBClassifier(base_score=BASE_SCORE)
    model.load_model(bytearray(booster.save_raw("ubj")))
    return model


def pooled_estimator(x, y, rounds: int, options: dict[str, Any] | None = None):
    """The same trees fitted on pooled rows, with as many boosting rounds: the anchor."""
    import xgboost as xgb

    settings = params(options or {})
    return xgb.XGBClassifier(
        n_estimators=rounds,
        learning_rate=settings["eta"],
        max_depth=settings["max_depth"],
        base_score=BASE_SCORE,
        tree_method="hist",
        n_jobs=1,
    ).fit(x, y)


def _booster(forest: bytes):
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(forest))
    return booster


def _matrix(x: np.ndarray):
    import xgboost as xgb

    return xgb.DMatrix(np.asarray(x, dtype=float))
