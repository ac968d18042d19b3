"""Hand answered requests to the prediction log without slowing the answer down.

A request only appends one tuple to a deque; a thread turns the tuples into
log records and appends them to the ``PredictionLog`` (which writes Parquet in
batches on its own thread). ``close`` drains everything and flushes, so a
graceful shutdown loses nothing that was answered.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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

    def records(self) -> list[dict[str, Any]]:
        proba = self.proba or [None] * self.rows.length
        return [
            {
                "prediction_id": self.prediction_ids[i],
                "time": self.time,
                "model": self.model,
                "version": self.version,
                "segment": self.segments[i],
                "prediction": _number(self.predictions[i]),
                "proba": proba[i],
                "latency_ms": self.latency_ms,
                "flags": self.flags[i],
                "shadow": self.shadow,
                "inputs": self.rows.record(i),
            }
            for i in range(self.rows.length)
        ]


class PredictionSink:
    def __init__(self, prediction_log, *, interval: float = 0.2) -> None:
        self.log = prediction_log
        self.interval = interval
        self.dropped = 0
        self._pending: deque[Answered] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="loopml-prediction-sink", daemon=True
        )
        self._thread.start()

    def put(self, answered: Answered) -> None:
        self._pending.append(answered)

    def drain(self) -> None:
        records: list[dict[str, Any]] = []
        while self._pending:
            records.extend(self._pending.popleft().records())
        if records:
            try:
                self.log.append(records)
            except Exception:
                self.dropped += len(records)
                log.exception("prediction log: %d records could not be logged", len(records))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.drain()
        self.log.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.drain()


def _number(value: Any) -> Any:
    """The log keeps numeric predictions; a class label that is not a number is kept as is."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return value if not (isinstance(value, float) and math.isnan(value)) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
