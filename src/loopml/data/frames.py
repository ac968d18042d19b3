"""What users hand us, as one canonical Arrow table; that table as Parquet bytes.

A dataset arrives as a pandas DataFrame, an Arrow table, or a Parquet or CSV
file. Each is read completely and checked here — unreadable or truncated
files, mixed-type columns, duplicate or missing column names — before anything
is stored, so bad input never leaves half a version behind.

Parquet is written with fixed options, so the same table gives the same bytes
and the same sha256: logging the same content twice finds the same version.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from loopml.errors import InvalidInput, NotFound

# Fixed writer options: part of the content hash, so change them never lightly.
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": 1 << 20,
    "version": "2.6",
    "write_statistics": True,
}
_MIXED = ("mixed", "mixed-integer")


def as_table(data: Any, what: str = "data") -> pa.Table:
    """``data`` (DataFrame, Arrow table, or a Parquet/CSV path) as a checked Arrow table."""
    import pandas as pd

    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pd.DataFrame):
        table = from_pandas(data, what)
    elif isinstance(data, (str, os.PathLike)):
        table = read_file(Path(data))
    else:
        raise InvalidInput(
            f"Cannot use a {type(data).__name__} as {what}.",
            hint="Pass a pandas DataFrame, a pyarrow Table, or the path of a Parquet or CSV file.",
        )
    check_names(table.column_names, what)
    return table


def from_pandas(frame: Any, what: str = "data") -> pa.Table:
    """A DataFrame as Arrow: names as text, a default RangeIndex dropped, types checked."""
    import pandas as pd

    if isinstance(frame.columns, pd.MultiIndex):
        raise InvalidInput(
            f"The {what} has multi-level column names.",
            hint="Flatten them first, e.g. frame.columns = ['_'.join(map(str, c)) for c in frame.columns].",
        )
    names = [str(name) for name in frame.columns]
    check_names(names, what)
    _check_mixed(frame, names)
    keep_index = not isinstance(frame.index, pd.RangeIndex)
    renamed = frame if list(frame.columns) == names else frame.set_axis(names, axis=1)
    try:
        return pa.Table.from_pandas(renamed, preserve_index=keep_index)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise InvalidInput(
            f"The {what} cannot be stored as a table: {error}.",
            hint="Give each column one type (e.g. frame[col] = frame[col].astype(str)).",
        ) from error


def read_file(path: Path) -> pa.Table:
    """A whole Parquet or CSV file, or an error naming the file and what is wrong with it."""
    if not path.is_file():
        raise NotFound(f"No file at {str(path)!r}.", hint="Check the path.")
    suffix = "".join(path.suffixes[-2:]).lower()
    with reading(path):
        if suffix.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix.endswith((".csv", ".csv.gz", ".tsv")):
            from pyarrow import csv

            options = csv.ParseOptions(delimiter="\t" if ".tsv" in suffix else ",")
            return csv.read_csv(path, parse_options=options)
    raise InvalidInput(
        f"Cannot tell the format of {str(path)!r}.",
        hint="Name the file .parquet or .csv (or load it with pandas and pass the DataFrame).",
    )


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Arrow's errors on a damaged or foreign file, as one that names the file."""
    try:
        yield
    except (pa.ArrowException, OSError) as error:
        raise InvalidInput(
            f"Cannot read {str(path)!r}: {error}",
            hint="The file is unreadable, truncated or not in the format its name says; "
            "write it again or check its encoding.",
        ) from error


def check_names(names: list[str], what: str = "data") -> None:
    if not names:
        raise InvalidInput(
            f"The {what} has no columns.", hint="A dataset needs at least one column."
        )
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        shown = ", ".join(repr(name) for name in duplicates[:10])
        raise InvalidInput(
            f"The {what} has duplicate column names: {shown}.",
            hint="Rename them so each column has its own name (non-text names count as text: 1 and '1' clash).",
        )


def _check_mixed(frame: Any, names: list[str]) -> None:
    """Object columns mixing numbers and text: refuse, naming the column and its types."""
    import pandas as pd

    for position, dtype in enumerate(frame.dtypes):
        if dtype.kind != "O":
            continue
        name, column = names[position], frame.iloc[:, position]
        if pd.api.types.infer_dtype(column, skipna=True) in _MIXED:
            types = sorted({type(v).__name__ for v in column.dropna().iloc[:10_000]})
            raise InvalidInput(
                f"Column {name!r} mixes types ({', '.join(types)}).",
                hint=f"Give it one type first, e.g. frame[{name!r}] = frame[{name!r}].astype(str).",
            )


def write_parquet(table: pa.Table, sink: Any) -> None:
    """The table as Parquet into ``sink`` (a path or a writable file), with the fixed options."""
    import pyarrow.parquet as pq

    pq.write_table(table, sink, **PARQUET_OPTIONS)


def read_parquet(data: bytes) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(data))


def logical_type(type_: pa.DataType) -> str:
    """The model signature's vocabulary where it fits, the Arrow type name elsewhere."""
    if pa.types.is_boolean(type_):
        return "boolean"
    if pa.types.is_integer(type_):
        return "integer"
    if pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        return "float"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    if pa.types.is_dictionary(type_):
        return logical_type(type_.value_type)
    if pa.types.is_timestamp(type_):
        return "datetime"
    if pa.types.is_date(type_):
        return "date"
    if pa.types.is_null(type_):
        return "null"
    return str(type_)


def schema_of(table: pa.Table) -> list[dict[str, str]]:
    return [{"name": f.name, "type": logical_type(f.type)} for f in table.schema]
