"""Prediction ids that tell the hour of the log their row is in: 12 hex digits of the
Unix milliseconds of the row's event time (48-bit two's complement, so times before
1970 have ids too), then 20 random ones (80 bits). Feedback finds a prediction by
reading only the hour of the prediction log that its id names."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

_BITS = 48
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def new_ids(count: int, event_times: Sequence[datetime] | None = None) -> list[str]:
    """``count`` fresh ids (32 hex digits, as a UUID's hex), stamped with each row's event
    time, or with this millisecond."""
    if event_times is None:
        stamps = [f"{time.time_ns() // 1_000_000:012x}"] * count
    else:
        stamps = [f"{_milliseconds(t) % (1 << _BITS):012x}" for t in event_times]
    random = _random.hex(10 * count)
    return [stamps[i] + random[20 * i : 20 * (i + 1)] for i in range(count)]


class _RandomBytes:
    """The system's random bytes, read a few kilobytes at a time: one request's id
    costs no call into the system. A forked process empties its copy (the parent's
    bytes must not become the child's ids)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.empty()
        os.register_at_fork(after_in_child=self.empty)

    def empty(self) -> None:
        self.buffer, self.position, self.lock = b"", 0, threading.Lock()

    def hex(self, count: int) -> str:
        if count > self.size:
            return os.urandom(count).hex()
        with self.lock:
            if self.position + count > len(self.buffer):
                self.buffer, self.position = os.urandom(self.size), 0
            start = self.position
            self.position += count
            return self.buffer[start : self.position].hex()


_random = _RandomBytes()


def stamped_at(prediction_id: str) -> datetime | None:
    """The event time ``prediction_id`` was stamped with; None for an id of another form."""
    if len(prediction_id) != 32:
        return None
    try:
        stamp = int(prediction_id[:12], 16)
    except ValueError:
        return None
    if stamp >= 1 << (_BITS - 1):
        stamp -= 1 << _BITS
    try:
        return _EPOCH + timedelta(milliseconds=stamp)
    except OverflowError:
        return None


def _milliseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)
