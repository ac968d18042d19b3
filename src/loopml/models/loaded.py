"""A model ready to predict: the native model behind its signature."""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.models.signature import Signature, enforce


class LoadedModel:
    """``predict`` and ``predict_proba`` take DataFrames, dicts and arrays and enforce the signature."""

    def __init__(
        self,
        native: Any,
        *,
        flavor: str,
        signature: Signature | None,
        name: str | None = None,
        version: int | None = None,
        segment: dict[str, Any] | None = None,
    ) -> None:
        self.native = native
        self.flavor = flavor
        self.signature = signature
        self.name = name
        self.version = version
        self.segment = segment

    def __repr__(self) -> str:
        where = f" segment={self.segment}" if self.segment else ""
        return f"<LoadedModel {self.name} v{self.version}{where} ({self.flavor})>"

    @property
    def classes_(self) -> np.ndarray | None:
        """The classes of a classifier, in the order of ``predict_proba``'s columns."""
        classes = getattr(self.native, "classes_", None)
        return None if classes is None else np.asarray(classes)

    @property
    def has_proba(self) -> bool:
        return callable(getattr(self.native, "predict_proba", None))

    def prepare(self, data: Any):
        """The input as the model takes it (columns checked, ordered and cast)."""
        return enforce(self.signature, data)

    def predict(self, data: Any) -> np.ndarray:
        return np.asarray(self.native.predict(self.prepare(data)))

    def predict_proba(self, data: Any) -> np.ndarray:
        if not self.has_proba:
            from loopml.errors import InvalidInput

            raise InvalidInput(
                f"Model {self.name} v{self.version} gives no probabilities.",
                hint="Call predict(), or log a classifier with predict_proba.",
            )
        return np.asarray(self.native.predict_proba(self.prepare(data)))
