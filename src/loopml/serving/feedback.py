"""Labels for earlier predictions: matched to the prediction log, checked against
the task of the model that made each prediction, then logged.

A label whose prediction id is in no log is not kept (it could never be joined);
the receipt counts and names such ids, so the client can tell a typo from a
label that arrived before its prediction was written. A label that contradicts
its model's task (an infinite or text label for a regression, a value that is
no class of a classifier) refuses the whole request with a 422 naming the id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from loopml.errors import InvalidInput, LoopmlError
from loopml.serving.prediction_ids import issued_at

SHOWN_UNKNOWN = 10
MAX_HOURS = 31 * 24  # the hours of the log one request may make the server read


@dataclass(frozen=True)
class Label:
    prediction_id: str
    label: Any
    time: str | None = None
    attributes: dict[str, Any] | None = None  # sensitive attributes known with the label


@dataclass(frozen=True)
class Receipt:
    accepted: int
    unknown: int
    unknown_ids: list[str]


class FeedbackReceiver:
    """``receive`` labels for the predictions of ``engine``, logged to ``log``."""

    def __init__(self, engine, log, root: str, *, flush_interval: float) -> None:
        self.engine = engine
        self.log = log
        self.root = root
        self.recent = timedelta(seconds=flush_interval + 2)

    def receive(self, labels: Sequence[Label]) -> Receipt:
        for index, item in enumerate(labels):
            _check_number(index, item)
        models = self.locate([item.prediction_id for item in labels])
        classes = {name: self._classes(name) for name in set(models.values())}
        for index, item in enumerate(labels):
            name = models.get(item.prediction_id)
            if name is not None:
                _check_task(index, item, name, classes[name])
        known = [item for item in labels if item.prediction_id in models]
        self.log.append(
            {"prediction_id": i.prediction_id, "label": i.label, "time": i.time,
             "attributes": i.attributes} for i in known
        )  # fmt: skip
        unknown = list(
            dict.fromkeys(i.prediction_id for i in labels if i.prediction_id not in models)
        )
        return Receipt(len(known), len(unknown), unknown[:SHOWN_UNKNOWN])

    def locate(self, ids: Sequence[str]) -> dict[str, str]:
        """The model of each id found in the prediction log, reading only the ids' hours."""
        from loopml.predictions.reader import read_predictions

        hours: dict[datetime, set[str]] = {}
        newest = None
        for prediction_id in ids:
            issued = issued_at(prediction_id)
            if issued is not None:
                hour = issued.replace(minute=0, second=0, microsecond=0)
                hours.setdefault(hour, set()).add(prediction_id)
                newest = max(newest or issued, issued)
        if len(hours) > MAX_HOURS:
            raise InvalidInput(
                f"These labels are for predictions of {len(hours)} different hours; one request "
                f"may cover at most {MAX_HOURS} (31 days).",
                hint="Send the labels in batches by the time of their predictions.",
            )
        if newest is not None and newest >= datetime.now(timezone.utc) - self.recent:
            self.engine.flush_log()  # the newest predictions may still be in memory
        found: dict[str, str] = {}
        for name in self.engine.pool.source.model_names():
            for hour, wanted in hours.items():
                table = read_predictions(
                    self.root, name, hour, hour + timedelta(hours=1), columns=["prediction_id"]
                )
                for prediction_id in set(table["prediction_id"].to_pylist()) & wanted:
                    found[prediction_id] = name
        return found

    def _classes(self, name: str) -> list[Any] | None:
        """The classes of the model's served version; None for a regression (or not loaded)."""
        from loopml.serving.scoring import model_classes

        try:
            served = self.engine.reference(name)
        except LoopmlError:
            return None
        classes = model_classes(served.model)
        return None if classes is None else list(classes)


def _check_number(index: int, item: Label) -> None:
    value = item.label
    if isinstance(value, (bool, str)):  # a text class is checked against the model's classes
        return
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad_label(
            index,
            item,
            f"label {value!r:.40} of prediction {item.prediction_id!r} is not a finite number",
            "Send labels as numbers, or a classifier's classes as it names them; leave out "
            "predictions whose truth is unknown.",
        )


def _check_task(index: int, item: Label, model: str, classes: list[Any] | None) -> None:
    if classes is None:
        if isinstance(item.label, (bool, str)):
            raise _bad_label(
                index,
                item,
                f"label {item.label!r:.40} of prediction {item.prediction_id!r} is not a number, "
                f"but model {model!r} is a regression",
                "Send the observed value as a number.",
            )
        return
    if not any(_same_class(item.label, c) for c in classes):
        shown = ", ".join(str(c) for c in classes[:20])
        raise _bad_label(
            index,
            item,
            f"label {item.label!r} of prediction {item.prediction_id!r} is not a class of "
            f"model {model!r} (classes: {shown})",
            "Send one of the model's classes as the label.",
        )


def _same_class(label: Any, cls: Any) -> bool:
    if isinstance(label, str) or isinstance(cls, str):
        return str(label) == str(cls)
    try:
        return float(label) == float(cls)
    except (TypeError, ValueError):
        return False


def _bad_label(index: int, item: Label, problem: str, hint: str) -> InvalidInput:
    error = InvalidInput(f"body.feedback.{index}.label: {problem}.", hint=hint)
    error.fields = [{"field": f"body.feedback.{index}.label", "problem": problem}]
    return error
