"""Train a challenger on the segment's history and compare it with the champion on the
same rows: the labelled traffic since the trigger.

The comparison is a rolling-origin backtest: the rows to judge are cut into at
most ``ORIGINS`` blocks in time order, and each block is predicted by a
challenger fitted only on the history before it (within the policy's window),
so no row is judged by a model that learned it. The champion predicts the same
rows. The registered challenger is then fitted on the whole window.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from loopml.automation import evidence
from loopml.automation.history import LABEL, PERIOD, History, weights, window
from loopml.errors import InvalidInput
from loopml.metrics import losses
from loopml.models import LoadedModel

ORIGINS = 8  # fits per comparison: enough origins to follow a change, few enough to be quick


@dataclass(frozen=True)
class Retrained:
    challenger: Any
    comparison: evidence.Comparison
    learned: pd.DataFrame  # the history rows the registered challenger learned from
    cpu_seconds: float = 0.0  # this thread's CPU time for the backtest fits and the final one

    @property
    def train_rows(self) -> int:
        return len(self.learned)


def retrain(
    champion: LoadedModel,
    history: History,
    judged: np.ndarray,
    features: list[str],
    spec,
    *,
    since: datetime | None = None,
) -> Retrained:
    """Compare on the ``judged`` rows of the history (a mask), then fit on the whole window."""
    started = time.thread_time()
    frame = history.frame
    rows = frame[judged]
    predicted = np.full(len(rows), np.nan)
    for block in np.array_split(np.arange(len(rows)), min(ORIGINS, len(rows))):
        origin = int(rows[PERIOD].iloc[block[0]])
        learn = window(frame, origin, spec, since)
        if len(learn) < 2:
            continue  # nothing to learn from before this block: its rows are not judged
        model = _fit(_fresh_estimator(champion, spec.estimator), learn, features, origin, spec)
        predicted[block] = np.asarray(model.predict(rows[features].iloc[block]), dtype=float)
    y = rows[LABEL].to_numpy(float)
    comparison = evidence.beats(
        losses(spec.metric, y, champion.predict(rows[features])),
        losses(spec.metric, y, predicted),
        margin=spec.min_improvement,
        confidence=spec.confidence,
        min_rows=spec.min_labels,
    )
    end = int(frame[PERIOD].max()) + 1
    learn = window(frame, end, spec, since)
    final = _fit(_fresh_estimator(champion, spec.estimator), learn, features, end, spec)
    return Retrained(final, comparison, learn, time.thread_time() - started)


def _fit(estimator, rows: pd.DataFrame, features: list[str], origin: int, spec):
    weight = weights(rows, origin, spec.half_life)
    if weight is None:
        return estimator.fit(rows[features], rows[LABEL].to_numpy())
    # a scikit-learn pipeline passes sample weights to its last step by name
    steps = getattr(estimator, "steps", None)
    key = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
    return estimator.fit(rows[features], rows[LABEL].to_numpy(), **{key: weight})


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
