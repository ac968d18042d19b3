"""The request bodies the server understands, each turned into ``Rows``.

- loopml: ``{"records": [{...}]}`` or ``{"columns": [...], "data": [[...]]}``
- MLflow ``/invocations``: ``dataframe_split``, ``dataframe_records``, ``inputs``, ``instances``
- Open Inference Protocol v2: ``{"inputs": [{"name", "shape", "datatype", "data"}]}``

Tensors without column names (``[[1, 2], [3, 4]]``) take the model's signature
order, so those parsers receive ``feature_names``.

The row limit is checked on the parsed list before any row is converted (the
server's middleware has bounded the number of JSON values before the parse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from loopml.errors import InvalidInput
from loopml.serving.rows import Rows, _invalid

MAX_ROWS = 100_000

V2_DATATYPES = {
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
}


class MalformedJson(InvalidInput):
    status_code = 400


def read_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400/422 that says what is wrong with it."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedJson(
            f"The request body is not valid JSON ({error}).",
            hint="Send a JSON document with Content-Type: application/json.",
        ) from None
    if not isinstance(document, dict):
        raise _invalid("", "must be a JSON object")
    return document


def parse_loopml(document: dict[str, Any], max_rows: int = MAX_ROWS) -> Rows:
    if "records" in document:
        rows = Rows.from_records(_at_most(document["records"], max_rows))
    elif "columns" in document or "data" in document:
        rows = Rows.from_split(document.get("columns"), _at_most(document.get("data"), max_rows))
    else:
        raise _invalid("", 'needs "records": [{...}] or "columns": [...] with "data": [[...]]')
    return _bounded(rows, max_rows)


def parse_mlflow(
    document: dict[str, Any], feature_names: Sequence[str], max_rows: int = MAX_ROWS
) -> Rows:
    keys = [
        k for k in ("dataframe_split", "dataframe_records", "inputs", "instances") if k in document
    ]
    if len(keys) != 1:
        raise _invalid(
            "",
            "needs exactly one of dataframe_split, dataframe_records, inputs or instances",
        )
    key = keys[0]
    value = document[key]
    if key == "dataframe_split":
        if not isinstance(value, dict):
            raise _invalid(key, 'must be {"columns": [...], "data": [[...]]}')
        data = _at_most(value.get("data"), max_rows)
        return _bounded(Rows.from_split(value.get("columns"), data, key), max_rows)
    if key == "dataframe_records":
        return _bounded(Rows.from_records(_at_most(value, max_rows), key), max_rows)
    return _bounded(_tensor_rows(_at_most(value, max_rows), key, feature_names), max_rows)


def _tensor_rows(value: Any, where: str, feature_names: Sequence[str]) -> Rows:
    if isinstance(value, dict):
        return Rows.from_columns(value, where)
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return Rows.from_records(value, where)
    if isinstance(value, list) and all(isinstance(item, list) for item in value):
        return Rows.from_split(list(feature_names), value, where)
    raise _invalid(
        where, "must be an object of column: values, a list of objects or a list of rows"
    )


def parse_v2(
    document: dict[str, Any], feature_names: Sequence[str], max_rows: int = MAX_ROWS
) -> Rows:
    """Open Inference Protocol v2: each named input tensor is one column."""
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise _invalid("inputs", "must be a non-empty list of tensors")
    columns: dict[str, list[Any]] = {}
    for index, tensor in enumerate(inputs):
        where = f"inputs.{index}"
        if not isinstance(tensor, dict):
            raise _invalid(where, "must be an object with name, shape, datatype and data")
        name, shape, data = tensor.get("name"), tensor.get("shape"), tensor.get("data")
        if not isinstance(name, str) or not name:
            raise _invalid(f"{where}.name", "must be a non-empty string")
        if tensor.get("datatype") not in V2_DATATYPES:
            raise _invalid(f"{where}.datatype", f"must be one of {', '.join(sorted(V2_DATATYPES))}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise _invalid(f"{where}.shape", "must be a list of non-negative integers")
        if shape:
            _check_rows(shape[0], max_rows)
        flat = _flatten(data, f"{where}.data")
        if len(shape) == 2 and shape[1] > 1 and len(inputs) == 1:
            return _bounded(_matrix(flat, shape, feature_names, where), max_rows)
        rows = shape[0] if shape else 1
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1) or len(flat) != rows:
            raise _invalid(
                f"{where}.shape", f"{shape} does not match {len(flat)} values of one column"
            )
        columns[name] = flat
    return _bounded(Rows.from_columns(columns, "inputs"), max_rows)


def _matrix(flat: list[Any], shape: list[int], feature_names: Sequence[str], where: str) -> Rows:
    rows, width = shape
    if rows * width != len(flat):
        raise _invalid(f"{where}.shape", f"{shape} does not match {len(flat)} values")
    if width != len(feature_names):
        raise _invalid(
            f"{where}.shape",
            f"has {width} columns but the model takes {len(feature_names)}: {', '.join(feature_names)}",
        )
    data = [flat[i * width : (i + 1) * width] for i in range(rows)]
    return Rows.from_split(list(feature_names), data, where)


def _flatten(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        return [data] if not isinstance(data, dict) else _fail(where)
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            if isinstance(item, dict):
                _fail(where)
            flat.append(item)
        else:
            stack.pop()
    return flat


def _fail(where: str):
    raise _invalid(where, "must be a list of values (nested lists allowed)")


def _at_most(value: Any, max_rows: int) -> Any:
    """``value`` unchanged; refused before its rows are converted if it holds too many."""
    if isinstance(value, list):
        _check_rows(len(value), max_rows)
    elif isinstance(value, dict):  # columns of values
        longest = max((len(v) for v in value.values() if isinstance(v, list)), default=0)
        _check_rows(longest, max_rows)
    return value


def _check_rows(count: int, max_rows: int) -> None:
    if count > max_rows:
        raise _invalid(
            "",
            f"has {count} rows; one request takes at most {max_rows}. "
            "Score large tables with `loopml predict`",
        )


def _bounded(rows: Rows, max_rows: int) -> Rows:
    if rows.length == 0:
        raise _invalid("", "has no rows to score")
    _check_rows(rows.length, max_rows)
    return rows
