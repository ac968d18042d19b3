"""Writing the prediction log and the feedback log: Parquet files partitioned by model and hour.

Serving appends records; ``append`` only puts them in a list, and a background
thread writes them in batches (when the buffer is full, at least once per
``flush_interval`` — one second by default — and on ``close``), so logging
never waits for storage on the request path. A process killed without warning
(SIGKILL, power loss) therefore loses at most the last ``flush_interval`` of
records. Files are written under a temporary name and renamed, so a reader
sees whole files only::

    <root>/predictions/model=<name>/date=YYYY-MM-DD/hour=HH/<uuid>.parquet
    <root>/predictions/model=<name>/date=YYYY-MM-DD/hour=HH/<uuid>.totals
    <root>/feedback/date=YYYY-MM-DD/hour=HH/<uuid>.parquet

Beside each predictions file, its per-segment totals (``loopml.predictions.totals``),
so a summary of the log reads those instead of every row.

A prediction's hour is the hour of its ``event_time`` (the time it is about,
``time`` when the request gave none) and a label's the hour of its own
``time``, not of the write, so a late batch, a backfill or a replay lands where
a window reader looks for it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from loopml.errors import InvalidInput
from loopml.predictions import schema, totals
from loopml.registry.segments import canonical_segment

FLUSH_INTERVAL = 1.0  # seconds: the most a killed server loses
FLUSH_SIZE = 10_000


def writer_options(table_schema: pa.Schema) -> dict[str, Any]:
    """Dictionary encoding only for columns whose values repeat.

    Parquet writers dictionary-encode every column by default. Floating-point
    columns (features, probabilities) rarely repeat a value, and building their
    dictionaries was most of the time of writing a million scored rows (4x).
    """
    return {"use_dictionary": [f.name for f in table_schema if not pa.types.is_floating(f.type)]}


class _BatchWriter:
    """Buffer rows in memory as Arrow tables; a daemon thread writes them in batches."""

    thread_name = "loopml-log"

    def __init__(
        self, root_uri: str, *, flush_size: int = FLUSH_SIZE, flush_interval: float = FLUSH_INTERVAL
    ) -> None:
        import fsspec

        if flush_size < 1 or flush_interval <= 0:
            raise InvalidInput(
                f"flush_size={flush_size}, flush_interval={flush_interval} cannot buffer anything.",
                hint="Use flush_size >= 1 and flush_interval > 0.",
            )
        self.fs, root = fsspec.core.url_to_fs(str(root_uri))
        self.root = root.rstrip("/")
        self.flush_size = flush_size
        self.flush_interval = flush_interval
        self._pending: dict[str, list[pa.Table]] = defaultdict(list)  # folder -> tables
        self._rows = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.last_error: BaseException | None = None
        self._feeders: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Check and buffer records; they are written shortly after, off the caller's path."""
        self._check_open()
        folders: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            row = self._normalize(record)
            folders[self._folder(row)].append(row)
        for folder, rows in folders.items():
            self._buffer(folder, self._table(rows))

    def flush(self) -> None:
        """Write what is buffered now; on failure the rows stay for the next try."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending, self._rows = self._pending, defaultdict(list), 0
            try:
                # Folder by folder, so a failure re-buffers only what was not written.
                for folder in list(pending):
                    table = schema.unified(pending[folder])
                    _write_parquet(self.fs, folder, table, self._totals(table))
                    del pending[folder]
            except BaseException:
                with self._lock:
                    for folder, tables in pending.items():
                        self._pending[folder][:0] = tables
                        self._rows += sum(table.num_rows for table in tables)
                raise

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join()
        self.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidInput("This log is closed.", hint="Open a new one to append records.")

    def feed_before_each_write(self, feeder: Callable[[], None]) -> None:
        """Call ``feeder`` (a queue's drain into this log) before each timed write, so
        that what it holds is written with the rest: a row then waits at most one
        ``flush_interval`` here, however often the queue drains on its own."""
        self._feeders.append(feeder)

    def _buffer(self, folder: str, table: pa.Table) -> None:
        with self._lock:
            self._pending[folder].append(table)
            self._rows += table.num_rows
            full = self._rows >= self.flush_size
        if full:
            self._wake.set()

    def _loop(self) -> None:
        # A flush every ``flush_interval`` from the start of the last one, not that long
        # after its end: a slow write on a busy machine must not stretch what a kill loses.
        due = time.monotonic() + self.flush_interval
        while not self._closed:
            self._wake.wait(max(0.0, due - time.monotonic()))
            self._wake.clear()
            due = time.monotonic() + self.flush_interval
            try:
                for feed in self._feeders:
                    feed()
                self.flush()
                self.last_error = None
            except Exception as error:  # the rows stay buffered; close() retries
                self.last_error = error

    def _partition(self, time: datetime) -> str:
        return f"date={time:%Y-%m-%d}/hour={time:%H}"

    def _normalize(self, record: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _totals(self, table: pa.Table) -> bytes | None:
        """What to keep beside a written file for a summary to read instead of it."""
        return None

    def _folder(self, record: dict[str, Any]) -> str:
        raise NotImplementedError

    def _table(self, records: list[dict[str, Any]]) -> pa.Table:
        raise NotImplementedError


class PredictionLog(_BatchWriter):
    """Where serving logs its predictions: ``PredictionLog(settings.resolved_artifact_uri)``."""

    thread_name = "loopml-prediction-log"

    def _normalize(self, record: Mapping[str, Any]) -> dict[str, Any]:
        missing = [key for key in schema.REQUIRED if key not in record]
        if missing:
            raise InvalidInput(
                f"A prediction record lacks {', '.join(missing)}: {dict(record)!r:.200}.",
                hint="Every record needs prediction_id, model and prediction.",
            )
        time = schema.utc(record.get("time"))
        event_time = record.get("event_time")
        row = {
            "prediction_id": str(record["prediction_id"]),
            "time": time,
            "event_time": time if event_time is None else schema.utc(event_time),
            "model": str(record["model"]),
            "version": int(record.get("version") or 0),
            "segment": canonical_segment(record.get("segment")),
            "prediction": schema.outcome(record["prediction"], "prediction"),
            "proba": schema.number(record.get("proba"), "proba"),
            "latency_ms": schema.number(record.get("latency_ms"), "latency_ms"),
            "cpu_ms": schema.number(record.get("cpu_ms"), "cpu_ms"),
            "flags": [str(flag) for flag in record.get("flags") or ()],
            "shadow": bool(record.get("shadow", False)),
        }
        for name, value in (record.get("inputs") or {}).items():
            row[schema.input_column_name(name)] = value
        return row

    def append_table(self, table: pa.Table) -> None:
        """Buffer predictions already in the log's columns (serving's path: no per-row checks)."""
        self._check_open()
        missing = [name for name in (*schema.REQUIRED, "time") if name not in table.column_names]
        if missing:
            raise InvalidInput(
                f"A table of predictions lacks {', '.join(missing)}.",
                hint="Give it the columns of the log: prediction_id, time, model, prediction.",
            )
        if "event_time" not in table.column_names:  # the time it is about is its answer's
            table = table.append_column("event_time", table["time"])
        hours = pc.floor_temporal(table["event_time"], unit="hour")
        keys = pa.table({"model": table["model"], "hour": hours}).group_by(["model", "hour"])
        groups = keys.aggregate([]).to_pylist()
        for key in groups:
            part = table
            if len(groups) > 1:
                mask = pc.and_(pc.equal(table["model"], key["model"]), pc.equal(hours, key["hour"]))
                part = table.filter(mask)
            self._buffer(self._folder({"model": key["model"], "event_time": key["hour"]}), part)

    def _totals(self, table: pa.Table) -> bytes:
        wanted = [name for name in totals.COLUMNS if name in table.column_names]
        return totals.to_bytes(totals.totals_of(table.select(wanted)))

    def _folder(self, record: dict[str, Any]) -> str:
        hour = self._partition(record["event_time"])
        return f"{self.root}/predictions/model={record['model']}/{hour}"

    def _table(self, records: list[dict[str, Any]]) -> pa.Table:
        names = list(dict.fromkeys(key for record in records for key in record))
        fixed = {n: [r.get(n) for r in records] for n in names if n in schema.FIELDS}
        features = {
            n[len(schema.INPUT_PREFIX) :]: [r.get(n) for r in records]
            for n in names
            if n not in schema.FIELDS
        }
        return schema.predictions_table(fixed, features)


class FeedbackLog(_BatchWriter):
    """Ground-truth labels, joined to predictions later by ``prediction_id``."""

    thread_name = "loopml-feedback-log"

    def _normalize(self, record: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
        if not isinstance(record, Mapping):
            record = dict(zip(("prediction_id", "label", "time"), record, strict=False))
        if "prediction_id" not in record or "label" not in record:
            raise InvalidInput(
                f"A feedback record needs prediction_id and label: {record!r:.200}.",
                hint="Send (prediction_id, label) or (prediction_id, label, time).",
            )
        row = {
            "prediction_id": str(record["prediction_id"]),
            "label": schema.outcome(record["label"], "label"),
            "time": schema.utc(record.get("time")),
        }
        attributes = record.get("attributes") or {}
        if not isinstance(attributes, Mapping):
            raise InvalidInput(
                f"Feedback attributes must map names to values: {attributes!r:.100}.",
                hint='Send e.g. "attributes": {"sex": "f"}.',
            )
        for name, value in attributes.items():
            row[schema.attribute_column_name(str(name))] = value
        return row

    def _folder(self, record: dict[str, Any]) -> str:
        return f"{self.root}/feedback/{self._partition(record['time'])}"

    def _table(self, records: list[dict[str, Any]]) -> pa.Table:
        columns = {
            "prediction_id": pa.array([r["prediction_id"] for r in records], pa.string()),
            "label": schema.outcome_column(r["label"] for r in records),
            "time": pa.array([r["time"] for r in records], schema.TIME_TYPE),
        }
        names = dict.fromkeys(
            k for r in records for k in r if k.startswith(schema.ATTRIBUTE_PREFIX)
        )
        for name in names:
            columns[name] = schema.input_column([r.get(name) for r in records])
        return pa.table(columns)


def _write_parquet(fs, folder: str, table: pa.Table, summary: bytes | None = None) -> None:
    """The file under a temporary name, renamed into place; its ``summary`` (totals) is
    renamed into place first, so a reader who sees the file also sees its totals."""
    fs.makedirs(folder, exist_ok=True)
    name = uuid.uuid4().hex
    final = f"{folder}/{name}.parquet"
    if summary is not None:
        _write_whole(fs, folder, totals.totals_path(final), lambda h: h.write(summary))
    _write_whole(
        fs,
        folder,
        final,
        lambda h: pq.write_table(table, h, compression="zstd", **writer_options(table.schema)),
    )


def _write_whole(fs, folder: str, final: str, write) -> None:
    temporary = f"{folder}/.{uuid.uuid4().hex}.partial"
    try:
        with fs.open(temporary, "wb") as handle:
            write(handle)
        fs.mv(temporary, final)
    finally:
        if fs.exists(temporary):
            fs.rm(temporary)
