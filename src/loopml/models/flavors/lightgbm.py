"""LightGBM scikit-learn models: the real ``LGBMRegressor``/``LGBMClassifier`` back on load.

The wrapper is saved with skops and its booster inside it in LightGBM's own
text model format (``Booster.__getstate__``), so no pickle is involved and the
loaded model is the estimator that was logged: it clones, refits and predicts
as before. Loading goes through the same allow-list as scikit-learn models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from loopml.models.flavors import skops_file
from loopml.models.flavors.base import module_of, version_of
from loopml.models.trust import Trust

MODEL = "model.skops"


class LightGBMFlavor:
    name = "lightgbm"

    def handles(self, model: Any) -> bool:
        return module_of(model) == "lightgbm" and hasattr(model, "booster_")

    def save(self, model: Any) -> dict[str, bytes]:
        return {MODEL: skops_file.dumps(model)}

    def load(self, files: dict[str, bytes], *, trusted: Trust) -> Any:
        return skops_file.load(files[MODEL], trusted=trusted)

    def requirements(self) -> list[str]:
        return [version_of("lightgbm"), version_of("skops")]

    def matrix_form(self, model: Any, columns: Sequence[str]) -> Any | None:
        """The booster takes a matrix as it is, in its training order (the wrapper would
        warn that the matrix has no column names)."""
        booster = model.booster_
        if booster.feature_name() != list(columns):
            return None
        classes = getattr(model, "classes_", None)
        return MatrixRegressor(booster) if classes is None else MatrixClassifier(booster, classes)


class MatrixRegressor:
    """A loaded booster predicting from a float matrix, as its wrapper does from a table."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, matrix) -> np.ndarray:
        return self.booster.predict(matrix)


class MatrixClassifier(MatrixRegressor):
    def __init__(self, booster: Any, classes: Any) -> None:
        super().__init__(booster)
        self.classes_ = np.asarray(classes)

    def predict(self, matrix) -> np.ndarray:
        return self.classes_[self.predict_proba(matrix).argmax(axis=1)]

    def predict_proba(self, matrix) -> np.ndarray:
        raw = self.booster.predict(matrix)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw
