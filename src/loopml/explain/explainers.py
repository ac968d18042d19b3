"""Which explainer explains a model, built once per loaded model.

LightGBM and XGBoost use their own exact contributions; scikit-learn trees shap's
TreeExplainer; linear models shap's LinearExplainer; anything else the sampled
permutation explainer. Linear and sampled explainers need a background sample of
the model's inputs (the version's explanation report keeps one); trees need none.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from loopml.errors import InvalidInput
from loopml.explain import native, shapley
from loopml.explain.explanation import Explanation
from loopml.explain.inputs import shap

BACKGROUND_ROWS = 100
PERMUTATIONS = 10

Explain = Callable[[Any], Explanation]
_CACHE: weakref.WeakKeyDictionary[Any, Explain] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def method_of(model: Any) -> str:
    """``native``, ``tree``, ``linear`` or ``sampled``: how ``model`` is explained."""
    if model.flavor == "lightgbm" and native.lightgbm_booster(model.native) is not None:
        return "native"
    if model.flavor == "xgboost" and native.xgboost_booster(model.native) is not None:
        return "native"
    if shapley.is_sklearn_tree(model.native):
        return "tree"
    if shapley.is_linear(model.native):
        return "linear"
    return "sampled"


def needs_background(model: Any) -> bool:
    return method_of(model) in ("linear", "sampled")


def explain_rows(
    model: Any, data: Any, *, background: Any = None, permutations: int = PERMUTATIONS
) -> Explanation:
    """Per row of ``data``: the base value and each input's contribution to ``model``'s output.

    ``model`` is a LoadedModel (``loopml.load_model``). ``background`` (a table of
    the model's inputs, at most BACKGROUND_ROWS rows are used, or a function that
    returns one) is needed by linear and model-agnostic models; the explainer is
    built on the first call for a model and reused after.
    """
    explain = _CACHE.get(model)
    if explain is None:
        with _LOCK:
            explain = _CACHE.get(model) or _build(model, background, permutations)
            _CACHE[model] = explain
    return explain(data)


def _build(model: Any, background: Any, permutations: int) -> Explain:
    if model.signature is None:
        raise InvalidInput(
            f"Model {model.name!r} v{model.version} has no signature, so its inputs have no names.",
            hint="Log the model with an input_example (or a fitted model with feature names).",
        )
    features, classes = model.signature.names, model.classes_
    method = method_of(model)
    if method == "native":
        if model.flavor == "lightgbm":
            booster = native.lightgbm_booster(model.native)
            return lambda data: native.explain_lightgbm(
                booster, model.prepare(data), features, classes
            )
        booster = native.xgboost_booster(model.native)
        return lambda data: native.explain_xgboost(booster, model.prepare(data), features, classes)
    if method == "tree":
        shap()  # a missing extra is named before anything else
        explainer, kind = shapley.tree_explainer(model.native), shapley.tree_output(model.native)
        return lambda data: shapley.explain_tree(
            explainer, model.prepare(data), features, classes, kind
        )
    sample = _background(model, background)
    if method == "linear":
        explainer = shapley.linear_explainer(model.native, sample.to_numpy(dtype=np.float64))
        return lambda data: shapley.explain_linear(
            explainer, model.prepare(data), features, classes
        )
    sampled = shapley.sampled_explainer(model, sample, permutations=permutations)
    return lambda data: shapley.explain_sampled(sampled, _table(model, data), features)


def _background(model: Any, background: Any):
    from loopml.models.signature import enforce

    shap()
    if callable(background):
        background = background()
    if background is None:
        raise InvalidInput(
            f"Model {model.name!r} v{model.version} ({type(model.native).__name__}) is explained "
            "against a background sample of its inputs, and none was given.",
            hint="Pass background=<a table of training rows>, or compute the version's "
            "explanation (loopml.explain_version) so that one is kept with it.",
        )
    frame = enforce(model.signature, background)
    if len(frame) > BACKGROUND_ROWS:
        frame = frame.sample(BACKGROUND_ROWS, random_state=0)
    return frame.reset_index(drop=True)


def _table(model: Any, data: Any):
    from loopml.models.signature import enforce

    return enforce(model.signature, data)
