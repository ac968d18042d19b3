"""Train a challenger on fresh labelled traffic and compare it with the champion
on the same recent holdout."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import InvalidInput
from loopml.metrics import regression
from loopml.models import LoadedModel


@dataclass(frozen=True)
class Retrained:
    challenger: Any
    challenger_error: float
    champion_error: float
    train_rows: int
    holdout_rows: int
    metric: str

    @property
    def improvement(self) -> float:
        """Share by which the challenger's error is below the champion's (negative: worse)."""
        if not np.isfinite(self.champion_error) or self.champion_error == 0:
            return 0.0
        return 1 - self.challenger_error / self.champion_error


def retrain(
    champion: LoadedModel,
    frame: pd.DataFrame,
    features: list[str],
    *,
    holdout: float,
    metric: str,
    estimator: str | None = None,
) -> Retrained:
    """Fit on the oldest rows, score champion and challenger on the newest ``holdout`` share."""
    frame = frame.sort_values("event_time", kind="stable")  # the newest in event time
    cut = min(len(frame) - 1, max(1, round(len(frame) * (1 - holdout))))
    train, test = frame.iloc[:cut], frame.iloc[cut:]
    challenger = _fresh_estimator(champion, estimator)
    challenger.fit(train[features], train["label"].to_numpy())
    # Refit on every row once judged: the newest rows matter most after a change.
    scored = {
        "challenger": regression(
            test["label"].to_numpy(), np.asarray(challenger.predict(test[features]))
        ),
        "champion": regression(test["label"].to_numpy(), champion.predict(test[features])),
    }
    final = _fresh_estimator(champion, estimator).fit(frame[features], frame["label"].to_numpy())
    return Retrained(
        final,
        scored["challenger"][metric],
        scored["champion"][metric],
        len(train),
        len(test),
        metric,
    )


def _fresh_estimator(champion: LoadedModel, path: str | None) -> Any:
    if path:
        module, _, name = path.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)()
        except (ImportError, AttributeError, ValueError) as error:
            raise InvalidInput(
                f"The policy's estimator {path!r} cannot be imported ({error}).",
                hint="Use a full import path such as sklearn.linear_model.Ridge.",
            ) from None
    from sklearn.base import clone

    try:
        return clone(champion.native)
    except TypeError:
        raise InvalidInput(
            f"The champion ({champion.flavor}) cannot be copied to retrain it.",
            hint="Name the estimator to retrain in the policy: estimator: sklearn.linear_model.Ridge.",
        ) from None
