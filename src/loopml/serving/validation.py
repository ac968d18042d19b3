"""Checks on the rows of one request, before they join a batch.

Against the signature: a missing column or a value of the wrong kind is the
client's mistake and is refused with a 4xx naming the field. Against the
training data's rules: an out-of-range number or an unseen category is
flagged on the row (and in the prediction log) and still scored, unless the
deployment is strict, in which case it is refused too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidInput
from loopml.serving.rows import Rows

_NUMERIC = ("int", "long", "float", "double", "number", "integer", "bool", "boolean")


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class InputChecker:
    """``feature_names`` and their kinds come from the signature; ``ranges`` and
    ``categories`` from the validation rules of the training data."""

    feature_names: tuple[str, ...] = ()
    numeric: frozenset[str] = frozenset()
    ranges: Mapping[str, Range] = field(default_factory=dict)
    categories: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_signature(cls, signature: Any, rules: Any = None) -> InputChecker:
        inputs = signature_inputs(signature)
        numeric = frozenset(name for name, kind in inputs if _is_numeric(kind))
        ranges, categories = rule_limits(rules)
        return cls(tuple(name for name, _ in inputs), numeric, ranges, categories)

    def check_columns(self, names) -> None:
        """Refuse a table that lacks a column of the signature."""
        missing = [name for name in self.feature_names if name not in names]
        if missing:
            raise _refuse(
                "records",
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                f"The model takes {', '.join(self.feature_names)}.",
            )

    def check(self, rows: Rows, *, strict: bool = False) -> list[list[str]]:
        """Refuse rows that break the signature; return each row's flags."""
        self.check_columns(rows.columns)
        for name in self.numeric:
            for index, value in enumerate(rows.columns[name]):
                if isinstance(value, str):
                    raise _refuse(
                        f"records.{index}.{name}",
                        f"{value!r} is not a number",
                        f"Send a number for {name!r}.",
                    )
        flags = self._flags(rows)
        if strict:
            flagged = next(((i, f) for i, f in enumerate(flags) if f), None)
            if flagged:
                index, row_flags = flagged
                raise _refuse(
                    f"records.{index}",
                    f"outside the training data: {', '.join(row_flags)}",
                    "This model is strict: it scores only values seen in training.",
                )
        return flags

    def _flags(self, rows: Rows) -> list[list[str]]:
        flags: list[list[str]] = [[] for _ in range(rows.length)]
        for name, limits in self.ranges.items():
            values = rows.columns.get(name)
            for index, value in enumerate(values or ()):
                if _outside(value, limits):
                    flags[index].append(f"out_of_range:{name}")
        for name, known in self.categories.items():
            values = rows.columns.get(name)
            for index, value in enumerate(values or ()):
                if value is not None and str(value) not in known:
                    flags[index].append(f"unseen_category:{name}")
        return flags


def _outside(value: Any, limits: Range) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        return False
    return (limits.low is not None and value < limits.low) or (
        limits.high is not None and value > limits.high
    )


def signature_inputs(signature: Any) -> list[tuple[str, str]]:
    """``[(name, type)]`` of a signature given as ``{"inputs": [...]}`` or a list of columns."""
    if signature is None:
        return []
    if hasattr(signature, "inputs"):
        signature = signature.inputs
    elif isinstance(signature, Mapping):
        signature = signature.get("inputs") or signature.get("columns") or []
    columns = []
    for column in signature or ():
        if isinstance(column, Mapping):
            columns.append((str(column["name"]), str(column.get("type", ""))))
        elif hasattr(column, "name"):
            columns.append((str(column.name), str(getattr(column, "type", ""))))
        elif isinstance(column, Sequence) and not isinstance(column, str):
            columns.append((str(column[0]), str(column[1]) if len(column) > 1 else ""))
    return columns


def rule_limits(rules: Any) -> tuple[dict[str, Range], dict[str, frozenset[str]]]:
    """Numeric ranges and known categories out of a dataset's validation rules."""
    ranges: dict[str, Range] = {}
    categories: dict[str, frozenset[str]] = {}
    if rules is None:
        return ranges, categories
    if hasattr(rules, "to_dict"):
        rules = rules.to_dict()
    columns = rules.get("columns", rules) if isinstance(rules, Mapping) else {}
    if isinstance(columns, Sequence):
        columns = {c.get("name"): c for c in columns if isinstance(c, Mapping)}
    for name, rule in columns.items():
        if not isinstance(rule, Mapping):
            continue
        low, high = rule.get("min"), rule.get("max")
        if low is not None or high is not None:
            ranges[str(name)] = Range(low, high)
        known = rule.get("categories") or rule.get("allowed") or rule.get("values")
        if known:
            categories[str(name)] = frozenset(str(v) for v in known)
    return ranges, categories


def _is_numeric(kind: str) -> bool:
    kind = kind.lower()
    return any(token in kind for token in _NUMERIC)


def _refuse(field_name: str, problem: str, hint: str) -> InvalidInput:
    error = InvalidInput(f"body.{field_name}: {problem}.", hint=hint)
    error.fields = [{"field": f"body.{field_name}", "problem": problem}]
    return error
