"""What a model takes and gives: column names and logical types, enforced on predict.

A signature is inferred from an input example (or a fitted model's feature
names) when the model is logged. On predict the input is brought to exactly
those columns in that order: a missing column is an error that names it, extra
columns are dropped, and values are cast only when nothing is lost (int → float,
bool → int, whole floats → int; numeric text is *not* numeric).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("float", "integer", "boolean", "string", "datetime")
NUMERIC_KINDS = ("float", "integer", "boolean")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of KINDS


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Column, ...]
    outputs: tuple[Column, ...] = ()

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.inputs]

    @cached_property  # read on every request a server scores; a signature never changes
    def floats(self) -> bool:
        """Every input is a float column: any number, int or float, is a valid value."""
        return bool(self.inputs) and all(c.type == "float" for c in self.inputs)

    @property
    def numeric(self) -> bool:
        """Every input is a number (or a boolean): the model can take a float matrix."""
        return bool(self.inputs) and all(c.type in NUMERIC_KINDS for c in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [{"name": c.name, "type": c.type} for c in self.inputs],
            "outputs": [{"name": c.name, "type": c.type} for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Signature | None:
        if not data:
            return None
        return cls(
            tuple(Column(c["name"], c["type"]) for c in data.get("inputs", ())),
            tuple(Column(c["name"], c["type"]) for c in data.get("outputs", ())),
        )

    def breaking_changes(self, newer: Signature) -> list[str]:
        """What a client of ``self`` would break on with ``newer``: new or retyped inputs."""
        mine = {c.name: c.type for c in self.inputs}
        problems = [f"needs new input {c.name!r}" for c in newer.inputs if c.name not in mine]
        problems += [
            f"input {c.name!r} changed from {mine[c.name]} to {c.type}"
            for c in newer.inputs
            if c.name in mine and mine[c.name] != c.type and not _widening(mine[c.name], c.type)
        ]
        return problems


def infer(example: Any, predictions: Any = None) -> Signature:
    frame = as_frame(example)
    outputs = ()
    if predictions is not None:
        import numpy as np

        values = np.asarray(predictions)
        outputs = (Column("prediction", _kind_of_dtype(values.dtype)),)
    return Signature(of_dtypes(frame.dtypes.items()).inputs, outputs)


def of_dtypes(columns: Iterable[tuple[Any, Any]]) -> Signature:
    """The input signature of (column name, dtype) pairs."""
    return Signature(tuple(Column(str(name), _kind_of_dtype(dtype)) for name, dtype in columns))


def as_frame(data: Any, names: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a dict (one row, or column → values), records or an array."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame().T
    if isinstance(data, Mapping):
        if all(not isinstance(v, (list, tuple, np.ndarray, pd.Series)) for v in data.values()):
            return pd.DataFrame([dict(data)])
        return pd.DataFrame(dict(data))
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], Mapping):
        return pd.DataFrame(list(data))
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise InvalidInput(
            f"Got an array of shape {array.shape}; a model takes a table.",
            hint="Pass a DataFrame, a dict of columns, a list of records or a 2-D array.",
        )
    if names is not None:
        if array.shape[1] != len(names):
            raise InvalidInput(
                f"Got {array.shape[1]} columns; the model takes {len(names)}: {', '.join(names)}.",
                hint="Pass a DataFrame with named columns, or an array with the columns in this order.",
            )
        return pd.DataFrame(array, columns=list(names))
    return pd.DataFrame(array, columns=[f"f{i}" for i in range(array.shape[1])])


def enforce(signature: Signature | None, data: Any) -> pd.DataFrame:
    """``data`` as exactly the signature's columns, in order, safely cast."""
    frame = as_frame(data, signature.names if signature else None)
    if signature is None:
        return frame
    _check_present(signature, frame.columns)
    names = list(signature.names)
    # Selecting costs more than the checks; rows already in order are shared (copy on write).
    frame = frame.copy(deep=False) if list(frame.columns) == names else frame[names]
    dtypes = dict(zip(names, frame.dtypes, strict=True))
    casts = {}
    for column in signature.inputs:
        actual = _kind_of_dtype(dtypes[column.name])
        if actual == column.type:
            continue
        if _widening(actual, column.type) or _integral(frame[column.name], actual, column.type):
            casts[column.name] = "float64" if column.type == "float" else "int64"
        elif not frame[column.name].isna().all():
            raise _wrong_kind(column, actual)
    return frame.astype(casts) if casts else frame


def as_matrix(signature: Signature, data: Any):
    """``data`` as a float matrix of a numeric signature's columns, in order.

    Columns given as lists (``{"price": [9.5, 7.0]}``, as a server receives them)
    become the matrix directly, with the checks of ``enforce``; a null is a
    missing value (NaN) for the model. Anything else goes through ``enforce``.
    """
    import numpy as np

    if not (isinstance(data, Mapping) and all(isinstance(v, list) for v in data.values())):
        return enforce(signature, data).to_numpy(dtype=np.float64, na_value=np.nan)
    _check_present(signature, data)
    rows = len(data[signature.inputs[0].name])
    if signature.floats:
        columns = [data[column.name] for column in signature.inputs]
        if _numbers_only(columns, rows):  # what the checks below would find, in one pass
            return np.array(columns, dtype=np.float64).T.copy()  # rows x columns, C order
    matrix = np.empty((rows, len(signature.inputs)))
    for position, column in enumerate(signature.inputs):
        values = data[column.name]
        if len(values) != rows:
            raise InvalidInput(
                f"Column {column.name!r} has {len(values)} values; the first column has {rows}.",
                hint="Send the same number of values in every column.",
            )
        actual = _kind_of_values(values)
        if actual == "string":
            raise _wrong_kind(column, actual)
        matrix[:, position] = values
        given = matrix[:, position]
        whole = actual == "float" and column.type == "integer" and _whole(given[~np.isnan(given)])
        if actual not in {"null", column.type} and not _widening(actual, column.type) and not whole:
            raise _wrong_kind(column, actual)
    return matrix


_NUMBER_TYPES = frozenset({int, float})  # exact types, as JSON gives them (bool is no int here)


def _numbers_only(columns: list[list[Any]], rows: int) -> bool:
    """Every column holds ``rows`` values, each an int or a float (no null, no text)."""
    return (
        all(len(values) == rows for values in columns)
        and {type(value) for values in columns for value in values} <= _NUMBER_TYPES
    )


def _kind_of_values(values: list[Any]) -> str:
    """The kind of a column of JSON values: null, boolean, integer, float or string (mixed)."""
    kinds = {type(value) for value in values}
    kinds.discard(type(None))
    if not kinds:
        return "null"
    if kinds == {bool}:
        return "boolean"
    if kinds == {int}:
        return "integer"
    return "float" if kinds <= {int, float} else "string"


def _check_present(signature: Signature, names) -> None:
    missing = [c.name for c in signature.inputs if c.name not in names]
    if missing:
        raise InvalidInput(
            f"Missing input column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.",
            hint=f"The model takes: {', '.join(signature.names)}.",
        )


def _wrong_kind(column: Column, actual: str) -> InvalidInput:
    return InvalidInput(
        f"Column {column.name!r} holds {actual} values; the model takes {column.type}.",
        hint=f"Send {column.type} values for {column.name!r}.",
    )


def _integral(values, actual: str, wanted: str) -> bool:
    """Whole floats (3.0, as JSON arrays deliver them) may become integers: nothing is lost."""
    if (actual, wanted) != ("float", "integer") or values.isna().any():
        return False
    return _whole(values.to_numpy())


def _whole(array) -> bool:
    import numpy as np

    return bool(np.all(np.isfinite(array)) and np.all(array == np.round(array)))


def _widening(actual: str, wanted: str) -> bool:
    return (actual, wanted) in {("integer", "float"), ("boolean", "integer"), ("boolean", "float")}


def _kind_of_dtype(dtype) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"
