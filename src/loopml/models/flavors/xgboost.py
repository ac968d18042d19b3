"""XGBoost scikit-learn models, saved in XGBoost's own UBJSON format (no pickle)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from loopml.models.flavors.base import module_of, version_of
from loopml.models.trust import Trust

MODEL, META = "model.ubj", "xgboost.json"


class XGBoostFlavor:
    name = "xgboost"

    def handles(self, model: Any) -> bool:
        return module_of(model) == "xgboost" and hasattr(model, "get_booster")

    def save(self, model: Any) -> dict[str, bytes]:
        kind = "classifier" if hasattr(model, "predict_proba") else "regressor"
        raw = bytes(model.get_booster().save_raw("ubj"))
        return {MODEL: raw, META: json.dumps({"kind": kind}).encode()}

    def load(self, files: dict[str, bytes], *, trusted: Trust) -> Any:
        import xgboost

        kind = json.loads(files[META])["kind"]
        model = xgboost.XGBClassifier() if kind == "classifier" else xgboost.XGBRegressor()
        model.load_model(bytearray(files[MODEL]))
        return model

    def requirements(self) -> list[str]:
        return [version_of("xgboost")]

    def matrix_form(self, model: Any, columns: Sequence[str]) -> Any | None:
        """XGBoost checks names only on tables; a matrix in its training order is the same."""
        return model if model.get_booster().feature_names == list(columns) else None
