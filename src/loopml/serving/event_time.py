"""The time a row is about: an ``event_time`` column of a request or a scored table.

It is not a feature: it is taken out before scoring, checked (ISO 8601 text or a
datetime, with a time zone), and logged with each prediction. A row without
one is about the moment the server answers it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loopml.errors import InvalidInput
from loopml.predictions.schema import utc
from loopml.serving.rows import Rows

EVENT_TIME = "event_time"


def take_event_times(rows: Rows, now: datetime) -> tuple[Rows, list[datetime] | None]:
    """``rows`` without their ``event_time`` column, and each row's time (``now`` where
    missing); None when no row carries one."""
    values = rows.columns.get(EVENT_TIME)
    if values is None:
        return rows, None
    times = [now if value is None else _parsed(value, index) for index, value in enumerate(values)]
    columns = {name: column for name, column in rows.columns.items() if name != EVENT_TIME}
    return Rows(columns, rows.length), times


def _parsed(value: Any, index: int) -> datetime:
    if not isinstance(value, str):
        raise _invalid(index, f"must be ISO 8601 text, not {type(value).__name__}")
    try:
        return utc(value)
    except InvalidInput as error:
        raise _invalid(index, error.message.rstrip(".")) from None


def _invalid(index: int, problem: str) -> InvalidInput:
    where = f"body.records.{index}.{EVENT_TIME}"
    error = InvalidInput(
        f"{where}: {problem}.",
        hint="Send the time each row is about with its time zone, e.g. 2024-03-01T00:00:00Z, "
        "or leave event_time out for now.",
    )
    error.fields = [{"field": where, "problem": problem}]
    return error


def event_time_column(frame):
    """A scored table's ``event_time`` column as UTC times; refused when a time has no zone."""
    import pandas as pd

    values = frame[EVENT_TIME]
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        try:
            values = pd.to_datetime(values, format="ISO8601")
        except (ValueError, TypeError):  # offsets that differ from row to row
            values = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    if not isinstance(values.dtype, pd.DatetimeTZDtype) or values.isna().any():
        raise InvalidInput(
            f"Column {EVENT_TIME} holds times without a time zone or that do not parse "
            f"(first: {frame[EVENT_TIME].iloc[0]!r:.40}).",
            hint="Write each row's time with its zone, e.g. 2024-03-01T00:00:00Z, or drop the "
            "column to score as of now.",
        )
    return values.dt.tz_convert("UTC")
