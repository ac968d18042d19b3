"""The load step: rows from a file or a registered dataset, checked before anything
is written: the columns the project names exist, and the time column parses."""

from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.errors import InvalidInput, NotFound
from loopml.pipeline.fingerprint import file_digest
from loopml.pipeline.spec import DataSpec, ProjectSpec


@dataclass(frozen=True)
class Source:
    frame: pd.DataFrame
    digest: str  # of the file's bytes, or the dataset version's content
    label: str  # "sales.csv" or "sales@3"
    dataset_version: Any = None  # when read from a registered dataset


def read_source(spec: DataSpec, root: Path, store, artifacts) -> Source:
    if spec.dataset is not None:
        return _read_dataset(spec.dataset, store, artifacts)
    path = (root / spec.path).resolve()
    if not path.is_file():
        raise NotFound(
            f"The data file {spec.path!r} does not exist (looked at {path}).",
            hint="Fix data.path in the project file; relative paths start at the project file.",
        )
    # the file is hashed while it is read: hashing and parsing both leave the interpreter
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(file_digest, path)
        frame = read_table(path)
    return Source(frame, digest.result(), spec.path)


def read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".gz"):
            return pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise InvalidInput(
            f"{path.name} cannot be read: {error}.", hint="Check that the file is intact."
        ) from None
    raise InvalidInput(
        f"{path.name} is neither CSV nor Parquet.", hint="Use a .csv or .parquet file."
    )


def _read_dataset(ref: str, store, artifacts) -> Source:
    from loopml.data import service

    version = service.resolve_version(store, ref)
    frame = service.load_table(artifacts, version).to_pandas()
    return Source(frame, version.digest, version.ref, version)


def check_columns(frame: pd.DataFrame, spec: ProjectSpec, source: str) -> None:
    """Every column the project names is in the data; the error names the closest one."""
    named = [("target", spec.target)]
    named += [("segment_by", c) for c in spec.segment_by]
    if spec.data.time:
        named.append(("data.time", spec.data.time))
    if spec.features != "all":
        named += [("features", c) for c in spec.features]
    named += [("data.sensitive", c) for c in spec.sensitive]
    columns = [str(c) for c in frame.columns]
    for setting, column in named:
        if column not in frame.columns:
            close = difflib.get_close_matches(column, columns, n=1)
            raise InvalidInput(
                f"{setting}: the column {column!r} is not in {source}.",
                hint=(f"Did you mean {close[0]!r}? " if close else "")
                + f"Its columns: {', '.join(columns)}.",
            )
    if frame[spec.target].isna().all():
        raise InvalidInput(
            f"target: the column {spec.target!r} of {source} has no values.",
            hint="Point target at the column with the values to predict.",
        )


def parse_time(frame: pd.DataFrame, column: str, fmt: str | None, source: str) -> pd.DataFrame:
    """The time column as timestamps; values that do not parse are named with their row."""
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        return frame
    parsed = pd.to_datetime(values, format=fmt, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any() or values.isna().any():
        rows = (bad | values.isna()).to_numpy().nonzero()[0]
        examples = ", ".join(f"row {i + 1}: {values.iloc[i]!r}" for i in rows[:3])
        raise InvalidInput(
            f"data.time: {len(rows)} value(s) of the column {column!r} in {source} are not "
            f"times ({examples}).",
            hint="Fix or drop those rows, or set data.time_format (e.g. '%d/%m/%Y').",
        )
    return frame.assign(**{column: parsed})
