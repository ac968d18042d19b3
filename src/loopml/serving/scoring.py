"""One served model version: its model, how it scores rows, and its batcher."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopml.errors import InvalidInput, LoopmlError
from loopml.serving.batcher import MicroBatcher
from loopml.serving.rows import Rows
from loopml.serving.validation import InputChecker


@dataclass(frozen=True)
class Scores:
    """Predictions of some rows, and the positive-class probability for binary classifiers."""

    predictions: list[Any]
    proba: list[float] | None = None
    cpu_seconds: float = 0.0  # the model call's thread CPU time, for these rows

    def slice(self, start: int, stop: int) -> Scores:
        proba = None if self.proba is None else self.proba[start:stop]
        share = (stop - start) / max(1, len(self.predictions))
        return Scores(self.predictions[start:stop], proba, self.cpu_seconds * share)


@dataclass(eq=False)
class Served:
    """A loaded version, ready to score. Requests that hold it finish on it even
    after a swap put a newer version in its place."""

    name: str
    alias: str
    segment: str
    version: Any  # the registry's ModelVersion
    model: Any  # the registry's LoadedModel
    checker: InputChecker
    batcher: MicroBatcher[Scores] = field(init=False)

    def attach_batcher(self, executor, *, max_rows: int, max_wait: float, observe=None) -> Served:
        self.batcher = MicroBatcher(
            self.score,
            Scores.slice,
            executor=executor,
            max_rows=max_rows,
            max_wait=max_wait,
            observe=observe,
        )
        return self

    @property
    def number(self) -> int:
        return int(self.version.version)

    @property
    def runtime(self) -> str:
        return self.model.runtime

    def score(self, rows: Rows) -> Scores:
        # The columns as they came: the model checks them against its signature and
        # builds a DataFrame only if it needs one.
        return score_frame(self.model, rows.columns)


def score_frame(model: Any, frame) -> Scores:
    """Predict, and for a binary classifier also the probability of its positive class,
    with the CPU time of this thread it took (the process's would count every other
    request and the log's writer too)."""
    started = time.thread_time()
    predictions, proba = score_arrays(model, frame)
    return Scores(
        _plain(predictions),
        None if proba is None else proba.tolist(),
        time.thread_time() - started,  # evaluated last: the conversions are counted
    )


def score_arrays(model: Any, frame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions as an array; a binary classifier is called once, through predict_proba."""
    classes = model_classes(model)
    try:
        if classes is None or len(classes) != 2 or not hasattr(model, "predict_proba"):
            return np.asarray(model.predict(frame)), None
        positive = np.asarray(model.predict_proba(frame))[:, 1]
    except LoopmlError:
        raise
    except (ValueError, TypeError) as error:  # the model refuses these values (NaN, say)
        raise InvalidInput(
            f"Model {model.name!r} version {model.version} cannot score these rows: {error}",
            hint="Check the rows for missing or out-of-range values.",
        ) from error
    picks = (positive > 0.5).astype(np.int64)  # as predict breaks ties
    return np.asarray(classes)[picks], positive


def model_classes(model: Any) -> Sequence[Any] | None:
    for holder in (model, getattr(model, "model", None), getattr(model, "estimator", None)):
        classes = getattr(holder, "classes_", None)
        if classes is not None:
            return classes
    return None


def _plain(values) -> list[Any]:
    array = np.asarray(values)
    if array.ndim > 1 and array.shape[1] == 1:
        array = array[:, 0]
    return array.tolist()
