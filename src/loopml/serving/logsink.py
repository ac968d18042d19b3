"""Hand answered requests to the prediction log without slowing the answer down.

A request only appends one object to a deque; a thread turns all that has
queued into one Arrow table, column by column (no dict per row: this thread
shares the interpreter with the requests), and appends it to the
``PredictionLog``, which writes Parquet in batches on its own thread. The
sink drains a quarter of the log's flush interval, so a server killed without
warning loses at most about that interval (see ``loopml.predictions.writer``);
``close`` drains everything and flushes, so a graceful shutdown loses nothing
that was answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from loopml.predictions.schema import PREDICTION_COLUMNS, predictions_table
from loopml.serving.rows import Rows

log = logging.getLogger("loopml.serving")


@dataclass(frozen=True)
class Answered:
    """The rows one version answered (or shadowed) for one request."""

    time: datetime
    model: str
    version: int
    segments: list[str]
    rows: Rows
    prediction_ids: list[str]
    predictions: list[Any]
    proba: list[float] | None
    flags: list[list[str]]
    latency_ms: float
    shadow: bool = False
    cpu_seconds: float = 0.0  # the model's CPU time for these rows
    event_times: list[datetime] | None = None  # per row; None: each is ``time``
    served: Any = None  # the version that answered, to explain a sample of the rows with


class PredictionSink:
    def __init__(self, prediction_log, *, interval: float | None = None, attributions=None) -> None:
        self.log = prediction_log
        self.attributions = attributions  # an AttributionSample, or None: nothing explained
        self.interval = interval or prediction_log.flush_interval / 4
        self.dropped = 0
        self._pending: deque[Answered] = deque()
        self._draining = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="loopml-prediction-sink", daemon=True
        )
        self._thread.start()
        # drained again just before each write: the log's interval bounds a row's wait
        prediction_log.feed_before_each_write(self.drain)

    def put(self, answered: Answered) -> None:
        self._pending.append(answered)

    def drain(self) -> None:
        """Hand what is pending to the log; returns once earlier drains have, too."""
        with self._draining:
            self._drain()

    def _drain(self) -> None:
        answers: list[Answered] = []
        while self._pending:
            answers.append(self._pending.popleft())
        if answers:
            try:
                self.log.append_table(answers_table(answers, self._attributions(answers)))
            except Exception:
                rows = sum(answer.rows.length for answer in answers)
                self.dropped += rows
                log.exception("prediction log: %d predictions could not be logged", rows)

    def _attributions(self, answers: list[Answered]) -> list[Any] | None:
        """Explained here, on the sink's thread: never on a request's path."""
        if self.attributions is None:
            return None
        return [
            None if a.shadow else self.attributions.attributions(a.served, a.time, a.rows)
            for a in answers
        ]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.drain()
        self.log.close()

    def _loop(self) -> None:
        due = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due = time.monotonic() + self.interval  # from this drain's start, not its end
            self.drain()


def answers_table(answers: list[Answered], attributions: list[Any] | None = None) -> pa.Table:
    """The answers as rows of the prediction log, built a column at a time; ``attributions``
    holds, per answer, each row's top contributions (or None)."""
    columns: dict[str, list[Any]] = {name: [] for name in PREDICTION_COLUMNS}
    inputs: dict[str, list[Any]] = {}
    rows = 0
    for position, answer in enumerate(answers):
        n = answer.rows.length
        explained = attributions[position] if attributions else None
        columns["attributions"] += explained or [None] * n
        columns["prediction_id"] += answer.prediction_ids
        columns["segment"] += answer.segments
        columns["prediction"] += answer.predictions
        columns["proba"] += answer.proba or [None] * n
        columns["flags"] += answer.flags
        columns["event_time"] += answer.event_times or [answer.time] * n
        columns["cpu_ms"] += [answer.cpu_seconds * 1000 / max(1, n)] * n
        for name, value in (
            ("time", answer.time),
            ("model", answer.model),
            ("version", answer.version),
            ("latency_ms", answer.latency_ms),
            ("shadow", answer.shadow),
        ):
            columns[name] += [value] * n
        for name, values in answer.rows.columns.items():
            inputs.setdefault(name, [None] * rows).extend(values)
        rows += n
        for values in inputs.values():
            values.extend([None] * (rows - len(values)))
    return predictions_table(columns, inputs)
