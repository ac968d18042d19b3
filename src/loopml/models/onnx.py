"""A registered model as ONNX, checked against the native model, and scored by onnxruntime.

scikit-learn models convert with skl2onnx and LightGBM boosters with
onnxmltools (the ``onnx`` extra). The export is accepted only when
onnxruntime's predictions on a sample match the native model's within a
tolerance; the largest difference is reported either way. A version whose
export passed may be served through ``OnnxMatrixModel``: an ONNX file holds
operators, not code, so scoring it runs nothing the file could smuggle in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loopml.errors import InvalidInput, require
from loopml.models.loaded import LoadedModel
from loopml.models.signature import enforce

TOLERANCE = 1e-4


@dataclass(frozen=True)
class Export:
    data: bytes
    max_difference: float
    rows_checked: int


def export_onnx(
    model: LoadedModel, sample: pd.DataFrame | None = None, *, tolerance: float = TOLERANCE
) -> Export:
    require("onnxruntime", what="ONNX export", extra="onnx")
    sample = enforce(model.signature, sample if sample is not None else synthetic_sample(model))
    if not all(pd.api.types.is_numeric_dtype(t) for t in sample.dtypes):
        raise InvalidInput(
            f"ONNX export takes numeric inputs; {model.name} v{model.version} has text inputs.",
            hint="Encode categories inside the model as numbers, or serve it with loopml serve.",
        )
    features = sample.to_numpy(np.float32)
    data = _convert(model, features.shape[1])
    difference = _max_difference(data, model, sample, features)
    if not difference <= tolerance:
        raise InvalidInput(
            f"The ONNX export of {model.name} v{model.version} differs from the model by up to "
            f"{difference:.3g} (tolerance {tolerance:g}).",
            hint="Check the model's operators are supported by the converter, or raise the tolerance.",
        )
    return Export(data, difference, len(sample))


def synthetic_sample(model: LoadedModel, rows: int = 200) -> pd.DataFrame:
    if model.signature is None:
        raise InvalidInput(
            f"{model.name} v{model.version} has no signature to build a sample from.",
            hint="Pass sample=... (a DataFrame of inputs) to check the export on.",
        )
    rng = np.random.default_rng(0)
    columns = {}
    for column in model.signature.inputs:
        if column.type == "integer":
            columns[column.name] = rng.integers(0, 10, rows)
        elif column.type in ("float", "boolean"):
            columns[column.name] = (
                rng.normal(size=rows) if column.type == "float" else rng.integers(0, 2, rows)
            )
        else:
            raise InvalidInput(
                f"Input {column.name!r} is {column.type}; ONNX export takes numbers.",
                hint="Export models with numeric inputs only.",
            )
    return pd.DataFrame(columns)


def _convert(model: LoadedModel, width: int) -> bytes:
    if model.flavor == "sklearn":
        skl2onnx = require("skl2onnx", what="ONNX export of scikit-learn models", extra="onnx")
        from skl2onnx.common.data_types import FloatTensorType

        options = {id(model.native): {"zipmap": False}} if model.has_proba else None
        proto = skl2onnx.convert_sklearn(
            model.native,
            initial_types=[("input", FloatTensorType([None, width]))],
            options=options,
            target_opset=17,
        )
    elif model.flavor == "lightgbm":
        onnxmltools = require("onnxmltools", what="ONNX export of LightGBM models", extra="onnx")
        from onnxmltools.convert.common.data_types import FloatTensorType

        proto = onnxmltools.convert_lightgbm(
            model.native.booster_,
            initial_types=[("input", FloatTensorType([None, width]))],
            zipmap=False,
        )
    else:
        raise InvalidInput(
            f"ONNX export supports scikit-learn and LightGBM models, not {model.flavor}.",
            hint="Serve this model with loopml serve instead.",
        )
    return proto.SerializeToString()


class OnnxMatrixModel:
    """An ONNX export as a matrix model: a float matrix in signature order in, as the
    native model's matrix form takes it; ``predict`` and ``predict_proba`` out."""

    def __init__(self, data: bytes) -> None:
        onnxruntime = require("onnxruntime", what="serving through ONNX", extra="onnx")
        options = onnxruntime.SessionOptions()
        # One thread per call: the server already scores requests on a pool of threads,
        # and a small batch loses more to waking onnxruntime's threads than it gains.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            data, options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._outputs = [output.name for output in self._session.get_outputs()]

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        [values] = self._session.run(self._outputs[:1], {self._input: _float32(matrix)})
        return values.ravel() if values.ndim == 2 and values.shape[1] == 1 else values

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        [values] = self._session.run(self._outputs[-1:], {self._input: _float32(matrix)})
        return values


def _float32(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _max_difference(
    data: bytes, model: LoadedModel, sample: pd.DataFrame, features: np.ndarray
) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"input": features})
    if model.has_proba:
        expected, actual = model.predict_proba(sample), outputs[-1]
    else:
        expected, actual = model.predict(sample), outputs[0]
    return float(np.max(np.abs(np.asarray(actual, float).reshape(np.shape(expected)) - expected)))
