"""A model ready to predict: the native model behind its signature."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from loopml.models.signature import Signature, as_matrix, enforce


class LoadedModel:
    """``predict`` and ``predict_proba`` take DataFrames, dicts and arrays and enforce the signature.

    A model whose inputs are all numbers is fed a float matrix when its flavor
    allows (same predictions, far less overhead per call); others get the table.
    """

    def __init__(
        self,
        native: Any,
        *,
        flavor: str,
        signature: Signature | None,
        name: str | None = None,
        version: int | None = None,
        segment: dict[str, Any] | None = None,
        runtime_model: Any | None = None,
    ) -> None:
        self.native = native
        self.flavor = flavor
        self.signature = signature
        self.name = name
        self.version = version
        self.segment = segment
        # What scores the float matrix instead of the native model's own matrix form
        # (the ONNX export of a version served through onnxruntime); None: the model.
        self.runtime_model = runtime_model

    def __repr__(self) -> str:
        where = f" segment={self.segment}" if self.segment else ""
        return f"<LoadedModel {self.name} v{self.version}{where} ({self.flavor})>"

    @property
    def classes_(self) -> np.ndarray | None:
        """The classes of a classifier, in the order of ``predict_proba``'s columns."""
        classes = getattr(self.native, "classes_", None)
        return None if classes is None else np.asarray(classes)

    @property
    def runtime(self) -> str:
        """``onnx`` when onnxruntime scores the model, else ``native``."""
        return "native" if self.runtime_model is None else "onnx"

    @property
    def has_proba(self) -> bool:
        return callable(getattr(self.native, "predict_proba", None))

    @functools.cached_property
    def matrix_model(self) -> Any | None:
        """The native model as it takes a float matrix in signature order, if it can."""
        if self.signature is None or not self.signature.numeric:
            return None
        if self.runtime_model is not None:
            return self.runtime_model
        from loopml.models.flavors import get_flavor

        return get_flavor(self.flavor).matrix_form(self.native, self.signature.names)

    def prepare(self, data: Any):
        """The input as the model takes it: columns checked, ordered and cast, as a float
        matrix when the model takes one."""
        if self.matrix_model is not None:
            return as_matrix(self.signature, data)  # type: ignore[arg-type]
        return enforce(self.signature, data)

    def predict(self, data: Any) -> np.ndarray:
        return np.asarray(self._model().predict(self.prepare(data)))

    def predict_proba(self, data: Any) -> np.ndarray:
        if not self.has_proba:
            from loopml.errors import InvalidInput

            raise InvalidInput(
                f"Model {self.name} v{self.version} gives no probabilities.",
                hint="Call predict(), or log a classifier with predict_proba.",
            )
        return np.asarray(self._model().predict_proba(self.prepare(data)))

    def _model(self) -> Any:
        return self.native if self.matrix_model is None else self.matrix_model
