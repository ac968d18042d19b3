"""Built-in flavors, and how a model finds its flavor."""

from __future__ import annotations

from typing import Any

from loopml.errors import InvalidInput
from loopml.models.flavors.base import Flavor
from loopml.models.flavors.lightgbm import LightGBMFlavor
from loopml.models.flavors.pyfunc import PyFuncFlavor
from loopml.models.flavors.sklearn import SklearnFlavor
from loopml.models.flavors.xgboost import XGBoostFlavor

# Specific flavors first: pyfunc takes anything with ``predict``, but only when trusted.
FLAVORS: dict[str, Flavor] = {
    f.name: f for f in (SklearnFlavor(), LightGBMFlavor(), XGBoostFlavor(), PyFuncFlavor())
}


def flavor_for(model: Any, *, trusted: bool) -> Flavor:
    for flavor in FLAVORS.values():
        if flavor.name != "pyfunc" and flavor.handles(model):
            return flavor
    if FLAVORS["pyfunc"].handles(model):
        if trusted:
            return FLAVORS["pyfunc"]
        raise InvalidInput(
            f"No built-in flavor saves a {type(model).__module__}.{type(model).__name__} safely.",
            hint="Built-in flavors: scikit-learn, LightGBM, XGBoost. For another object with "
            "predict(), log it with trusted=True (it is then pickled).",
        )
    raise InvalidInput(
        f"A {type(model).__name__} has no predict method, so it cannot be logged as a model.",
        hint="Log a fitted estimator (scikit-learn, LightGBM, XGBoost) or an object with predict().",
    )


def get_flavor(name: str) -> Flavor:
    if name not in FLAVORS:
        raise InvalidInput(
            f"Unknown model flavor {name!r}.",
            hint=f"This loopml knows: {', '.join(FLAVORS)}. The model may need a newer loopml.",
        )
    return FLAVORS[name]


__all__ = ["FLAVORS", "Flavor", "flavor_for", "get_flavor"]
