"""shap's explainers for the models that do not explain themselves.

- scikit-learn trees and forests: TreeExplainer (exact, path-dependent: no data needed);
- linear models: LinearExplainer against a background sample (the contributions of
  ``coef * (x - mean)``), explaining the decision function of a classifier;
- anything else: the permutation explainer, sampled: a background of at most
  ``background_rows`` rows stands for "feature unknown", and each row is explained
  over ``permutations`` feature orders. It is exactly additive for any sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.errors import InvalidInput
from loopml.explain.explanation import Explanation, pick_class
from loopml.explain.inputs import Codes, refuse_text, shap

TREE_CLASSES = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
)


def is_sklearn_tree(native: Any) -> bool:
    module = type(native).__module__
    return module.startswith("sklearn.") and type(native).__name__ in TREE_CLASSES


def is_linear(native: Any) -> bool:
    return type(native).__module__.startswith("sklearn.linear_model") and hasattr(native, "coef_")


def tree_explainer(native: Any) -> Any:
    shap_ = shap()
    try:
        return shap_.TreeExplainer(native)
    except shap_.utils._exceptions.InvalidModelError as error:
        raise InvalidInput(
            f"shap cannot explain this {type(native).__name__}: {error}",
            hint="Explain a binary or regression model, or use LightGBM or XGBoost, whose own "
            "contributions cover multiclass models.",
        ) from error


def tree_output(native: Any) -> str:
    """Boosted trees add up log-odds; a forest's trees average probabilities."""
    return "log-odds" if "GradientBoosting" in type(native).__name__ else "probability"


def explain_tree(explainer: Any, rows: Any, features: list[str], classes, kind: str) -> Explanation:
    if not isinstance(rows, np.ndarray):
        refuse_text(rows, "shap's TreeExplainer")
        rows = rows.to_numpy(dtype=np.float64)
    values = _stacked(explainer.shap_values(rows, check_additivity=False))
    base = np.tile(np.atleast_1d(explainer.expected_value), (len(rows), 1))
    return _shaped(values, base, features, classes, "shap TreeExplainer (exact)", kind)


def linear_explainer(native: Any, background: np.ndarray) -> Any:
    shap_ = shap()
    return shap_.LinearExplainer(native, shap_.maskers.Independent(background, len(background)))


def explain_linear(explainer: Any, rows: Any, features: list[str], classes) -> Explanation:
    if not isinstance(rows, np.ndarray):
        refuse_text(rows, "shap's LinearExplainer")
        rows = rows.to_numpy(dtype=np.float64)
    values = _stacked(explainer.shap_values(rows))
    base = np.tile(np.atleast_1d(explainer.expected_value), (len(rows), 1))
    return _shaped(values, base, features, classes, "shap LinearExplainer", "log-odds")


@dataclass
class Sampled:
    """A model-agnostic explainer: a function of coded rows, and its background."""

    explainer: Any
    codes: Codes
    output: str
    background_rows: int
    permutations: int


def sampled_explainer(model: Any, background, *, permutations: int) -> Sampled:
    """``model`` is a LoadedModel; ``background`` a table of its input columns."""
    codes = Codes(background)
    function, output = _output_function(model, codes)
    shap_ = shap()
    coded = codes.encode(background)
    masker = shap_.maskers.Independent(coded, max_samples=len(coded))
    explainer = shap_.explainers.Permutation(function, masker, seed=0)
    return Sampled(explainer, codes, output, len(coded), permutations)


def explain_sampled(sampled: Sampled, frame, features: list[str]) -> Explanation:
    width = len(features)
    result = sampled.explainer(
        sampled.codes.encode(frame), max_evals=2 * (width + 1) * sampled.permutations, silent=True
    )
    method = (
        f"shap permutation explainer, sampled: {sampled.background_rows} background rows, "
        f"{sampled.permutations} permutations per row"
    )
    values = np.asarray(result.values)
    return Explanation(
        tuple(features), values, np.asarray(result.base_values), sampled.output, method
    )


def _output_function(model: Any, codes: Codes):
    """What the sampled explainer explains: a classifier's decision function when it has
    one (its raw margin), else the probability of its positive class; else the prediction."""
    native = model.native
    classes = model.classes_
    if classes is not None and len(classes) != 2:
        raise InvalidInput(
            f"Model {model.name!r} has {len(classes)} classes; the sampled explainer explains "
            "one output.",
            hint="Explain a binary classifier or a regressor, or log a LightGBM/XGBoost model.",
        )
    if classes is not None and callable(getattr(native, "decision_function", None)):
        target = native if model.matrix_model is None else model.matrix_model
        return lambda m: np.asarray(target.decision_function(model.prepare(codes.decode(m)))), (
            f"decision function (raw margin) for class {classes[1]}"
        )
    if classes is not None:
        return lambda m: model.predict_proba(codes.decode(m))[:, 1], (
            f"probability of class {classes[1]}"
        )
    return lambda m: model.predict(codes.decode(m)).astype(np.float64), "prediction"


def _stacked(values) -> np.ndarray:
    """shap gives some multi-output models a list of (rows, features), one per output."""
    if isinstance(values, list):
        return np.stack(values, axis=-1)
    return np.asarray(values)


def _shaped(values, base, features, classes, method: str, kind: str) -> Explanation:
    """shap's values (rows, features) or (rows, features, outputs) as one output per row."""
    features_ = tuple(features)
    if values.ndim == 3 and values.shape[2] == 2 and kind == "probability":
        values, base = values[:, :, 1], base[:, 1]  # a forest's probability of class 1
    elif values.ndim == 3 and values.shape[2] > 1:
        values, base, chosen = pick_class(values, np.asarray(base), np.asarray(classes))
        return Explanation(
            features_, values, base, f"{kind} of the predicted class", method, chosen
        )
    values = values.reshape(len(values), -1)
    base = np.asarray(base).reshape(len(values), -1)[:, -1]
    if classes is None:
        return Explanation(features_, values, base, "prediction", method)
    return Explanation(features_, values, base, f"{kind} of class {classes[-1]}", method)
