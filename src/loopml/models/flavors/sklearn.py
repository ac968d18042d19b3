"""scikit-learn estimators and Pipelines, saved with skops: no pickle, no code run on load."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from loopml.models.flavors import skops_file
from loopml.models.flavors.base import module_of, version_of
from loopml.models.trust import Trust

FILE = "model.skops"


class SklearnFlavor:
    name = "sklearn"

    def handles(self, model: Any) -> bool:
        return module_of(model) == "sklearn" and hasattr(model, "predict")

    def save(self, model: Any) -> dict[str, bytes]:
        return {FILE: skops_file.dumps(model)}

    def load(self, files: dict[str, bytes], *, trusted: Trust) -> Any:
        return skops_file.load(files[FILE], trusted=trusted)

    def requirements(self) -> list[str]:
        return [version_of("scikit-learn"), version_of("skops")]

    def matrix_form(self, model: Any, columns: Sequence[str]) -> Any | None:
        """A shallow copy that no longer checks column names, when only its first
        estimator saw names (so a matrix in the same order is the same input)."""
        names = getattr(model, "feature_names_in_", None)
        if names is None or list(names) != list(columns):
            return None
        steps = getattr(model, "steps", None)
        first = steps[0][1] if steps else model
        if _reads_columns_by_name(first):
            return None
        bare = copy.copy(first)
        del bare.feature_names_in_
        if steps:
            bare = copy.copy(model).set_params(**{steps[0][0]: bare})
        return None if _names_inside(bare) else bare


def _reads_columns_by_name(estimator: Any) -> bool:
    """Column transformers and user functions may select columns by name."""
    return hasattr(estimator, "transformers") or hasattr(estimator, "func")


def _names_inside(estimator: Any) -> bool:
    """Does any estimator within (a pipeline step, an ensemble member) still check names?"""
    pending = [estimator]
    while pending:
        current = pending.pop()
        if hasattr(current, "feature_names_in_"):
            return True
        for value in vars(current).values():
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                if isinstance(item, tuple) and len(item) >= 2:  # (name, estimator) pairs
                    item = item[1]
                if hasattr(item, "get_params"):
                    pending.append(item)
    return False
