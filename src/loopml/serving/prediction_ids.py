"""Prediction ids that tell when they were issued: 12 hex digits of Unix milliseconds,
then 20 random ones (80 bits). Feedback finds a prediction by reading only the
hour of the prediction log that its id names."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

_EARLIEST = datetime(2020, 1, 1, tzinfo=timezone.utc)


def new_ids(count: int) -> list[str]:
    """``count`` fresh ids of this millisecond (32 hex digits, as a UUID's hex)."""
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    random = os.urandom(10 * count).hex()
    return [stamp + random[20 * i : 20 * (i + 1)] for i in range(count)]


def issued_at(prediction_id: str) -> datetime | None:
    """When ``prediction_id`` was issued; None for an id of another form."""
    if len(prediction_id) != 32:
        return None
    try:
        issued = datetime.fromtimestamp(int(prediction_id[:12], 16) / 1000, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    if not _EARLIEST <= issued <= datetime.now(timezone.utc) + timedelta(days=1):
        return None
    return issued
