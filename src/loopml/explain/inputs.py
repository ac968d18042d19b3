"""Rows as an explainer takes them, and the optional libraries explanations need.

The tree libraries take text only as categories: pandas 3's string columns become
``category`` columns (LightGBM maps them back to its training categories by value),
never dropped in silence. The model-agnostic explainer masks numbers, so text is
coded as numbers there and decoded before each model call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loopml.errors import InvalidInput, require


def shap():
    import warnings

    with warnings.catch_warnings():  # shap's import trips matplotlib's deprecation notices
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return require("shap", what="Explaining predictions", extra="explain")


def fairlearn_metrics():
    return require("fairlearn.metrics", what="Fairness metrics", extra="explain")


def text_columns(frame) -> list[str]:
    import pandas as pd

    return [
        name
        for name in frame.columns
        if pd.api.types.is_string_dtype(frame[name]) or pd.api.types.is_object_dtype(frame[name])
    ]


def with_categories(frame):
    """Text columns as pandas categories, for LightGBM and XGBoost."""
    names = text_columns(frame)
    return frame.astype(dict.fromkeys(names, "category")) if names else frame


def refuse_text(frame, method: str) -> None:
    names = text_columns(frame)
    if names:
        raise InvalidInput(
            f"{method} takes numbers, but {', '.join(map(repr, names))} hold text.",
            hint="Encode the text inside the model (a scikit-learn Pipeline), or train on "
            "pandas 'category' columns with LightGBM or XGBoost.",
        )


class Codes:
    """Text columns as integer codes (for masking) and back (for the model)."""

    def __init__(self, frame) -> None:
        self.columns = list(frame.columns)
        self.dtypes = frame.dtypes
        self.levels = {
            name: np.asarray(sorted(set(frame[name].dropna().tolist()), key=str), dtype=object)
            for name in text_columns(frame)
        }

    def encode(self, frame) -> np.ndarray:
        matrix = np.empty((len(frame), len(self.columns)))
        for position, name in enumerate(self.columns):
            values = frame[name]
            if name in self.levels:
                lookup = {level: code for code, level in enumerate(self.levels[name])}
                matrix[:, position] = [lookup.get(v, np.nan) for v in values.tolist()]
            else:
                matrix[:, position] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return matrix

    def decode(self, matrix: np.ndarray):
        import pandas as pd

        columns: dict[str, Any] = {}
        for position, name in enumerate(self.columns):
            values = matrix[:, position]
            if name in self.levels:
                known = ~np.isnan(values)
                decoded = np.full(len(values), None, dtype=object)
                decoded[known] = self.levels[name][values[known].astype(np.int64)]
                columns[name] = decoded
            else:
                columns[name] = values
        return pd.DataFrame(columns).astype(
            {n: t for n, t in self.dtypes.items() if n not in self.levels}
        )
