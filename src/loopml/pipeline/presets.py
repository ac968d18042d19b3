"""Model presets (``ridge``, ``lightgbm`` …) and estimators named by import path.

A preset names one estimator per kind of task, with defaults that suit many
small models trained side by side: ensembles get one thread each, since the
parallelism is across segments.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import threading
from typing import Any

from loopml.errors import InvalidInput

Choice = tuple[str, dict[str, Any]]

PRESETS: dict[str, dict[str, Choice]] = {
    "ridge": {
        "regression": ("sklearn.linear_model.Ridge", {}),
        "classification": ("sklearn.linear_model.RidgeClassifier", {}),
    },
    "linear": {
        "regression": ("sklearn.linear_model.LinearRegression", {}),
        "classification": ("sklearn.linear_model.LogisticRegression", {"max_iter": 1000}),
    },
    "lasso": {"regression": ("sklearn.linear_model.Lasso", {})},
    "logistic": {"classification": ("sklearn.linear_model.LogisticRegression", {"max_iter": 1000})},
    "random_forest": {
        "regression": (
            "sklearn.ensemble.RandomForestRegressor",
            {"n_estimators": 100, "n_jobs": 1},
        ),
        "classification": (
            "sklearn.ensemble.RandomForestClassifier",
            {"n_estimators": 100, "n_jobs": 1},
        ),
    },
    "gradient_boosting": {
        "regression": ("sklearn.ensemble.HistGradientBoostingRegressor", {}),
        "classification": ("sklearn.ensemble.HistGradientBoostingClassifier", {}),
    },
    "lightgbm": {
        "regression": ("lightgbm.LGBMRegressor", {"n_estimators": 200, "verbose": -1, "n_jobs": 1}),
        "classification": (
            "lightgbm.LGBMClassifier",
            {"n_estimators": 200, "verbose": -1, "n_jobs": 1},
        ),
    },
    "xgboost": {
        "regression": ("xgboost.XGBRegressor", {"n_estimators": 200, "n_jobs": 1}),
        "classification": ("xgboost.XGBClassifier", {"n_estimators": 200, "n_jobs": 1}),
    },
}


def resolve(preset: str | None, estimator: str | None, task: str) -> Choice:
    """The import path and default params of the model for ``task``."""
    if estimator is not None:
        return estimator, {}
    kind = "classification" if task == "classification" else "regression"
    choices = PRESETS[preset]
    if kind not in choices:
        fits = [name for name, c in PRESETS.items() if kind in c]
        raise InvalidInput(
            f"The model preset {preset!r} has no {kind} estimator.",
            hint=f"Presets for {task}: {', '.join(fits)}.",
        )
    return choices[kind]


def build(preset: str | None, estimator: str | None, params: dict[str, Any], task: str, seed: int):
    """A fresh, unfitted estimator: preset defaults, then the project's params."""
    path, defaults = resolve(preset, estimator, task)
    cls = import_estimator(path)
    accepted = _parameters(cls)
    settings = {**defaults, **params}
    if "random_state" in accepted and "random_state" not in settings:
        settings["random_state"] = seed
    try:
        return cls(**settings)
    except TypeError as error:
        raise InvalidInput(
            f"{path} does not accept these params: {error}.",
            hint=f"Its parameters: {', '.join(sorted(accepted)) or 'none'}.",
        ) from None


def import_estimator(path: str) -> type:
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name) if module_name else None
    except ModuleNotFoundError as error:
        raise _not_importable(path, f"module {error.name!r} is not installed") from None
    except ImportError as error:
        raise _not_importable(path, str(error)) from None
    found = getattr(module, name, None) if module is not None else None
    if found is None:
        raise _not_importable(path, f"{module_name or path!r} has no attribute {name!r}")
    if not callable(getattr(found, "fit", None)):
        raise InvalidInput(
            f"{path} is not an estimator: it has no fit method.",
            hint="Name a class with the scikit-learn contract (fit and predict).",
        )
    return found


def import_in_background(preset: str | None, estimator: str | None, task: str) -> None:
    """Start importing the estimator's library on a thread. Planning a run first reads and
    checks the table, mostly in Arrow and numpy, which leave the interpreter free for the
    import (a second or more for scikit-learn); ``import_estimator`` later waits for it,
    and reports its failure, if any, as usual."""

    def load() -> None:
        with contextlib.suppress(Exception):  # reported by import_estimator, where it belongs
            import_estimator(resolve(preset, estimator, task)[0])

    threading.Thread(target=load, name="loopml-import-estimator", daemon=True).start()


def check_estimator_path(path: str) -> None:
    """For the project file's validator: a ``ValueError`` that names the problem."""
    try:
        import_estimator(path)
    except InvalidInput as error:
        raise ValueError(f"{error.message} {error.hint}") from None


def _not_importable(path: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"The estimator {path!r} cannot be imported: {why}.",
        hint="Use a full import path such as sklearn.linear_model.Ridge, "
        "or a preset such as ridge or lightgbm.",
    )


def _parameters(cls: type) -> set[str]:
    try:
        return set(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return set()
