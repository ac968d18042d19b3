"""Columns that name rows instead of describing them: row numbers and identifiers.

A model that learns from them learns the order of the file: an R-style row index
of a table sorted by date or by the target "predicts" that target almost
perfectly on a random split, and means nothing for a new row. ``loopml run``
leaves them out of ``features: all`` and ``loopml init --data`` out of the
features it lists, each time saying why.
"""

from __future__ import annotations

import re

import pandas as pd

MIN_ROWS = 20  # below this, uniqueness says nothing
_HEAD = 4096  # rows looked at first for a repeat
_ID_NAME = re.compile(
    r"^(|unnamed: ?\d+|index|row|rownames|row_?id|row_?number|id|uuid|.*[_ ]id)$", re.I
)


def identifier_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Each row-naming column of ``frame`` with the reason, in the frame's column order."""
    found = {}
    for name in frame.columns:
        reason = why_identifier(str(name), frame[name])
        if reason is not None:
            found[str(name)] = reason
    return found


def why_identifier(name: str, values: pd.Series) -> str | None:
    """Why the column names rows rather than describing them, or None."""
    if len(values) < MIN_ROWS or values.isna().any():
        return None
    integer = pd.api.types.is_integer_dtype(values)
    text = pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)
    # Only whole numbers, text and id-like names can name rows: a measurement's uniqueness
    # (hashing millions of floats) is never asked for.
    if not (integer or text or _ID_NAME.match(name)) or _repeats(values):
        return None
    if integer and (values.is_monotonic_increasing or values.is_monotonic_decreasing):
        steps = values.diff().dropna().abs()
        if (steps == steps.iloc[0]).all():
            return f"a row number (unique, in steps of {int(steps.iloc[0])})"
        return "an increasing id (unique and in row order)"
    if _ID_NAME.match(name):
        return "named like an identifier and unique in every row"
    if text:
        return "text that is unique in every row (an identifier, not a category)"
    return None


def _repeats(values: pd.Series) -> bool:
    """Whether a value repeats. A category repeats within its first rows, which settles
    it without hashing the whole column."""
    return not values.iloc[:_HEAD].is_unique or not values.is_unique
