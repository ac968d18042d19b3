"""The columns of the prediction log and the feedback log, and how values become columns.

A prediction row holds the fixed ``FIELDS`` and one ``input.<feature>`` column
per column the request sent (a sensitive attribute sent beside the model's
inputs is logged too). ``time`` is when the server answered and
``event_time`` the time the row is about (the request's ``event_time``, else
``time``): windows, monitors and the log's hour folders go by ``event_time``, so
a backfill or a replay of old data lands where its own time says. A feedback row
may carry attributes known only with the label (``attribute.<name>``);
``attribute`` reads one from either log. ``attributions`` holds, for the sample
of rows serving explained, the largest contributions to the prediction, largest
first. ``prediction`` is a number for regressors and
for classifiers with numeric or boolean classes (``True`` is 1.0), and the
class as text for classifiers with text classes; ``label`` in the feedback log
follows the same rule, so a label compares with its prediction as sent.
``cpu_ms`` is the CPU time the model's call took on the thread that ran it
(``time.thread_time``), shared evenly among the rows of that call; null in
rows logged before it was recorded, or by hand without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loopml.errors import InvalidInput

INPUT_PREFIX = "input."
ATTRIBUTE_PREFIX = "attribute."  # attributes sent with feedback
ATTRIBUTIONS_TYPE = pa.list_(pa.struct([("feature", pa.string()), ("contribution", pa.float64())]))
TIME_TYPE = pa.timestamp("us", tz="UTC")
FIELDS = {
    "prediction_id": pa.string(),
    "time": TIME_TYPE,
    "event_time": TIME_TYPE,
    "model": pa.string(),
    "version": pa.int64(),
    "segment": pa.string(),
    "prediction": pa.float64(),  # or text: see outcome_column
    "proba": pa.float64(),
    "latency_ms": pa.float64(),
    "cpu_ms": pa.float64(),  # the model call's CPU time (thread time) spent on this row
    "flags": pa.list_(pa.string()),
    "shadow": pa.bool_(),
    "attributions": ATTRIBUTIONS_TYPE,  # null for rows not in the explained sample
}
PREDICTION_COLUMNS = tuple(FIELDS)
REQUIRED = ("prediction_id", "model", "prediction")  # a record's time defaults to now
FEEDBACK_SCHEMA = pa.schema(
    [("prediction_id", pa.string()), ("label", pa.float64()), ("time", TIME_TYPE)]
)


def input_column_name(feature: str) -> str:
    return f"{INPUT_PREFIX}{feature}"


def inputs(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    """The logged inputs of ``table`` under their features' own names."""
    return {
        name[len(INPUT_PREFIX) :]: table[name]
        for name in table.column_names
        if name.startswith(INPUT_PREFIX)
    }


def attribute_column_name(name: str) -> str:
    return f"{ATTRIBUTE_PREFIX}{name}"


def attributes(table: pa.Table) -> list[str]:
    """The names of the feedback attributes in ``table``."""
    return [
        n[len(ATTRIBUTE_PREFIX) :] for n in table.column_names if n.startswith(ATTRIBUTE_PREFIX)
    ]


def attribute(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    """Each row's value of attribute ``name``: as logged with the prediction, else as sent
    with its feedback (as text where the two disagree in type); None if in neither."""
    found = [
        c for c in (input_column_name(name), attribute_column_name(name)) if c in table.column_names
    ]
    if not found:
        return None
    if len(found) == 1:
        return table[found[0]]
    logged, sent = table[found[0]], table[found[1]]
    if logged.type != sent.type:
        logged, sent = pc.cast(logged, pa.string()), pc.cast(sent, pa.string())
    return pc.coalesce(logged, sent)


def predictions_table(
    fields: Mapping[str, list[Any]], features: Mapping[str, list[Any]]
) -> pa.Table:
    """A table in the log's columns from the fixed fields' values and each feature's values."""
    arrays = {}
    for name, values in fields.items():
        arrays[name] = (
            outcome_column(values) if name == "prediction" else pa.array(values, FIELDS[name])
        )
    for name, values in features.items():
        arrays[input_column_name(name)] = input_column(values)
    return pa.table(arrays)


def input_column(values: list[Any]) -> pa.Array:
    """A feature's values as sent; mixed types in one feature are kept as text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def outcome_column(values: Iterable[Any]) -> pa.Array:
    """Predictions or labels: numbers (booleans as 0/1, NaN as null), else the classes as text."""
    values = list(values)
    try:
        return pa.array(values, pa.float64(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_text(v) for v in values], pa.string())


def outcome(value: Any, field: str) -> float | str | None:
    """One prediction or label as the log keeps it (see ``outcome_column``)."""
    if value is None or isinstance(value, str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field} must be a number, a boolean or a class name; got {value!r:.80}.",
            hint="Send the value the model predicts: a number, or its class as text.",
        ) from None
    return None if math.isnan(number) else number


def number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field} must be a number; got {value!r:.80}.", hint="Send a number or null."
        ) from None


def utc(value: Any) -> datetime:
    """An aware UTC time from a datetime, pandas Timestamp or ISO 8601 text; None is now."""
    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"Time {value!r:.60} is not an ISO 8601 time.",
                hint="Send times like 2026-03-01T12:00:00+00:00.",
            ) from None
    if not isinstance(value, datetime):
        value = value.to_pydatetime()  # pandas Timestamp
    if value.tzinfo is None:
        raise InvalidInput(
            f"Time {value.isoformat()} has no time zone.",
            hint="Pass aware UTC datetimes, e.g. datetime.now(timezone.utc).",
        )
    return value.astimezone(timezone.utc)


def unified(tables: list[pa.Table]) -> pa.Table:
    """The tables as one; a column whose type differs between them is kept as text."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        types: dict[str, set[pa.DataType]] = {}
        for table in tables:
            for field in table.schema:
                types.setdefault(field.name, set()).add(field.type)
        mixed = [name for name, kinds in types.items() if len(kinds) > 1]
        return pa.concat_tables([_as_text(t, mixed) for t in tables], promote_options="permissive")


def _as_text(table: pa.Table, names: list[str]) -> pa.Table:
    for name in names:
        if name in table.column_names:
            position = table.column_names.index(name)
            table = table.set_column(position, name, pc.cast(table[name], pa.string()))
    return table


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
