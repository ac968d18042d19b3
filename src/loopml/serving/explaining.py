"""Explain rows with the versions that would answer them: each segment's champion.

Rows are routed by ``router.plan`` as predictions are (the segment's champion, the
family's fallback), without canary or shadow: an explanation should describe the
model a row is answered by, not a random draw. The server and ``loopml explain``
both explain through ``explain_routed``.

``AttributionSample`` explains a sample of the rows already answered, for the
prediction log: each row with probability ``rate``, at most ``rows`` per model and
hour (the log's window), by the version that answered it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loopml.errors import LoopmlError
from loopml.serving.pool import ModelPool
from loopml.serving.router import plan
from loopml.serving.rows import Rows
from loopml.serving.traffic import Deployment

log = logging.getLogger("loopml.serving")


def explain_routed(pool: ModelPool, name: str, deployment: Deployment, rows: Rows) -> list[dict]:
    """One record per row: version, segment, base value, contributions and the output
    they add up to, with what that output is and how it was computed."""
    from loopml.explain import explainers

    champions_only = deployment.model_copy(update={"canary_percent": 0, "shadow": False})
    fields = pool.segment_fields(name)
    routes, _ = plan(name, rows, fields, champions_only, pool.get, 0.0)
    answers: list[Any] = [None] * rows.length
    for route in routes:
        served = route.served
        served.checker.check_columns(rows.columns)
        explanation = explainers.explain_rows(
            served.model, rows.take(route.indices).columns, background=_background(pool, served)
        )
        described = explanation.describe()
        for index, record in zip(route.indices, explanation.records(), strict=True):
            answers[index] = {
                "version": served.number,
                "segment": served.segment,
                **record,
                "explains": described["output"],
                "method": described["method"],
            }
    return answers


def _background(pool: ModelPool, served):
    """Read the version's background sample only when its explainer needs one."""
    from loopml.explain.service import background_for

    return lambda: background_for(pool.source.store, served.version)


@dataclass
class AttributionSample:
    """Top contributions of a sample of answered rows; ``store`` holds the versions'
    background samples (for linear and model-agnostic explainers)."""

    store: Any
    rate: float
    rows: int
    top: int
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _counts: dict[tuple[str, datetime], int] = field(default_factory=dict, repr=False)
    _unexplainable: set[int] = field(default_factory=set, repr=False)

    def attributions(self, served, time: datetime, rows: Rows) -> list[Any] | None:
        """Per row, its ``top`` contributions (largest first) or None when not sampled."""
        if not self.rate or not self.rows or served is None or id(served) in self._unexplainable:
            return None
        hour = time.replace(minute=0, second=0, microsecond=0)
        key = (served.name, hour)
        left = self.rows - self._counts.get(key, 0)
        picks = [i for i in range(rows.length) if self._random.random() < self.rate][: max(left, 0)]
        if not picks:
            return None
        if key not in self._counts:  # a new hour: the counts of earlier ones are done
            self._counts = {k: n for k, n in self._counts.items() if k[1] >= hour}
        self._counts[key] = self._counts.get(key, 0) + len(picks)
        explanation = self._explain(served, rows.take(picks))
        if explanation is None:
            return None
        kept: list[Any] = [None] * rows.length
        for position, index in enumerate(picks):
            kept[index] = [
                {"feature": f, "contribution": c} for f, c in explanation.top(position, self.top)
            ]
        return kept

    def _explain(self, served, rows: Rows):
        from loopml.explain import explainers
        from loopml.explain.service import background_for

        try:
            return explainers.explain_rows(
                served.model,
                rows.columns,
                background=lambda: background_for(self.store, served.version),
            )
        except LoopmlError as error:  # named once; the version's rows are logged unexplained
            self._unexplainable.add(id(served))
            log.warning(
                "no attributions for %s v%s in the prediction log: %s",
                served.name,
                served.number,
                error,
            )
            return None
