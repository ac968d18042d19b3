"""What an explanation is: per row, a base value and each feature's contribution.

``base_values + values.sum(axis=1)`` equals the model's output for each row, and
``output`` says which output that is: the prediction of a regressor, the raw margin
(log-odds) of a boosted or linear classifier, the probability of a forest. A
multiclass model is explained for the class it predicts in each row (``classes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Explanation:
    features: tuple[str, ...]
    values: np.ndarray  # (rows, features)
    base_values: np.ndarray  # (rows,)
    output: str  # what base value plus contributions add up to
    method: str  # how they were computed, with the sample sizes of sampled methods
    classes: tuple[Any, ...] | None = None  # per row, the class explained (classifiers)

    @property
    def outputs(self) -> np.ndarray:
        """The model output each row's contributions add up to."""
        return self.base_values + self.values.sum(axis=1)

    def mean_abs(self) -> dict[str, float]:
        """Mean |contribution| per feature, largest first: the global importance."""
        means = np.abs(self.values).mean(axis=0)
        order = np.argsort(-means, kind="stable")
        return {self.features[i]: float(means[i]) for i in order}

    def top(self, row: int, k: int) -> list[tuple[str, float]]:
        """The ``k`` largest contributions of one row, by size."""
        order = np.argsort(-np.abs(self.values[row]), kind="stable")[:k]
        return [(self.features[i], float(self.values[row, i])) for i in order]

    def records(self) -> list[dict[str, Any]]:
        """One plain dict per row, as the API and the CLI show it."""
        outputs = self.outputs
        return [
            {
                "base_value": float(self.base_values[i]),
                "contributions": dict(zip(self.features, self.values[i].tolist(), strict=True)),
                "output": float(outputs[i]),
                "class": None if self.classes is None else _plain(self.classes[i]),
            }
            for i in range(len(self.values))
        ]

    def describe(self) -> dict[str, str]:
        return {"output": self.output, "method": self.method}


def pick_class(
    values: np.ndarray, base: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """From per-class contributions (rows, features, classes) and base values (rows,
    classes), those of the class with the largest output in each row."""
    outputs = base + values.sum(axis=1)
    chosen = outputs.argmax(axis=1)
    rows = np.arange(len(values))
    return values[rows, :, chosen], base[rows, chosen], tuple(classes[chosen])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
