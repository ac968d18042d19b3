"""Validation rules: what good data looks like, inferred from a reference and editable as YAML.

Per column: its type, whether it must be present, the highest null rate, a
numeric range (the reference's, widened by ``tolerance`` of its span) and the
allowed categories (when the reference has at most ``max_categories``). For
the table: the largest share of duplicated rows, whether constant columns are
suspicious and, with a ``target``, the smallest share a class may have and
how close a feature may come to predicting the target on its own (leakage).

``validate(data, rules)`` reports every violation; ``rules.flag_rows(frame)``
is the per-row check serving uses to flag (not reject) inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from loopml.data.validation import ValidationReport

FORMAT = "loopml.rules/1"
TOLERANCE = 0.1
NULL_SLACK = 0.01
DUPLICATE_SLACK = 0.01
LEAKAGE_THRESHOLD = 0.95
MAX_CATEGORIES = 100  # the summary's TOP_K: beyond it the summary does not hold every value
MAX_CLASSES = 20  # an integer target with at most this many values is a class label
NUMERIC_TYPES = ("integer", "float")


@dataclass(frozen=True)
class ColumnRule:
    type: str
    required: bool = True
    max_null_rate: float | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "required": self.required}
        for key in ("max_null_rate", "min", "max"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.allowed is not None:
            data["allowed"] = list(self.allowed)
        return data

    @classmethod
    def from_dict(cls, name: str, data: Any) -> ColumnRule:
        if not isinstance(data, Mapping) or "type" not in data:
            raise InvalidInput(
                f"The rule of column {name!r} must be a mapping with at least a 'type'.",
                hint="E.g. price: {type: float, min: 0, max: 100}",
            )
        _check_keys(data, cls, f"the rule of column {name!r}")
        allowed = data.get("allowed")
        return cls(
            type=str(data["type"]),
            required=bool(data.get("required", True)),
            max_null_rate=_fraction(data.get("max_null_rate"), f"{name}.max_null_rate"),
            min=_float(data.get("min"), f"{name}.min"),
            max=_float(data.get("max"), f"{name}.max"),
            allowed=None if allowed is None else tuple(str(v) for v in _list(allowed, name)),
        )


@dataclass(frozen=True)
class Rules:
    columns: dict[str, ColumnRule]
    target: str | None = None
    min_class_share: float | None = None
    max_duplicate_share: float | None = None
    check_constant: bool = True
    leakage_threshold: float | None = None
    tolerance: float = TOLERANCE  # how the ranges were widened; informational

    # --- storage ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": FORMAT}
        for key in ("target", "min_class_share", "max_duplicate_share", "leakage_threshold"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data["check_constant"] = self.check_constant
        data["tolerance"] = self.tolerance
        data["columns"] = {name: rule.to_dict() for name, rule in self.columns.items()}
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Rules:
        if not isinstance(data, Mapping) or not isinstance(data.get("columns"), Mapping):
            raise InvalidInput(
                "Validation rules need a 'columns' mapping.",
                hint="Start from loopml.infer_rules(reference).to_yaml() and edit it.",
            )
        if data.get("format", FORMAT) != FORMAT:
            raise InvalidInput(
                f"These rules have format {data.get('format')!r}; this loopml reads {FORMAT!r}.",
                hint="Infer the rules again with loopml.infer_rules(reference).",
            )
        _check_keys({k: v for k, v in data.items() if k != "format"}, cls, "the rules")
        target = data.get("target")
        rules = cls(
            columns={str(n): ColumnRule.from_dict(str(n), r) for n, r in data["columns"].items()},
            target=None if target is None else str(target),
            min_class_share=_fraction(data.get("min_class_share"), "min_class_share"),
            max_duplicate_share=_fraction(data.get("max_duplicate_share"), "max_duplicate_share"),
            check_constant=bool(data.get("check_constant", True)),
            leakage_threshold=_fraction(data.get("leakage_threshold"), "leakage_threshold"),
            tolerance=_float(data.get("tolerance", TOLERANCE), "tolerance"),
        )
        if rules.target is not None and rules.target not in rules.columns:
            raise InvalidInput(
                f"The target {rules.target!r} is not one of the rules' columns.",
                hint="Add a rule for it or remove 'target'.",
            )
        return rules

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str) -> Rules:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise InvalidInput(
                f"The rules are not valid YAML: {error}", hint="Fix the line it names."
            ) from error
        return cls.from_dict(data)

    # --- use ---------------------------------------------------------------

    def validate(self, data: Any) -> ValidationReport:
        from loopml.data.validation import validate

        return validate(data, self)

    def flag_rows(self, data: pd.DataFrame | Mapping[str, Sequence[Any]]) -> list[list[str]]:
        """Per row, what is unusual: ``out_of_range:COL`` and ``unseen_category:COL``.

        ``data`` is a DataFrame or a mapping of column name to values (serving's
        rows). Vectorised over columns; columns missing from ``data`` (such as
        the target at serving time) and nulls are not flagged. A row's flags are
        in the order of the column names.
        """
        rows = len(data) if not isinstance(data, Mapping) else _length(data)
        flags: list[list[str]] = [[] for _ in range(rows)]
        for name, rule in sorted(self.columns.items()):  # the same order however stored
            if name not in data:
                continue
            if rule.min is not None or rule.max is not None:
                for row in _outside(data[name], _lower(rule), _upper(rule)):
                    flags[row].append(f"out_of_range:{name}")
            if rule.allowed is not None:
                for row in _unseen(data[name], _allowed_set(rule)):
                    flags[row].append(f"unseen_category:{name}")
        return flags

    def with_column(self, name: str, **changes: Any) -> Rules:
        """A copy with one column's rule changed, e.g. ``rules.with_column('price', max=500)``."""
        if name not in self.columns:
            raise InvalidInput(
                f"The rules have no column {name!r}.",
                hint=f"Columns: {', '.join(list(self.columns)[:30])}.",
            )
        return replace(self, columns={**self.columns, name: replace(self.columns[name], **changes)})


def infer_rules(
    reference: Any,
    target: str | None = None,
    *,
    tolerance: float = TOLERANCE,
    max_categories: int = MAX_CATEGORIES,
) -> Rules:
    """Rules that ``reference`` (DataFrame, Arrow table, path or DatasetVersion) satisfies."""
    from loopml.data.profile import profile_table
    from loopml.data.validation import duplicate_count, reference_table

    if not 0 <= tolerance <= 10:
        raise InvalidInput(f"tolerance {tolerance!r} is out of range.", hint="Use e.g. 0.1.")
    table = reference_table(reference)
    if table.num_rows == 0:
        raise InvalidInput(
            "The reference has no rows; rules cannot be inferred from it.",
            hint="Infer rules from the data a model was (or will be) trained on.",
        )
    if target is not None and target not in table.column_names:
        raise InvalidInput(
            f"The target {target!r} is not a column of the reference.",
            hint=f"Columns: {', '.join(table.column_names[:30])}.",
        )
    profile, summary = profile_table(table)
    columns = {
        name: _infer_column(entry, summary.columns.get(name), tolerance, max_categories)
        for name, entry in profile["columns"].items()
    }
    duplicates = duplicate_count(table)
    return Rules(
        columns=columns,
        target=target,
        min_class_share=_class_share(profile["columns"][target], table[target])
        if target is not None
        else None,
        max_duplicate_share=None
        if duplicates is None
        else round(min(1.0, duplicates / table.num_rows + DUPLICATE_SLACK), 6),
        leakage_threshold=LEAKAGE_THRESHOLD if target is not None else None,
        tolerance=tolerance,
    )


def _infer_column(entry: dict, summary: Any, tolerance: float, max_categories: int) -> ColumnRule:
    rule = ColumnRule(
        type=entry["type"],
        max_null_rate=round(min(1.0, entry["null_rate"] + NULL_SLACK), 6),
    )
    if entry["type"] in NUMERIC_TYPES and entry.get("min") is not None:
        low, high = entry["min"], entry["max"]
        pad = tolerance * (high - low) if high > low else tolerance * max(abs(low), 1.0)
        rule = replace(rule, min=_tidy(low - pad), max=_tidy(high + pad))
    if entry["type"] == "string" and summary is not None:
        from loopml.data.summary import OTHER

        values = [v for v in summary.counts if v != OTHER]
        if OTHER not in summary.counts and 0 < len(values) <= max_categories:
            rule = replace(rule, allowed=tuple(sorted(values)))
    return rule


def is_classification(entry: dict) -> bool:
    """Whether a target column (by its profile) holds class labels rather than amounts."""
    if entry["kind"] == "categorical":
        return True
    if entry["type"] != "integer":
        return False
    low, high = entry.get("min"), entry.get("max")
    return low is not None and high - low < MAX_CLASSES


def _class_share(entry: dict, column: pa.ChunkedArray) -> float | None:
    """Half the reference's smallest class share: a class shrinking below it is worth a look."""
    if not is_classification(entry):
        return None
    import pyarrow.compute as pc

    counts = pc.value_counts(column.drop_null()).field("counts").to_numpy()
    return round(float(counts.min() / counts.sum()) / 2, 6) if counts.size else None


def _length(columns: Mapping[str, Sequence[Any]]) -> int:
    return len(next(iter(columns.values()))) if columns else 0


# A DataFrame's columns are checked vectorised; serving's few rows of plain values
# in plain Python, where numpy's per-call cost would exceed the work.


def _outside(values: Any, low: float, high: float) -> list[int]:
    """The rows whose value is a number outside [low, high] (nulls and text are not)."""
    if hasattr(values, "to_numpy"):
        import numpy as np
        import pandas as pd

        numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
        return np.flatnonzero((numbers < low) | (numbers > high)).tolist()
    outside = []
    for row, value in enumerate(values):
        number = _number(value)
        if number is not None and (number < low or number > high):
            outside.append(row)
    return outside


def _unseen(values: Any, allowed: frozenset[str]) -> list[int]:
    """The rows whose value is not null and not among ``allowed`` (compared as text)."""
    if hasattr(values, "to_numpy"):
        import numpy as np

        unseen = values.notna().to_numpy() & ~values.astype(str).isin(allowed).to_numpy()
        return np.flatnonzero(unseen).tolist()
    return [
        row for row, value in enumerate(values) if not _is_null(value) and str(value) not in allowed
    ]


def _number(value: Any) -> float | None:
    """A number, or None for nulls, NaN and what is not one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _lower(rule: ColumnRule) -> float:
    return -math.inf if rule.min is None else rule.min


def _upper(rule: ColumnRule) -> float:
    return math.inf if rule.max is None else rule.max


def _allowed_set(rule: ColumnRule) -> frozenset[str]:
    return frozenset(rule.allowed or ())


def _tidy(value: float) -> float:
    """Round a widened bound to 6 significant digits: easier to read and edit in YAML."""
    return float(f"{value:.6g}")


def _check_keys(data: Mapping, cls: type, where: str) -> None:
    known = {f.name for f in fields(cls) if not f.name.startswith("_")}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise InvalidInput(
            f"Unknown key{'s' if len(unknown) > 1 else ''} in {where}: {', '.join(unknown)}.",
            hint=f"Known keys: {', '.join(sorted(known))}.",
        )


def _float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{what} must be a number, not {value!r}.", hint="E.g. 0.5")
    return float(value)


def _fraction(value: Any, what: str) -> float | None:
    number = _float(value, what)
    if number is not None and not 0 <= number <= 1:
        raise InvalidInput(f"{what} must be between 0 and 1, not {value!r}.", hint="E.g. 0.05")
    return number


def _list(value: Any, name: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise InvalidInput(
            f"'allowed' of column {name!r} must be a list.", hint="E.g. allowed: [a, b, c]"
        )
    return list(value)
