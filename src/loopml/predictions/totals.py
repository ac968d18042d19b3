"""Per-segment totals of one prediction-log file, kept in a small file beside it.

The writer puts ``<uuid>.totals`` (Arrow IPC: one row per segment and version with
the rows, first and last event time and CPU) beside each ``<uuid>.parquet`` before
renaming the Parquet file into place, so whoever sees a log file also sees its
totals, and a summary of the whole log reads a few bytes per file instead of every
row. A file without one (written before totals were kept, or by other means) has
its totals computed from its rows instead: the totals are a shortcut, never the
only record.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from loopml.predictions.schema import TIME_TYPE

SUFFIX = ".totals"
COLUMNS = ("segment", "version", "time", "event_time", "cpu_ms")  # what totals read of a file
SCHEMA = pa.schema(
    [
        ("segment", pa.string()),
        ("version", pa.int64()),
        ("rows", pa.int64()),
        ("first", TIME_TYPE),
        ("last", TIME_TYPE),
        ("cpu_ms", pa.float64()),
    ]
)


def totals_of(table: pa.Table) -> pa.Table:
    """Rows, first and last event time and CPU per segment and version of ``table``
    (the log's columns; ``event_time`` is ``time`` for rows written before it existed)."""
    if "event_time" not in table.column_names:
        table = table.append_column("event_time", table["time"])
    if "cpu_ms" not in table.column_names:  # written before it was recorded
        table = table.append_column("cpu_ms", pa.nulls(table.num_rows, pa.float64()))
    if "segment" not in table.column_names:  # a log without segments: all are ""
        table = table.append_column("segment", pa.array([""] * table.num_rows, pa.string()))
    if "version" not in table.column_names:  # rows of no known version: 0, as the writer
        table = table.append_column("version", pa.array([0] * table.num_rows, pa.int64()))
    grouped = table.group_by(["segment", "version"]).aggregate(
        [("event_time", "count"), ("event_time", "min"), ("event_time", "max"), ("cpu_ms", "sum")]
    )
    return pa.table(
        {
            "segment": pc.cast(grouped["segment"], pa.string()),
            "version": pc.cast(grouped["version"], pa.int64()),
            "rows": pc.cast(grouped["event_time_count"], pa.int64()),
            "first": pc.cast(grouped["event_time_min"], TIME_TYPE),
            "last": pc.cast(grouped["event_time_max"], TIME_TYPE),
            "cpu_ms": pc.cast(grouped["cpu_ms_sum"], pa.float64()),
        },
        schema=SCHEMA,
    )


def totals_path(parquet_path: str) -> str:
    """Where the totals of the log file ``parquet_path`` are kept."""
    return parquet_path.removesuffix(".parquet") + SUFFIX


def to_bytes(totals: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, totals.schema) as writer:
        writer.write_table(totals)
    return sink.getvalue().to_pybytes()


def from_bytes(data: bytes) -> pa.Table:
    return pa.ipc.open_file(pa.py_buffer(data)).read_all()
