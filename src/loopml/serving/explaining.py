"""Explain rows with the versions that would answer them: each segment's champion.

Rows are routed by ``router.plan`` as predictions are (the segment's champion, the
family's fallback), without canary or shadow: an explanation should describe the
model a row is answered by, not a random draw. The server and ``loopml explain``
both explain through ``explain_routed``.
"""

from __future__ import annotations

from typing import Any

from loopml.serving.pool import ModelPool
from loopml.serving.router import plan
from loopml.serving.rows import Rows
from loopml.serving.traffic import Deployment


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
            answers[index] = {"version": served.number, "segment": served.segment, **record,
                              "explains": described["output"], "method": described["method"]}  # fmt: skip
    return answers


def _background(pool: ModelPool, served):
    """Read the version's background sample only when its explainer needs one."""
    from loopml.explain.service import background_for

    return lambda: background_for(pool.source.store, served.version)
