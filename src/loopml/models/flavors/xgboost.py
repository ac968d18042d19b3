"""XGBoost scikit-learn models, saved in XGBoost's own UBJSON format (no pickle)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from loopml.errors import ArtifactCorrupt, UntrustedModel
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
        meta = {"kind": kind, "params": _plain(model.get_params())}
        return {MODEL: raw, META: json.dumps(meta).encode()}

    def load(self, files: dict[str, bytes], *, trusted: Trust) -> Any:
        import xgboost

        if _is_pickle(files[MODEL]):
            raise UntrustedModel(
                "This XGBoost model file is a pickle, not XGBoost's format: reading it would "
                "run code from the file.",
                hint="Log the model again with loopml, which saves XGBoost's own format.",
            )
        meta = json.loads(files[META])
        kind = xgboost.XGBClassifier if meta["kind"] == "classifier" else xgboost.XGBRegressor
        model = kind()
        try:  # XGBoost parses its own binary JSON; anything else (a pickle, say) is refused
            model.load_model(bytearray(files[MODEL]))
        except xgboost.core.XGBoostError as error:
            raise ArtifactCorrupt(
                f"The XGBoost model file cannot be read ({str(error).splitlines()[0]}).",
                hint="It is damaged or was not written by XGBoost; log the model again.",
            ) from error
        # load_model reads the booster's own settings back; the logged ones make a clone refit alike
        return model.set_params(**meta.get("params", {}))

    def requirements(self) -> list[str]:
        return [version_of("xgboost")]

    def matrix_form(self, model: Any, columns: Sequence[str]) -> Any | None:
        """XGBoost checks names only on tables; a matrix in its training order is the same."""
        return model if model.get_booster().feature_names == list(columns) else None


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters JSON can hold (callbacks and custom objectives are code: left out)."""
    return {k: v for k, v in params.items() if v is None or isinstance(v, (str, int, float, bool))}


def _is_pickle(data: bytes) -> bool:
    """Does ``data`` parse as pickle opcodes to its end? (Parsing runs nothing.)"""
    import pickletools

    last = None
    try:
        for opcode, _arg, _position in pickletools.genops(data):
            last = opcode.name
    except Exception:  # the first byte that is no opcode: XGBoost's UBJSON starts with '{'
        return False
    return last == "STOP"
