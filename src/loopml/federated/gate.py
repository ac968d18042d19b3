"""The gate across organisations, decided at the coordinator from the participants' evaluations.

Rule: every member that trained must have evaluated the global model on its own
holdout; the gate fails if any member's metric is worse than that member's
champion by more than ``margin`` (in the metric's own units: a regression's rmse in
the target's). The metric is accuracy for classifiers and rmse for regressions unless
named; lower is better for errors and losses, higher for the others. A member without
a champion has nothing to regress against. Until every evaluation is in, the
gate waits (it does not pass on part of the evidence).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopml._context import get_context
from loopml.errors import InvalidInput
from loopml.federated import participant, service
from loopml.metrics import lower_is_better

# Compared when no metric is named: what a user of each task would look at first.
DEFAULT_METRIC = {"classification": "accuracy", "regression": "rmse"}


def decide(name: str, *, metric: str | None = None, margin: float = 0.01) -> dict[str, Any]:
    context = get_context()
    federation = service.get(context.store, name)
    metric = metric or DEFAULT_METRIC[service.task(federation.model_family)]
    exchange = Path(participant.exchange_of(federation))
    members = {m.name: _evaluation(exchange, m.name) for m in federation.joined}
    checks = {member: _check(found, metric, margin) for member, found in members.items()}
    waiting = sorted(member for member, found in members.items() if found is None)
    failed = sorted(member for member, check in checks.items() if check and not check["passed"])
    passed = not waiting and not failed
    reason = (
        f"waiting for the evaluation of {', '.join(waiting)}"
        if waiting
        else f"{metric} regressed beyond {margin} at {', '.join(failed)}"
        if failed
        else None
    )
    report = {
        "passed": passed,
        "state": "waiting" if waiting else "decided",
        "metric": metric,
        "margin": margin,
        "reason": reason,
        "members": checks,
    }
    participant.write(exchange / participant.GATE_FILE, report)
    service.record(
        context.store,
        name,
        "federation.gate." + ("pass" if passed else "fail"),
        actor=context.settings.actor,
        reason=reason,
        after=report,
    )
    return report


def _evaluation(exchange: Path, member: str) -> dict[str, Any] | None:
    path = exchange / f"{member}.evaluation.json"
    return participant.read(path, "evaluation") if path.exists() else None


def _check(evaluation: dict[str, Any] | None, metric: str, margin: float) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    if metric not in evaluation["candidate"]:
        measured = ", ".join(evaluation["candidate"])
        raise InvalidInput(
            f"The participants did not measure {metric!r}; they measured {measured}.",
            hint=f"Decide the gate on one of: {measured}.",
        )
    candidate = evaluation["candidate"][metric]
    champion = (evaluation.get("champion") or {}).get(metric)
    if champion is None:
        return {"passed": True, "candidate": candidate, "champion": None, "regression": None}
    regression = candidate - champion if lower_is_better(metric) else champion - candidate
    return {
        "passed": regression <= margin,
        "candidate": candidate,
        "champion": champion,
        "regression": regression,
    }
