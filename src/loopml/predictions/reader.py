"""Reading the prediction log and the feedback log by time window, one hour folder at a time.

Predictions are selected by ``event_time``, the time they are about (see
``loopml.predictions.schema``); labels by their own ``time``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from loopml.predictions import totals
from loopml.predictions.schema import FEEDBACK_SCHEMA, FIELDS, TIME_TYPE, unified, utc


def read_predictions(
    root: str,
    model: str,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
    segment: str | None = None,
) -> pa.Table:
    """Predictions of ``model`` with ``start <= event_time < end``, reading only that window's
    hours; with ``segment`` (a canonical key), only that segment's rows."""
    fs, base = _fs(root)
    folder = f"{base}/predictions/model={model}"
    table = _read_window(fs, folder, start, end, columns, key="event_time", segment=segment)
    return _empty_predictions(columns) if table is None else table


@dataclass(frozen=True)
class LogSummary:
    """What the log holds of one version of one segment of a model."""

    segment: str
    version: int
    predictions: int
    first: datetime | None  # event times
    last: datetime | None
    cpu_seconds: float | None  # the model's CPU time on the rows that recorded it
    # (``cpu_ms``); None when none did (rows logged by hand, or before it was recorded)


def summarize(root: str, model: str) -> list[LogSummary]:
    """Per segment and version of ``model``: how many predictions the log holds, their
    first and last event time and the serving CPU they cost; shadow rows included.

    Each file's totals come from the small file the writer keeps beside it (or, for a
    file without one, from its rows) and are kept once read (a written file never
    changes: the writer renames whole files into place)."""
    fs, base = _fs(root)
    folder = f"{base}/predictions/model={model}"
    parts = []
    for hour in _hours(fs, folder, None, None):
        names = set(_listing(fs, hour))
        for path in sorted(n for n in names if n.endswith(".parquet")):
            kept = totals.totals_path(path)
            parts.append(_kept_totals(fs, kept) if kept in names else _file_totals(fs, path))
    if not parts:
        return []
    grouped = (
        pa.concat_tables(parts)
        .group_by(["segment", "version"])
        .aggregate([("rows", "sum"), ("first", "min"), ("last", "max"), ("cpu_ms", "sum")])
    )
    return sorted(
        (
            LogSummary(
                row["segment"],
                row["version"],
                row["rows_sum"],
                row["first_min"],
                row["last_max"],
                None if row["cpu_ms_sum"] is None else row["cpu_ms_sum"] / 1000,
            )
            for row in grouped.to_pylist()
        ),
        key=lambda s: (s.segment, s.version),
    )


@functools.lru_cache(maxsize=50_000)
def _kept_totals(fs, path: str) -> pa.Table:
    with fs.open(path, "rb") as handle:
        return totals.from_bytes(handle.read())


@functools.lru_cache(maxsize=50_000)
def _file_totals(fs, path: str) -> pa.Table:
    """The totals of a log file kept without them, from its rows."""
    with fs.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        names = parquet.schema_arrow.names
        table = parquet.read(columns=[c for c in totals.COLUMNS if c in names])
    return totals.totals_of(table)


def log_folder(root: str, model: str) -> str:
    """Where ``model``'s predictions are kept."""
    return f"{str(root).rstrip('/')}/predictions/model={model}/"


def event_clock(root: str, model: str, *, now: datetime | None = None) -> datetime | None:
    """Where ``model``'s log ends in event time: just after its newest event that is not
    after ``now`` (the wall clock); None for an empty log.

    Monitors run at this time, so a replay of old data is judged at its own dates,
    and rows about the future (forecasts) do not move the clock ahead.
    """
    fs, base = _fs(root)
    now = utc(now)
    folder = f"{base}/predictions/model={model}"
    for hour in reversed(_hours(fs, folder, None, now)):
        table = _read_window(fs, hour, None, now, ["event_time"], key="event_time", flat=True)
        if table is not None and table.num_rows:
            return pc.max(table["event_time"]).as_py() + timedelta(microseconds=1)
    return None


def read_feedback(
    root: str, start: datetime | None = None, end: datetime | None = None
) -> pa.Table:
    """Labels received with ``start <= time < end``."""
    fs, base = _fs(root)
    table = _read_window(fs, f"{base}/feedback", start, end, None, key="time")
    return FEEDBACK_SCHEMA.empty_table() if table is None else table


def _read_window(
    fs, folder: str, start, end, columns, *, key: str, flat=False, segment: str | None = None
) -> pa.Table | None:
    """Rows of the hour folders under ``folder`` (or of ``folder`` itself, ``flat``) with
    ``start <= key < end`` (and of one ``segment``: each file is narrowed as it is read, so
    one segment of a million rows costs what it reads, not a million-row filter)."""
    start = utc(start) if start is not None else None
    end = utc(end) if end is not None else None
    hours = [folder] if flat else _hours(fs, folder, start, end)
    files = [f for hour in hours for f in _parquet_files(fs, hour)]
    tables = []
    for path in files:
        with fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            names = parquet.schema_arrow.names
            if segment is not None and "segment" in names:
                # Segments repeat: read as a dictionary, their compare is over a few codes.
                parquet = pq.ParquetFile(handle, read_dictionary=["segment"])
            wanted = None if columns is None else [c for c in (*columns, "time", key) if c in names]
            if wanted and segment is not None and "segment" in names:
                wanted.append("segment")
            table = parquet.read(columns=list(dict.fromkeys(wanted)) if wanted else None)
            if segment is not None:
                table = _one_segment(table, segment)
            tables.append(_with_event_time(table, key))
    if not tables:
        return None
    # Files of one folder may disagree on a column's type (a model's classes became text).
    table = unified(tables)
    mask = None
    if start is not None:
        mask = pc.greater_equal(table[key], pa.scalar(start, TIME_TYPE))
    if end is not None:
        upper = pc.less(table[key], pa.scalar(end, TIME_TYPE))
        mask = upper if mask is None else pc.and_(mask, upper)
    if mask is not None:
        table = table.filter(mask)
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    return table


def _one_segment(table: pa.Table, segment: str) -> pa.Table:
    if "segment" not in table.column_names:  # a table logged without segments: all are ""
        return table if segment == "" else table.slice(0, 0)
    table = table.filter(pc.equal(table["segment"], pa.scalar(segment)))
    index = table.column_names.index("segment")
    return table.set_column(index, "segment", table["segment"].cast(pa.string()))


def _with_event_time(table: pa.Table, key: str) -> pa.Table:
    """Files written before predictions carried an event time: it is their ``time``."""
    if key != "event_time" or "event_time" in table.column_names:
        return table
    return table.append_column("event_time", table["time"])


def _hours(fs, folder: str, start: datetime | None, end: datetime | None) -> list[str]:
    """The hour folders under ``folder`` that overlap ``[start, end)``."""
    hours = []
    for date_dir in _listdirs(fs, folder, "date="):
        for hour_dir in _listdirs(fs, date_dir, "hour="):
            stamp = f"{date_dir.rsplit('date=', 1)[1]} {hour_dir.rsplit('hour=', 1)[1]}"
            try:
                begin = datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
            except ValueError:  # a folder someone else put there
                continue
            if (end is None or begin < end) and (
                start is None or begin + timedelta(hours=1) > start
            ):
                hours.append(hour_dir)
    return sorted(hours)


def _listdirs(fs, folder: str, prefix: str) -> list[str]:
    with contextlib.suppress(FileNotFoundError):
        return [
            entry["name"].rstrip("/")
            for entry in fs.ls(folder, detail=True)
            if entry["type"] == "directory"
            and entry["name"].rstrip("/").rsplit("/", 1)[-1].startswith(prefix)
        ]
    return []


def _parquet_files(fs, folder: str) -> list[str]:
    return sorted(path for path in _listing(fs, folder) if path.endswith(".parquet"))


def _listing(fs, folder: str) -> list[str]:
    return [path.rstrip("/") for path in fs.ls(folder, detail=False)]


def _empty_predictions(columns: Sequence[str] | None) -> pa.Table:
    schema = pa.schema(list(FIELDS.items()))
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns if c in FIELDS])
    return schema.empty_table()


def _fs(root: str):
    import fsspec

    fs, base = fsspec.core.url_to_fs(str(root))
    return fs, base.rstrip("/")
