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
from datetime import datetime, timedelta
from typing import Any

from loopml.errors import InvalidInput, LoopmlError
from loopml.serving.prediction_ids import stamped_at

SHOWN_UNKNOWN = 10
MAX_HOURS = 31 * 24  # the hours of the log one request may make the server read


@dataclass(frozen=True)
class Label:
    prediction_id: str
    label: Any
    event_time: str | None = None  # when the truth was known; default now
    attributes: dict[str, Any] | None = None  # sensitive attributes known with the label


@dataclass(frozen=True)
class Receipt:
    accepted: int
    unknown: int
    unknown_ids: list[str]


class FeedbackReceiver:
    """``receive`` labels for the predictions of ``engine``, logged to ``log``."""

    def __init__(self, engine, log, root: str, *, histories=None) -> None:
        self.engine = engine
        self.log = log
        self.root = root
        self.histories = histories  # forecasts' labels extend their segments' history

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
            {
                "prediction_id": i.prediction_id,
                "label": i.label,
                "time": i.event_time,
                "attributes": i.attributes,
            }
            for i in known
        )
        self._extend_history(known, models)
        unknown = list(
            dict.fromkeys(i.prediction_id for i in labels if i.prediction_id not in models)
        )
        return Receipt(len(known), len(unknown), unknown[:SHOWN_UNKNOWN])

    def locate(self, ids: Sequence[str]) -> dict[str, str]:
        """The model of each id found in the prediction log, reading only the ids' hours."""
        from loopml.predictions.reader import read_predictions

        hours: dict[datetime, set[str]] = {}
        for prediction_id in ids:
            stamp = stamped_at(prediction_id)
            if stamp is not None:
                hour = stamp.replace(minute=0, second=0, microsecond=0)
                hours.setdefault(hour, set()).add(prediction_id)
        if len(hours) > MAX_HOURS:
            raise InvalidInput(
                f"These labels are for predictions of {len(hours)} different hours; one request "
                f"may cover at most {MAX_HOURS} (31 days).",
                hint="Send the labels in batches by the time of their predictions.",
            )
        # The predictions may still be in memory, whatever time they are about (a replay's
        # labels follow their predictions by a moment); a flush with nothing pending is free.
        self.engine.flush_log()
        found: dict[str, str] = {}
        for name in self.engine.pool.source.model_names():
            for hour, wanted in hours.items():
                table = read_predictions(
                    self.root, name, hour, hour + timedelta(hours=1), columns=["prediction_id"]
                )
                for prediction_id in set(table["prediction_id"].to_pylist()) & wanted:
                    found[prediction_id] = name
        return found

    def _extend_history(self, known: Sequence[Label], models: dict[str, str]) -> None:
        from loopml.predictions.reader import read_predictions

        histories = [self.histories.known(name) for name in set(models.values())]
        history = next((h for h in histories if h is not None), None) if self.histories else None
        if history is None:
            return
        model = history.recipe.model
        labels = {i.prediction_id: i.label for i in known if models[i.prediction_id] == model}
        stamps = [stamped_at(i) for i in labels]
        start, end = min(stamps), max(stamps) + timedelta(hours=1)
        rows = read_predictions(
            self.root,
            history.recipe.model,
            start,
            end,
            columns=["prediction_id", "segment", "event_time"],
        ).to_pandas()
        rows = rows[rows["prediction_id"].isin(labels)].drop_duplicates("prediction_id")
        for segment, part in rows.groupby("segment"):
            values = [float(labels[i]) for i in part["prediction_id"]]
            history.add_labels(segment, part["event_time"].tolist(), values)

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
