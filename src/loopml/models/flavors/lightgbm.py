"""LightGBM scikit-learn models, saved as LightGBM's own text model (no pickle)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from loopml.models.flavors.base import module_of, version_of

MODEL, META = "model.txt", "lightgbm.json"


class LightGBMFlavor:
    name = "lightgbm"

    def handles(self, model: Any) -> bool:
        return module_of(model) == "lightgbm" and hasattr(model, "booster_")

    def save(self, model: Any) -> dict[str, bytes]:
        classes = getattr(model, "classes_", None)
        meta = {"classes": None if classes is None else np.asarray(classes).tolist()}
        return {MODEL: model.booster_.model_to_string().encode(), META: json.dumps(meta).encode()}

    def load(self, files: dict[str, bytes], *, trusted: bool) -> Any:
        import lightgbm

        booster = lightgbm.Booster(model_str=files[MODEL].decode())
        classes = json.loads(files[META])["classes"]
        return BoosterRegressor(booster) if classes is None else BoosterClassifier(booster, classes)

    def requirements(self) -> list[str]:
        return [version_of("lightgbm")]

    def matrix_form(self, model: Any, columns: Sequence[str]) -> Any | None:
        """The booster takes a matrix as it is, in its training order."""
        return model if model.booster.feature_name() == list(columns) else None


class BoosterRegressor:
    """A loaded booster with the scikit-learn prediction interface."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, frame) -> np.ndarray:
        return self.booster.predict(frame)


class BoosterClassifier(BoosterRegressor):
    def __init__(self, booster: Any, classes: list) -> None:
        super().__init__(booster)
        self.classes_ = np.asarray(classes)

    def predict(self, frame) -> np.ndarray:
        proba = self.predict_proba(frame)
        return self.classes_[proba.argmax(axis=1)]

    def predict_proba(self, frame) -> np.ndarray:
        raw = self.booster.predict(frame)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw
