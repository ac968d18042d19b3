"""The prediction log and the feedback log: Parquet files partitioned by model and hour.

Serving appends one record per prediction; ``append`` only puts the records in
a list, and a background thread writes them in batches (when the buffer is
full, when its interval has passed, and on ``close``), so logging never waits
for storage on the request path. Files are written under a temporary name and
renamed, so a reader sees whole files only::

    <root>/predictions/model=<name>/date=YYYY-MM-DD/hour=HH/<uuid>.parquet
    <root>/feedback/date=YYYY-MM-DD/hour=HH/<uuid>.parquet

A record's hour is the hour of its own ``time``, not of the write, so a late
batch still lands where a window reader looks for it. Labels arrive late and
partially: ``join_feedback`` attaches the newest label per prediction id and
leaves the others null.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from loopml.errors import InvalidInput
from loopml.registry.segments import canonical_segment
from loopml.serving.parquet import writer_options

INPUT_PREFIX = "input."
PREDICTION_COLUMNS = (
    "prediction_id",
    "time",
    "model",
    "version",
    "segment",
    "prediction",
    "proba",
    "latency_ms",
    "flags",
    "shadow",
)
TIME_TYPE = pa.timestamp("us", tz="UTC")
REQUIRED = ("prediction_id", "model", "prediction")  # a record's time defaults to now
FIELDS = {
    "prediction_id": pa.string(),
    "time": TIME_TYPE,
    "model": pa.string(),
    "version": pa.int64(),
    "segment": pa.string(),
    "prediction": pa.float64(),
    "proba": pa.float64(),
    "latency_ms": pa.float64(),
    "flags": pa.list_(pa.string()),
    "shadow": pa.bool_(),
}
FEEDBACK_SCHEMA = pa.schema(
    [("prediction_id", pa.string()), ("label", pa.float64()), ("time", TIME_TYPE)]
)


class _BatchWriter:
    """Buffer rows in memory as Arrow tables; a daemon thread writes them in batches."""

    thread_name = "loopml-log"

    def __init__(self, root_uri: str, *, flush_size: int, flush_interval: float) -> None:
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
                    _write_parquet(self.fs, folder, _joined(pending[folder]))
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

    def _buffer(self, folder: str, table: pa.Table) -> None:
        with self._lock:
            self._pending[folder].append(table)
            self._rows += table.num_rows
            full = self._rows >= self.flush_size
        if full:
            self._wake.set()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
                self.last_error = None
            except Exception as error:  # the rows stay buffered; close() retries
                self.last_error = error

    def _partition(self, time: datetime) -> str:
        return f"date={time:%Y-%m-%d}/hour={time:%H}"

    def _normalize(self, record: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _folder(self, record: dict[str, Any]) -> str:
        raise NotImplementedError

    def _table(self, records: list[dict[str, Any]]) -> pa.Table:
        raise NotImplementedError


class PredictionLog(_BatchWriter):
    """Where serving logs its predictions: ``PredictionLog(settings.resolved_artifact_uri)``."""

    thread_name = "loopml-prediction-log"

    def __init__(
        self, root_uri: str, *, flush_size: int = 10_000, flush_interval: float = 5.0
    ) -> None:
        super().__init__(root_uri, flush_size=flush_size, flush_interval=flush_interval)

    def _normalize(self, record: Mapping[str, Any]) -> dict[str, Any]:
        missing = [key for key in REQUIRED if key not in record]
        if missing:
            raise InvalidInput(
                f"A prediction record lacks {', '.join(missing)}: {dict(record)!r:.200}.",
                hint="Every record needs prediction_id, model and prediction.",
            )
        row = {
            "prediction_id": str(record["prediction_id"]),
            "time": _utc(record.get("time")),
            "model": str(record["model"]),
            "version": int(record.get("version") or 0),
            "segment": canonical_segment(record.get("segment")),
            "prediction": _float(record["prediction"], "prediction"),
            "proba": _float(record.get("proba"), "proba"),
            "latency_ms": _float(record.get("latency_ms"), "latency_ms"),
            "flags": [str(flag) for flag in record.get("flags") or ()],
            "shadow": bool(record.get("shadow", False)),
        }
        for name, value in (record.get("inputs") or {}).items():
            row[f"{INPUT_PREFIX}{name}"] = value
        return row

    def append_table(self, table: pa.Table) -> None:
        """Buffer predictions already in the log's columns (serving's path: no per-row checks)."""
        self._check_open()
        missing = [name for name in (*REQUIRED, "time") if name not in table.column_names]
        if missing:
            raise InvalidInput(
                f"A table of predictions lacks {', '.join(missing)}.",
                hint="Give it the columns of the log: prediction_id, time, model, prediction.",
            )
        hours = pc.floor_temporal(table["time"], unit="hour")
        keys = pa.table({"model": table["model"], "hour": hours}).group_by(["model", "hour"])
        groups = keys.aggregate([]).to_pylist()
        for key in groups:
            part = table
            if len(groups) > 1:
                mask = pc.and_(pc.equal(table["model"], key["model"]), pc.equal(hours, key["hour"]))
                part = table.filter(mask)
            self._buffer(self._folder({"model": key["model"], "time": key["hour"]}), part)

    def _folder(self, record: dict[str, Any]) -> str:
        return f"{self.root}/predictions/model={record['model']}/{self._partition(record['time'])}"

    def _table(self, records: list[dict[str, Any]]) -> pa.Table:
        names = list(dict.fromkeys(key for record in records for key in record))
        columns = {}
        for name in names:
            values = [record.get(name) for record in records]
            columns[name] = _column(values, FIELDS.get(name))
        return pa.table(columns)


class FeedbackLog(_BatchWriter):
    """Ground-truth labels, joined to predictions later by ``prediction_id``."""

    thread_name = "loopml-feedback-log"

    def __init__(
        self, root_uri: str, *, flush_size: int = 10_000, flush_interval: float = 5.0
    ) -> None:
        super().__init__(root_uri, flush_size=flush_size, flush_interval=flush_interval)

    def _normalize(self, record: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
        if not isinstance(record, Mapping):
            record = dict(zip(("prediction_id", "label", "time"), record, strict=False))
        if "prediction_id" not in record or "label" not in record:
            raise InvalidInput(
                f"A feedback record needs prediction_id and label: {record!r:.200}.",
                hint="Send (prediction_id, label) or (prediction_id, label, time).",
            )
        return {
            "prediction_id": str(record["prediction_id"]),
            "label": _float(record["label"], "label"),
            "time": _utc(record.get("time")),
        }

    def _folder(self, record: dict[str, Any]) -> str:
        return f"{self.root}/feedback/{self._partition(record['time'])}"

    def _table(self, records: list[dict[str, Any]]) -> pa.Table:
        return pa.Table.from_pylist(records, schema=FEEDBACK_SCHEMA)


def read_predictions(
    root: str,
    model: str,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Predictions of ``model`` with ``start <= time < end``, reading only that window's hours."""
    fs, base = _fs(root)
    folder = f"{base}/predictions/model={model}"
    table = _read_window(fs, folder, start, end, columns)
    if table is None:
        return _empty_predictions(columns)
    return table


def read_feedback(
    root: str, start: datetime | None = None, end: datetime | None = None
) -> pa.Table:
    """Labels received with ``start <= time < end``."""
    fs, base = _fs(root)
    table = _read_window(fs, f"{base}/feedback", start, end, None)
    return FEEDBACK_SCHEMA.empty_table() if table is None else table


def join_feedback(predictions: pa.Table, feedback: pa.Table) -> pa.Table:
    """Predictions with ``label`` and ``label_time`` (null where no label came yet).

    A prediction labelled twice keeps its newest label; labels of predictions
    outside ``predictions`` are ignored.
    """
    if feedback.num_rows == 0:
        return predictions.append_column("label", pa.nulls(predictions.num_rows, pa.float64()))\
            .append_column("label_time", pa.nulls(predictions.num_rows, TIME_TYPE))  # fmt: skip
    newest = (
        feedback.sort_by([("prediction_id", "ascending"), ("time", "ascending")])
        .group_by("prediction_id", use_threads=False)
        .aggregate([("label", "last"), ("time", "last")])
        .rename_columns(["prediction_id", "label", "label_time"])
    )
    # Join the ids only (list columns cannot ride through an Arrow join), then attach.
    ids = pa.table(
        {
            "prediction_id": predictions["prediction_id"],
            "__row": pa.array(range(predictions.num_rows), pa.int64()),
        }
    )
    joined = ids.join(newest, keys="prediction_id", join_type="left outer", use_threads=False)
    joined = joined.sort_by("__row")
    return predictions.append_column("label", joined["label"]).append_column(
        "label_time", joined["label_time"]
    )


def _read_window(fs, folder: str, start, end, columns) -> pa.Table | None:
    start = _utc(start) if start is not None else None
    end = _utc(end) if end is not None else None
    files = [f for hour in _hours(fs, folder, start, end) for f in _parquet_files(fs, hour)]
    tables = []
    for path in files:
        with fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            names = parquet.schema_arrow.names
            wanted = None if columns is None else [c for c in (*columns, "time") if c in names]
            tables.append(parquet.read(columns=list(dict.fromkeys(wanted)) if wanted else None))
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="permissive")
    mask = None
    if start is not None:
        mask = pc.greater_equal(table["time"], pa.scalar(start, TIME_TYPE))
    if end is not None:
        upper = pc.less(table["time"], pa.scalar(end, TIME_TYPE))
        mask = upper if mask is None else pc.and_(mask, upper)
    if mask is not None:
        table = table.filter(mask)
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    return table


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
    return sorted(path for path in fs.ls(folder, detail=False) if path.endswith(".parquet"))


def _joined(tables: list[pa.Table]) -> pa.Table:
    """The tables as one; a column whose type changed between them is kept as text."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        types: dict[str, set[pa.DataType]] = defaultdict(set)
        for table in tables:
            for field in table.schema:
                types[field.name].add(field.type)
        mixed = [name for name, kinds in types.items() if len(kinds) > 1]
        return pa.concat_tables([_as_text(t, mixed) for t in tables], promote_options="permissive")


def _as_text(table: pa.Table, names: list[str]) -> pa.Table:
    for name in names:
        if name in table.column_names:
            position = table.column_names.index(name)
            table = table.set_column(position, name, pc.cast(table[name], pa.string()))
    return table


def _write_parquet(fs, folder: str, table: pa.Table) -> None:
    fs.makedirs(folder, exist_ok=True)
    name = uuid.uuid4().hex
    temporary, final = f"{folder}/.{name}.partial", f"{folder}/{name}.parquet"
    try:
        with fs.open(temporary, "wb") as handle:
            pq.write_table(table, handle, compression="zstd", **writer_options(table.schema))
        fs.mv(temporary, final)
    finally:
        if fs.exists(temporary):
            fs.rm(temporary)


def _empty_predictions(columns: Sequence[str] | None) -> pa.Table:
    schema = pa.schema(list(FIELDS.items()))
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns if c in FIELDS])
    return schema.empty_table()


def _column(values: list[Any], type_: pa.DataType | None) -> pa.Array:
    return pa.array(values, type=type_) if type_ is not None else input_column(values)


def input_column(values: list[Any]) -> pa.Array:
    """A feature's values as sent; mixed types in one feature are kept as text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in one feature: keep as text
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _utc(value: Any) -> datetime:
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


def _float(value: Any, field: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{field} must be a number; got {value!r:.80}.",
            hint="Log classes as their index (a float) and labels as numbers.",
        ) from None


def _fs(root: str):
    import fsspec

    fs, base = fsspec.core.url_to_fs(str(root))
    return fs, base.rstrip("/")
