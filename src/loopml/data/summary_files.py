"""Summaries of table files, read one column at a time.

Summaries are computed column by column, so a Parquet file never needs to be in
memory whole: each column is read, summarized and let go, and memory stays at
about two columns of the file (the next is read while one is summarized). A
CSV file cannot be read by column, so it is read whole.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from loopml.data.frames import read_file, reading
from loopml.data.summary import TableSummary, summarize
from loopml.errors import NotFound

PARQUET_SUFFIXES = (".parquet", ".pq")


def summarize_file(
    path: Path,
    reference: TableSummary | None = None,
    columns: list[str] | None = None,
) -> TableSummary:
    """The summary ``summarize`` gives of the file's table, without holding the table."""
    if not path.is_file():
        raise NotFound(f"No file at {str(path)!r}.", hint="Check the path.")
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        return summarize(read_file(path), reference, columns)
    return _summarize_parquet(path, reference, columns)


def _summarize_parquet(
    path: Path, reference: TableSummary | None, columns: list[str] | None
) -> TableSummary:
    import pyarrow.parquet as pq

    with reading(path):
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
    wanted = [name for name in columns if name in names] if columns is not None else names
    parts = []
    # The next column is read while this one is summarized (both release the GIL); one
    # column ahead at most, so memory stays at about two columns.
    with parquet, ThreadPoolExecutor(1, thread_name_prefix="loopml-read") as reader:
        ahead = reader.submit(_read_column, parquet, wanted[0], path) if wanted else None
        for position in range(len(wanted)):
            column = ahead.result()  # type: ignore[union-attr]
            if position + 1 < len(wanted):
                ahead = reader.submit(_read_column, parquet, wanted[position + 1], path)
            parts.append(summarize(column, reference))
        rows = parquet.metadata.num_rows
    summaries = {name: s for part in parts for name, s in part.columns.items()}
    skipped = {name: type_ for part in parts for name, type_ in part.skipped.items()}
    return TableSummary(rows, summaries, skipped)


def _read_column(parquet, name: str, path: Path) -> pa.Table:
    with reading(path):
        return parquet.read(columns=[name])
