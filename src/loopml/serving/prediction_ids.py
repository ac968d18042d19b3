"""Prediction ids that tell the hour of the log their row is in: 12 hex digits of the
Unix milliseconds of the row's event time (48-bit two's complement, so times before
1970 have ids too), then 20 random ones (80 bits). Feedback finds a prediction by
reading only the hour of the prediction log that its id names."""

from __future__ import annotations

import os
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
    random = os.urandom(10 * count).hex()
    return [stamps[i] + random[20 * i : 20 * (i + 1)] for i in range(count)]


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
