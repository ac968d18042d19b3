"""``loopml.autolog()``: every ``fit`` of scikit-learn, LightGBM and XGBoost is tracked.

Each outermost ``fit`` (a Pipeline's inner fits are part of it) logs into the
active run, or into a run of its own started and ended around it: the
estimator's parameters, its training score, the boosters' per-iteration
evaluation results as metric histories (through the run's metric buffer, so a
point costs microseconds), the training data's fingerprint, and the fitted
model as a run artifact (registered too with ``registered_model_name``).
Logging never breaks training: a problem is logged as a warning and ``fit``
returns as usual. ``autolog(disable=True)`` puts the original methods back.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("loopml.autolog")
FINGERPRINT_TAG = "dataset.fingerprint"
MODEL_ARTIFACT = "model/loopml-model.zip"

_originals: dict[tuple[type, str], Callable] = {}
_options: dict[str, Any] = {}
# While an outer fit runs, other fits are its own work (a forest's trees, a pipeline's
# steps), even in the worker threads it starts; so the mark is the process's, not a thread's.
_inside = {"fit": False}
_lock = threading.Lock()


def autolog(
    *, disable: bool = False, log_models: bool = True, registered_model_name: str | None = None
) -> None:
    """Track every ``fit`` of scikit-learn, LightGBM and XGBoost estimators from now on."""
    if disable:
        for (cls, name), original in _originals.items():
            setattr(cls, name, original)
        _originals.clear()
        return
    _options.update(log_models=log_models, registered_model_name=registered_model_name)
    for cls in _estimator_classes():
        if (cls, "fit") not in _originals:
            _originals[cls, "fit"] = cls.__dict__["fit"]
            cls.fit = _tracked(cls.__dict__["fit"])


def _estimator_classes() -> Iterator[type]:
    """The classes that define the ``fit`` of every estimator of the installed libraries
    (a RandomForestClassifier's is its base class's)."""
    try:
        from sklearn.utils import all_estimators

        estimators = [cls for _name, cls in all_estimators()]
    except ImportError:
        estimators = []
    for module, names in (
        ("lightgbm", ("LGBMRegressor", "LGBMClassifier", "LGBMRanker")),
        ("xgboost", ("XGBRegressor", "XGBClassifier", "XGBRanker", "XGBRFRegressor")),
    ):
        try:
            library = importlib.import_module(module)
        except ImportError:
            continue
        estimators += [getattr(library, name) for name in names if hasattr(library, name)]
    for cls in estimators:
        yield from (owner for owner in cls.__mro__ if "fit" in owner.__dict__)


def _tracked(fit: Callable) -> Callable:
    @functools.wraps(fit)
    def tracked_fit(self, *args, **kwargs):
        with _lock:
            nested, _inside["fit"] = _inside["fit"], True
        if nested:
            return fit(self, *args, **kwargs)
        from loopml.tracking import fluent

        own = fluent.active_run() is None
        run = fluent.active_run() or fluent.start_run(name=f"{type(self).__name__}.fit")
        try:
            result = fit(self, *args, **kwargs)
            _record(run, self, *_data(args, kwargs))
        except BaseException:
            if own:
                run.end("failed", error=f"{type(self).__name__}.fit raised")
            raise
        finally:
            _inside["fit"] = False
        if own:
            run.end()
        return result

    return tracked_fit


def _data(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    X = args[0] if args else kwargs.get("X", kwargs.get("data"))
    y = args[1] if len(args) > 1 else kwargs.get("y", kwargs.get("label"))
    return X, y


def _record(run, model: Any, X: Any, y: Any) -> None:
    for what, step in (
        ("parameters", lambda: run.log_params(_params(model))),
        ("training score", lambda: _score(run, model, X, y)),
        ("evaluation results", lambda: _evaluations(run, model)),
        ("dataset fingerprint", lambda: run.set_tags(_fingerprint(X))),
        ("model", lambda: _log_model(run, model)),
    ):
        try:
            step()
        except Exception as error:  # training must not fail for its record
            log.warning(
                "autolog could not record the %s of %s: %s", what, type(model).__name__, error
            )


def _params(model: Any) -> dict[str, Any]:
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    return {k: (type(v).__name__ if hasattr(v, "get_params") else v) for k, v in params.items()}


def _score(run, model: Any, X: Any, y: Any) -> None:
    if y is not None and hasattr(model, "score") and hasattr(model, "predict"):
        run.log_metric("training_score", float(model.score(X, y)))


def _evaluations(run, model: Any) -> None:
    """A booster's ``evals_result_``: ``{"valid_0": {"l2": [...]}}`` -> ``valid_0-l2`` by step."""
    results = getattr(model, "evals_result_", None)
    if callable(results):  # XGBoost's is a method
        results = results()
    for dataset, metrics in (results or {}).items():
        for metric, values in metrics.items():
            for step, value in enumerate(values):
                run.log_metric(f"{dataset}-{metric}", float(value), step=step)


def _fingerprint(X: Any) -> dict[str, str]:
    """A sha256 of the training data's values, column names and shape: equal data, equal print."""
    import numpy as np

    digest = hashlib.sha256()
    if hasattr(X, "columns"):
        import pandas as pd

        digest.update(repr(list(map(str, X.columns))).encode())
        digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    else:
        digest.update(np.ascontiguousarray(np.asarray(X)).tobytes())
    shape = getattr(X, "shape", None) or (len(X),)
    return {FINGERPRINT_TAG: digest.hexdigest(), "dataset.shape": "x".join(map(str, shape))}


def _log_model(run, model: Any) -> None:
    if not _options.get("log_models") or not hasattr(model, "predict"):
        return
    from loopml.registry import fluent as registry

    name = _options.get("registered_model_name")
    if name:
        registry.log_model(model, name)  # the active run is this fit's run: lineage
        return
    from loopml.models import pack

    data = pack(model, None, trusted=False).to_bytes()
    run.log_bytes(data, MODEL_ARTIFACT)
