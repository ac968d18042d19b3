"""The rows a worker trains on: a chunk of segments in one frame, and each segment's
features and target as its model is fitted and scored on them.

A chunk travels as one frame with the columns training reads, each segment a
range of its rows: one pickle per task instead of one per segment, and the
columns are selected once per chunk, not once per segment (on a 200-row segment,
selecting columns by name costs about as much as fitting a ridge).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

Span = tuple[dict[str, Any], str, str, int, int]  # segment, segment key, cache key, start, stop


@dataclass(frozen=True)
class Chunk:
    rows: pd.DataFrame  # the segments' rows one after the other, only the columns training reads
    spans: list[Span]

    @classmethod
    def of(cls, segments: Sequence, keys: dict[str, str], columns: list[str]) -> Chunk:
        """The chunk of these planned segments (``keys``: their cache keys): one slice of
        the rows they share where they follow each other there, as a run's do unless
        some of them are cached."""
        first, last = segments[0], segments[-1]
        follow = all(
            b.table is first.table and b.start == a.stop for a, b in itertools.pairwise(segments)
        )
        if follow:
            rows = first.table.iloc[first.start : last.stop]
        else:
            rows = pd.concat([s.rows for s in segments])
        rows = rows if list(rows.columns) == columns else rows[columns]
        spans, start = [], 0
        for s in segments:
            spans.append((s.values, s.key, keys[s.key], start, start + s.size))
            start += s.size
        return cls(rows, spans)


class Inputs:
    """A segment's features and target as its model is fitted and scored on them.

    scikit-learn turns a frame of float columns into one float array on every fit
    and predict, checking its names, dtypes and values each time: on a 200-row
    segment that costs more than fitting a ridge. For scikit-learn's own
    estimators (not a pipeline, which may select columns by name) over float
    columns, the array is made once and checked for finite values here, and the
    feature names are recorded as scikit-learn records them: the fitted model is
    the same as one fitted on the frame."""

    def __init__(
        self, features: pd.DataFrame, target: pd.Series, matrix=None, y=None, columns=None
    ):
        self.features, self.target = features, target
        finite = matrix is not None and _finite(matrix) and (y.dtype.kind != "f" or _finite(y))
        self.matrix, self.y = (matrix, y) if finite else (None, None)
        self._columns = columns

    @property
    def columns(self) -> tuple[tuple[str, Any], ...]:
        """(name, dtype) of each feature: what the model's signature describes."""
        if self._columns is None:
            self._columns = tuple(zip(self.features.columns, self.features.dtypes, strict=True))
        return self._columns

    @classmethod
    def of(cls, model: Any, features: pd.DataFrame, target: pd.Series) -> Inputs:
        if not takes_matrix(model, features, target):
            return cls(features, target)
        return cls(features, target, features.to_numpy(), target.to_numpy())

    def rows(self, positions: np.ndarray | None) -> tuple:
        """(X, y) of the rows at these positions (all rows with None)."""
        if self.matrix is None:
            if positions is None:
                return self.features, self.target
            return self.features.iloc[positions], self.target.iloc[positions]
        if positions is None:
            return self.matrix, self.y
        # column-major, as a frame's array is: sums over rows then add in the same order
        return np.asfortranarray(self.matrix[positions]), self.y[positions]

    def checked(self):
        """Within: scikit-learn skips the finite check that the array already passed."""
        import sklearn

        if self.matrix is None:
            return contextlib.nullcontext()
        return sklearn.config_context(assume_finite=True)

    def name(self, model: Any) -> None:
        """Record the feature names, as a fit on the frame does: the model then takes
        frames with these columns, as any other."""
        if self.matrix is not None:
            model.feature_names_in_ = np.array([name for name, _ in self.columns], dtype=object)

    def summary(self) -> Any:
        """The summaries of the features, for the drift reference: from the array, every
        column sorted in one call (the same as from the frame, without its conversion)."""
        from loopml.data.summary import summarize_array
        from loopml.monitoring.drift import summary_of

        if self.matrix is None:
            return summary_of(self.features, "reference")
        return summarize_array(self.matrix, [name for name, _ in self.columns])


class ChunkInputs:
    """A chunk's features and target, selected (and made one array) once for all its
    segments; ``segment`` slices out one segment's, without copying."""

    def __init__(self, model: Any, features: pd.DataFrame, target: pd.Series):
        self.features, self.target = features, target
        self.columns = tuple(zip(features.columns, features.dtypes, strict=True))
        self.matrix = self.y = None
        if takes_matrix(model, self.features, self.target):
            self.matrix, self.y = self.features.to_numpy(), self.target.to_numpy()

    def segment(self, start: int, stop: int) -> Inputs:
        features, target = self.features.iloc[start:stop], self.target.iloc[start:stop]
        if self.matrix is None:
            return Inputs(features, target, columns=self.columns)
        matrix, y = self.matrix[start:stop], self.y[start:stop]
        return Inputs(features, target, matrix, y, columns=self.columns)


def takes_matrix(model: Any, features: pd.DataFrame, target: pd.Series) -> bool:
    """Would scikit-learn make the same float array of these features as ``to_numpy``?"""
    return (
        type(model).__module__.startswith("sklearn.")
        and not hasattr(model, "steps")
        and all(isinstance(c, str) for c in features.columns)
        and all(dtype == np.float64 for dtype in features.dtypes)
        and isinstance(target.dtype, np.dtype)
        and target.dtype.kind in "fiub"
    )


def _finite(array: np.ndarray) -> bool:
    return bool(np.isfinite(array).all())
