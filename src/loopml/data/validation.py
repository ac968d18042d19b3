"""Checking data against rules: every violation, by column, with counts and examples.

Errors make a report fail (``report.ok`` is False, training refuses the data):
a missing or retyped column, too many nulls, values out of range, unseen
categories, no rows, a feature that is almost a copy of the target. Warnings
are reported but do not fail it: unexpected columns, constant columns,
duplicated rows beyond the reference's share, a class that became rare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopml.data.frames import as_table, logical_type
from loopml.data.rules import NUMERIC_TYPES, ColumnRule, Rules
from loopml.errors import InvalidInput

EXAMPLES = 5
Severity = Literal["error", "warning"]
# Casts that lose nothing: a rule for floats accepts integers, and so on.
_WIDENING = {("integer", "float"), ("boolean", "integer"), ("boolean", "float")}


@dataclass(frozen=True)
class Violation:
    column: str | None  # None: the whole table
    check: str
    count: int
    examples: list[Any]
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "check": self.check,
            "count": self.count,
            "examples": self.examples,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class ValidationReport:
    rows: int
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "violations": [v.to_dict() for v in self.violations],
        }

    def raise_for_errors(self, what: str = "The data") -> None:
        """Raise ``InvalidInput`` listing the errors (what training does with bad data)."""
        if self.ok:
            return
        lines = "; ".join(v.message for v in self.errors[:10])
        more = f" (and {len(self.errors) - 10} more)" if len(self.errors) > 10 else ""
        raise InvalidInput(
            f"{what} breaks {len(self.errors)} validation rule(s): {lines}{more}",
            hint="Fix the data, or edit the rules if the change is expected "
            "(`loopml datasets rules NAME --export rules.yaml`, then --import).",
        )


def validate(data: Any, rules: Rules) -> ValidationReport:
    """Check ``data`` (DataFrame, Arrow table, path or DatasetVersion) against ``rules``."""
    if not isinstance(rules, Rules):
        raise InvalidInput(
            f"Expected Rules, got {type(rules).__name__}.",
            hint="Use loopml.infer_rules(reference) or Rules.from_yaml(text).",
        )
    table = reference_table(data, "data to validate")
    found: list[Violation] = []
    if table.num_rows == 0:
        found.append(Violation(None, "empty", 0, [], "The data has no rows."))
    columns = dict(zip(table.column_names, table.columns, strict=True))
    for name, rule in rules.columns.items():
        found += _column_violations(columns.get(name), name, rule, table.num_rows)
    extra = [name for name in table.column_names if name not in rules.columns]
    found += [
        Violation(
            name,
            "unexpected_column",
            table.num_rows,
            [],
            f"Column {name!r} is not in the rules.",
            "warning",
        )
        for name in extra
    ]
    if table.num_rows:
        found += _table_violations(table, rules)
    return ValidationReport(table.num_rows, found)


def reference_table(data: Any, what: str = "reference") -> pa.Table:
    """Data as a table; a DatasetVersion (or its ref) is read from the artifact store."""
    from loopml.data.entities import DatasetVersion

    if isinstance(data, DatasetVersion):
        from loopml._context import get_context
        from loopml.data.service import load_table

        return load_table(get_context().artifacts, data)
    return as_table(data, what)


# --- per column --------------------------------------------------------------


def _column_violations(
    column: pa.ChunkedArray | None, name: str, rule: ColumnRule, rows: int
) -> list[Violation]:
    if column is None:
        if not rule.required:
            return []
        return [Violation(name, "missing_column", rows, [], f"Column {name!r} is missing.")]
    actual = logical_type(column.type)
    if not _compatible(rule.type, actual, column):
        return [
            Violation(
                name,
                "type",
                len(column) - column.null_count,
                _examples(column.drop_null()),
                f"Column {name!r} holds {actual} values; the rules expect {rule.type}.",
            )
        ]
    found = []
    values = _as_float(column) if rule.type in NUMERIC_TYPES or actual in NUMERIC_TYPES else None
    nulls = int(np.isnan(values).sum()) if values is not None else column.null_count
    if rule.max_null_rate is not None and len(column):
        rate = nulls / len(column)
        if rate > rule.max_null_rate + 1e-12:
            found.append(
                Violation(
                    name,
                    "null_rate",
                    nulls,
                    [],
                    f"Column {name!r} is {rate:.1%} null; at most "
                    f"{rule.max_null_rate:.1%} is allowed.",
                )
            )
    if values is not None and (rule.min is not None or rule.max is not None):
        found += _range(name, rule, values)
    if rule.allowed is not None:
        found += _categories(name, rule, column)
    return found


def _range(name: str, rule: ColumnRule, values: np.ndarray) -> list[Violation]:
    low = -np.inf if rule.min is None else rule.min
    high = np.inf if rule.max is None else rule.max
    with np.errstate(invalid="ignore"):
        outside = (values < low) | (values > high)
    count = int(outside.sum())
    if not count:
        return []
    bad = values[outside]
    examples = sorted({float(v) for v in bad[:1000]}, key=lambda v: -abs(v))[:EXAMPLES]
    return [
        Violation(
            name,
            "range",
            count,
            examples,
            f"{count} value(s) of {name!r} are outside [{low:g}, {high:g}] "
            f"(seen {float(bad.min()):g} to {float(bad.max()):g}).",
        )
    ]


def _categories(name: str, rule: ColumnRule, column: pa.ChunkedArray) -> list[Violation]:
    strings = _as_strings(column).drop_null()
    unseen = strings.filter(pc.invert(pc.is_in(strings, value_set=pa.array(rule.allowed or ()))))
    if not len(unseen):
        return []
    counted = pc.value_counts(unseen)
    order = np.argsort(-counted.field("counts").to_numpy(), kind="stable")[:EXAMPLES]
    examples = [counted.field("values")[int(i)].as_py() for i in order]
    return [
        Violation(
            name,
            "category",
            len(unseen),
            examples,
            f"{len(unseen)} value(s) of {name!r} are not among its {len(rule.allowed or ())} "
            f"known categories (e.g. {', '.join(map(repr, examples[:3]))}).",
        )
    ]


def _compatible(expected: str, actual: str, column: pa.ChunkedArray) -> bool:
    if expected == actual or actual == "null" or (actual, expected) in _WIDENING:
        return True
    if (expected, actual) == ("integer", "float"):  # pandas turns int columns with nulls to float
        values = _as_float(column)
        finite = values[np.isfinite(values)]
        return bool(np.all(finite == np.round(finite)))
    return False


# --- whole table -------------------------------------------------------------


def _table_violations(table: pa.Table, rules: Rules) -> list[Violation]:
    from loopml.data.leakage import leakage_scores

    found: list[Violation] = []
    if rules.max_duplicate_share is not None:
        found += _duplicates(table, rules.max_duplicate_share)
    if rules.check_constant and table.num_rows > 1:
        found += [
            Violation(
                name,
                "constant",
                table.num_rows,
                [value],
                f"Column {name!r} has one value ({value!r}) in every row.",
                "warning",
            )
            for name, value in _constant_columns(table)
        ]
    target = rules.target
    if target is None or target not in table.column_names:
        return found
    if rules.min_class_share is not None:
        found += _class_balance(table[target], target, rules)
    if rules.leakage_threshold is not None:
        scores = leakage_scores(table, target)
        found += [
            Violation(
                name,
                "leakage",
                table.num_rows,
                [round(score, 4)],
                f"Column {name!r} predicts the target {target!r} almost perfectly "
                f"(score {score:.3f} ≥ {rules.leakage_threshold}); it may be a copy of it.",
            )
            for name, score in scores.items()
            if score >= rules.leakage_threshold
        ]
    return found


def duplicate_count(table: pa.Table) -> int | None:
    """Rows equal to an earlier row (by a 64-bit row hash), or None when rows cannot be hashed."""
    import pandas as pd

    if table.num_rows == 0:
        return 0
    try:
        hashes = pd.util.hash_pandas_object(table.to_pandas(), index=False).to_numpy()
    except (TypeError, ValueError, pa.ArrowException):
        return None
    from loopml.data.leakage import distinct_count

    return int(hashes.size - distinct_count(hashes))


def _duplicates(table: pa.Table, max_share: float) -> list[Violation]:
    count = duplicate_count(table)
    if count is None or count / table.num_rows <= max_share + 1e-12:
        return []
    return [
        Violation(
            None,
            "duplicate_rows",
            count,
            [],
            f"{count} row(s) ({count / table.num_rows:.1%}) repeat an earlier row; "
            f"at most {max_share:.1%} is expected.",
            "warning",
        )
    ]


def _constant_columns(table: pa.Table) -> list[tuple[str, Any]]:
    constant = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.null_count == len(column):
            continue
        if _one_value(column):
            constant.append((name, _plain(column.drop_null()[0].as_py())))
    return constant


def _one_value(column: pa.ChunkedArray) -> bool:
    """Whether the column's values (nulls aside) are all equal: its least and greatest
    are equal, a scan where counting distinct values hashes every row."""
    try:
        if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py():
            return False  # min_max skips NaN; a NaN is a value of its own, as distinct counts it
        least, greatest = pc.min_max(column).values()
        return least.as_py() == greatest.as_py()
    except pa.ArrowNotImplementedError:  # a type without an order (lists, structs)
        try:
            return pc.count_distinct(column, mode="only_valid").as_py() == 1
        except pa.ArrowNotImplementedError:
            return False


def _class_balance(column: pa.ChunkedArray, target: str, rules: Rules) -> list[Violation]:
    strings = _as_strings(column).drop_null()
    counted = pc.value_counts(strings)
    counts = dict(
        zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True)
    )
    rule = rules.columns.get(target)
    for label in rule.allowed if rule is not None and rule.allowed else ():
        counts.setdefault(label, 0)
    total = max(len(strings), 1)
    share = rules.min_class_share or 0.0
    return [
        Violation(
            target,
            "class_balance",
            n,
            [label],
            f"Class {label!r} of {target!r} is {n / total:.2%} of the rows; below {share:.2%}.",
            "warning",
        )
        for label, n in sorted(counts.items(), key=lambda item: item[1])
        if n / total < share
    ]


# --- conversions -------------------------------------------------------------


def _as_float(column: pa.ChunkedArray) -> np.ndarray:
    """Numbers as float64 with NaN for nulls (and for text that is not a number)."""
    if pa.types.is_null(column.type):
        return np.full(len(column), np.nan)
    try:
        cast = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.full(len(column), np.nan)
    return pc.fill_null(cast, np.nan).to_numpy()


def _as_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _examples(column: pa.ChunkedArray) -> list[Any]:
    return [_plain(v) for v in column.slice(0, EXAMPLES).to_pylist()]


def _plain(value: Any) -> Any:
    """A JSON-friendly example value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
