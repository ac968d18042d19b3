"""Rows to score, kept as columns of plain Python values.

A request's rows arrive as JSON; building a DataFrame per request would cost
more than the model call of a small model. ``Rows`` keeps the values as lists
per column, so the batcher can join many requests cheaply and hand the joined
columns to the model in one call (``LoadedModel`` turns them into a matrix or
a DataFrame, whichever the model takes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loopml.errors import InvalidInput

_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)  # exact types, as JSON gives them; subclasses go by isinstance


@dataclass(frozen=True)
class Rows:
    """``columns`` maps a column name to its values; every list has ``length`` items."""

    columns: dict[str, list[Any]]
    length: int

    @classmethod
    def from_records(cls, records: Sequence[Any], where: str = "records") -> Rows:
        if not isinstance(records, list):
            raise _invalid(where, "must be a list of objects, one per row")
        columns: dict[str, list[Any]] = {}
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise _invalid(f"{where}.{index}", "must be an object of column: value")
            for name, value in record.items():
                values = columns.get(name)
                if values is None:
                    values = columns[name] = [None] * index
                if type(value) not in _SCALAR_TYPES:  # the place is named only on a refusal
                    _scalar(value, f"{where}.{index}.{name}")
                values.append(value)
            for values in columns.values():
                if len(values) == index:
                    values.append(None)
        return cls(columns, len(records))

    @classmethod
    def from_split(cls, names: Any, data: Any, where: str = "") -> Rows:
        prefix = f"{where}." if where else ""
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _invalid(f"{prefix}columns", "must be a list of column names")
        if len(set(names)) != len(names):
            raise _invalid(f"{prefix}columns", "names a column twice")
        if not isinstance(data, list):
            raise _invalid(f"{prefix}data", "must be a list of rows, each a list of values")
        columns: dict[str, list[Any]] = {name: [] for name in names}
        targets = list(columns.values())
        for index, row in enumerate(data):
            if not isinstance(row, list) or len(row) != len(names):
                raise _invalid(
                    f"{prefix}data.{index}",
                    f"must be a list of {len(names)} values, one per column",
                )
            for position, value in enumerate(row):
                if type(value) not in _SCALAR_TYPES:  # the place is named only on a refusal
                    _scalar(value, f"{prefix}data.{index}.{position}")
                targets[position].append(value)
        return cls(columns, len(data))

    @classmethod
    def from_columns(cls, columns: dict[str, Any], where: str = "inputs") -> Rows:
        lengths = set()
        checked: dict[str, list[Any]] = {}
        for name, values in columns.items():
            if not isinstance(values, list):
                values = [values]
            checked[name] = [_scalar(v, f"{where}.{name}.{i}") for i, v in enumerate(values)]
            lengths.add(len(values))
        if len(lengths) > 1:
            raise _invalid(where, f"columns have different lengths: {sorted(lengths)}")
        return cls(checked, lengths.pop() if lengths else 0)

    @classmethod
    def concat(cls, parts: Sequence[Rows]) -> Rows:
        if len(parts) == 1:
            return parts[0]
        names = list(dict.fromkeys(name for part in parts for name in part.columns))
        columns: dict[str, list[Any]] = {name: [] for name in names}
        for part in parts:
            for name, values in columns.items():
                found = part.columns.get(name)
                values.extend(found if found is not None else [None] * part.length)
        return cls(columns, sum(part.length for part in parts))

    def take(self, indices: Sequence[int]) -> Rows:
        if len(indices) == self.length:
            return self
        return Rows({n: [v[i] for i in indices] for n, v in self.columns.items()}, len(indices))


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, _SCALARS):
        return value
    raise _invalid(
        where,
        f"must be a single value (string, number, boolean or null), not {type(value).__name__}",
    )


def _invalid(where: str, problem: str) -> InvalidInput:
    error = InvalidInput(
        f"body.{where}: {problem}.",
        hint="See docs/serving.md for the payload formats the server accepts.",
    )
    error.fields = [{"field": f"body.{where}", "problem": problem}]
    return error
