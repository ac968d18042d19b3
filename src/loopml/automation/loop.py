"""The closed loop: trigger → retrain the affected segments → gate → promote or ask
→ roll out → watch → finish, or roll back on its own.

``run_policies`` is one pass; the server's scheduler (or ``loopml policies run``)
calls it repeatedly. Each pass first advances the actions in flight (approvals
decided, watches ended), then starts new ones where a trigger fired and the
guard rails allow. A broken retrain leaves the champion serving and raises an
alert; so does a rollback.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from loopml.automation import actions, fresh
from loopml.automation.actions import PolicyAction, Refusal
from loopml.automation.retrain import retrain
from loopml.automation.states import ActionState as S
from loopml.errors import LoopmlError, NotFound
from loopml.metrics import regression
from loopml.models import load_version
from loopml.monitoring import service as monitors
from loopml.monitoring.spec import MonitorSpec
from loopml.pipeline.policy import PolicySpec, Trigger
from loopml.predictions.reader import event_clock
from loopml.registry import approvals, promotion
from loopml.registry import service as registry
from loopml.registry.entities import Approval
from loopml.registry.gates import GateFailed
from loopml.store import Store, utcnow
from loopml.tracking import environment
from loopml.tracking import service as tracking
from loopml.tracking.entities import RunStatus
from loopml.tracking.resources import ResourceMeter

log = logging.getLogger("loopml.automation")


@dataclass
class LoopReport:
    started: list[PolicyAction] = field(default_factory=list)
    advanced: list[PolicyAction] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pass:
    store: Store
    artifacts: object
    log_root: str
    spec: PolicySpec
    now: datetime
    actor: str
    project: str


def run_policies(
    store: Store,
    artifacts,
    log_root: str,
    policies: list[PolicySpec],
    *,
    now: datetime | None = None,
    actor: str = "loop",
    project: str = "default",
) -> LoopReport:
    report = LoopReport()
    for spec in policies:
        # in event time, as monitors run: a replay's policy acts at the replay's dates
        at = now or event_clock(log_root, spec.model) or utcnow()
        ctx = _Pass(store, artifacts, log_root, spec, at, actor, project)
        for action in actions.in_flight(store, spec.model):
            if action.policy == spec.name:
                advanced = _advance(ctx, action)
                if advanced is not None:
                    report.advanced.append(advanced)
        for segment, trigger, since in _triggered(ctx):
            _start(ctx, segment, trigger, since, report)
    return report


# triggers ---------------------------------------------------------------


def _triggered(ctx: _Pass) -> list[tuple[str, str, datetime]]:
    """(segment, why, since when fresh data counts) for every trigger that fired."""
    fired: dict[str, tuple[str, datetime]] = {}
    for trigger in ctx.spec.triggers:
        for segment, why, since in _fired(ctx, trigger):
            fired.setdefault(segment, (why, since))
    busy = {a.segment for a in actions.in_flight(ctx.store, ctx.spec.model)}
    return [(s, why, since) for s, (why, since) in sorted(fired.items()) if s not in busy]


def _fired(ctx: _Pass, trigger: Trigger):
    last = _last_action_times(ctx)
    if trigger.when == "alert":
        for alert in monitors.list_alerts(ctx.store, state="active", monitor=trigger.monitor):
            since = max(alert.opened_at, last.get(alert.segment, alert.opened_at))
            yield alert.segment, f"alert {alert.id} of {alert.monitor}: {alert.message}", since
    elif trigger.when == "schedule":
        for segment in _served_segments(ctx):
            previous = last.get(segment)
            if previous is None or previous + trigger.every <= ctx.now:
                yield segment, f"schedule: every {trigger.every}", ctx.now - ctx.spec.retrain_window
    else:  # new_labels
        frame = _traffic(ctx, ctx.now - ctx.spec.retrain_window)
        for segment, part in frame.groupby("segment"):
            since = last.get(segment, ctx.now - ctx.spec.retrain_window)
            if (part["event_time"] >= since).sum() >= trigger.labels:
                yield segment, f"{trigger.labels} new labelled rows", since


def _last_action_times(ctx: _Pass) -> dict[str, datetime]:
    return {
        a.segment: a.finished_at or a.started_at
        for a in actions.list_actions(ctx.store, model=ctx.spec.model)
    }


def _served_segments(ctx: _Pass) -> list[str]:
    return [
        key
        for name, key, _ in registry.models_with_alias(ctx.store, "champion")
        if name == ctx.spec.model
    ]


def _traffic(ctx: _Pass, since: datetime, segment: str | None = None) -> pd.DataFrame:
    frame = fresh.labelled_traffic(
        ctx.log_root, ctx.spec.model, since, ctx.now + timedelta(seconds=1)
    )
    return frame if segment is None else frame[frame["segment"] == segment]


# starting an action ------------------------------------------------------


def _start(ctx: _Pass, segment: str, trigger: str, since: datetime, report: LoopReport) -> None:
    spec = ctx.spec
    frame = _traffic(ctx, max(since, ctx.now - spec.retrain_window), segment)
    if len(frame) < spec.min_labels:
        report.waiting.append(
            f"{spec.model} {segment or '(all)'}: {len(frame)} of {spec.min_labels} labelled rows"
        )
        return
    begun = actions.begin(ctx.store, spec, segment, trigger, actor=ctx.actor, now=ctx.now)
    if isinstance(begun, Refusal):
        report.refused.append(begun)
        return
    try:
        report.started.append(_retrain_and_promote(ctx, begun, frame))
    except Exception as error:  # a broken retrain must leave the champion serving
        detail = (
            error.message if isinstance(error, LoopmlError) else f"{type(error).__name__}: {error}"
        )
        log.error("retrain of %s %s failed:\n%s", spec.model, segment, traceback.format_exc())
        failed = actions.advance(ctx.store, begun.id, S.FAILED, actor=ctx.actor, now=ctx.now,
                                 reason=f"retrain failed: {detail}")  # fmt: skip
        _alert(
            ctx,
            segment,
            f"Retrain of {spec.model} {segment} failed: {detail}. The champion keeps serving.",
        )
        report.started.append(failed)


def _retrain_and_promote(ctx: _Pass, action: PolicyAction, frame: pd.DataFrame) -> PolicyAction:
    spec, segment = ctx.spec, action.segment
    current = registry.resolve(ctx.store, spec.model, alias="champion", segment=segment)
    champion = load_version(ctx.artifacts, current)
    features = champion.signature.names if champion.signature else fresh.features_of(frame)
    result = retrain(
        champion,
        frame,
        features,
        holdout=spec.holdout,
        metric=spec.metric,
        estimator=spec.estimator,
    )
    metrics = {
        spec.metric: result.challenger_error,
        f"champion_{spec.metric}": result.champion_error,
    }
    version = _register(ctx, current, result.challenger, metrics, action, len(frame))
    numbers = (f"{spec.metric} {result.challenger_error:.4g} vs champion v{current.version} "
               f"{result.champion_error:.4g} on the newest {result.holdout_rows} rows")  # fmt: skip
    fields = {"champion_version": current.version, "challenger_version": version.version,
              "details": {"expected_error": result.challenger_error, "champion_error": result.champion_error,
                          "train_rows": result.train_rows, "holdout_rows": result.holdout_rows}}  # fmt: skip
    if result.improvement < spec.min_improvement:
        return actions.advance(ctx.store, action.id, S.KEPT_CHAMPION, actor=ctx.actor, now=ctx.now,
                               reason=f"challenger not better by {spec.min_improvement:.0%}: {numbers}", **fields)  # fmt: skip
    return _promote(ctx, action, version.version, numbers, fields, result)


def _register(ctx: _Pass, champion, model, metrics, action: PolicyAction, rows: int):
    """The challenger as a new version, trained in a tracked run of its own."""
    spec = ctx.spec
    meter = ResourceMeter()
    run_id = tracking.create_run(
        ctx.store, project=ctx.project, experiment=f"retrain:{spec.model}",
        name=f"retrain {action.segment or spec.model}", tags={"policy": spec.name, "trigger": action.trigger[:500]},
        parent_run_id=None, environment=environment.capture(), actor=ctx.actor,
    )  # fmt: skip
    tracking.log_params(
        ctx.store, run_id, {"segment": action.segment, "rows": rows, "champion": champion.version}
    )
    version = registry.register_model(
        ctx.store, ctx.artifacts, model, spec.model, signature=champion.signature, segment=champion.segment,
        run_id=run_id, metrics=metrics, rules=champion.rules, actor=ctx.actor,
        description=f"retrained by policy {spec.name}: {action.trigger[:200]}",
    )  # fmt: skip
    now = ctx.now.timestamp()
    tracking.end_run(ctx.store, run_id, RunStatus.FINISHED, meter.read(),
                     metrics=[(k, v, 0, now) for k, v in metrics.items()])  # fmt: skip
    return version


def _promote(ctx: _Pass, action, version: int, numbers: str, fields: dict, result) -> PolicyAction:
    spec = ctx.spec
    evaluation = {
        "candidate": {spec.metric: result.challenger_error},
        "champion": {spec.metric: result.champion_error},
    }
    reason = f"policy {spec.name}: {numbers}"
    try:
        if spec.rollout == "canary" and spec.promotion == "auto":
            registry.set_alias(ctx.store, spec.model, "challenger", version, segment=action.segment,
                               actor=ctx.actor, reason=reason)  # fmt: skip
            fields["details"]["mode"] = "canary"
            return actions.advance(
                ctx.store,
                action.id,
                S.WATCHING,
                actor=ctx.actor,
                now=ctx.now,
                reason=reason,
                **fields,
            )
        moved = promotion.promote(ctx.store, spec.model, version, actor=ctx.actor, reason=reason,
                                  evaluation=evaluation, require_approval=spec.promotion == "approval")  # fmt: skip
    except GateFailed as failed:
        return actions.advance(ctx.store, action.id, S.KEPT_CHAMPION, actor=ctx.actor, now=ctx.now,
                               reason=failed.message, **fields)  # fmt: skip
    fields["details"]["mode"] = "direct"
    if isinstance(moved, Approval):
        fields["details"]["approval"] = moved.id
        return actions.advance(ctx.store, action.id, S.AWAITING_APPROVAL, actor=ctx.actor, now=ctx.now,
                               reason=f"approval request {moved.id}: {numbers}", **fields)  # fmt: skip
    return actions.advance(
        ctx.store, action.id, S.WATCHING, actor=ctx.actor, now=ctx.now, reason=reason, **fields
    )


# actions in flight ---------------------------------------------------------


def _advance(ctx: _Pass, action: PolicyAction) -> PolicyAction | None:
    if action.state == S.AWAITING_APPROVAL:
        return _check_approval(ctx, action)
    if action.state == S.WATCHING and action.updated_at + ctx.spec.watch <= ctx.now:
        return _end_watch(ctx, action)
    if action.state == S.RETRAINING and action.started_at + timedelta(hours=1) <= ctx.now:
        # A retrain that never finished (its process died): free the segment.
        return actions.advance(ctx.store, action.id, S.FAILED, actor=ctx.actor, now=ctx.now,
                               reason="the retrain did not finish within an hour")  # fmt: skip
    return None


def _check_approval(ctx: _Pass, action: PolicyAction) -> PolicyAction | None:
    wanted = action.details.get("approval")
    found = [
        a
        for a in approvals.list_approvals(ctx.store, state=None, name=ctx.spec.model)
        if a.id == wanted
    ]
    if not found or found[0].state == "pending":
        return None
    decision = found[0]
    if decision.state == "approved":
        return actions.advance(ctx.store, action.id, S.WATCHING, actor=ctx.actor, now=ctx.now,
                               reason=f"approved by {decision.decided_by}: {decision.decision_reason or ''}")  # fmt: skip
    return actions.advance(ctx.store, action.id, S.REJECTED, actor=ctx.actor, now=ctx.now,
                           reason=f"rejected by {decision.decided_by}: {decision.decision_reason or ''}")  # fmt: skip


def _end_watch(ctx: _Pass, action: PolicyAction) -> PolicyAction:
    spec = ctx.spec
    frame = _traffic(ctx, action.updated_at, action.segment)
    live = _live(frame, action.challenger_version, spec.metric)
    if action.details.get("mode") == "canary":
        baseline = _live(frame, action.champion_version, spec.metric)["error"]
    else:
        baseline = action.details.get("expected_error")
    if live["rows"] == 0 or baseline is None or not np.isfinite(baseline):
        if action.updated_at + 3 * spec.watch > ctx.now:
            return None  # no labels yet: keep watching a while longer
        return _finish(ctx, action, live, baseline, note="no labelled traffic to judge; kept")
    limit = baseline * (1 + spec.rollback_if_worse)
    slow = spec.max_latency_ms is not None and live["p95_ms"] > spec.max_latency_ms
    if live["error"] > limit or slow:
        why = (f"p95 latency {live['p95_ms']:.1f} ms above {spec.max_latency_ms} ms" if slow else
               f"live {spec.metric} {live['error']:.4g} above {limit:.4g} ({baseline:.4g} + {spec.rollback_if_worse:.0%})")  # fmt: skip
        return _roll_back(ctx, action, why)
    return _finish(ctx, action, live, baseline)


def _finish(ctx: _Pass, action, live, baseline, note: str = "") -> PolicyAction:
    spec = ctx.spec
    reason = note or (f"live {spec.metric} {live['error']:.4g} on {live['rows']} rows "
                      f"(baseline {baseline:.4g}) over the watch")  # fmt: skip
    if action.details.get("mode") == "canary":
        promotion.promote(ctx.store, spec.model, action.challenger_version, actor=ctx.actor, reason=reason,
                          evaluation={"candidate": {spec.metric: live["error"]}, "champion": {spec.metric: baseline}}
                          if live["rows"] else None)  # fmt: skip
        registry.delete_alias(
            ctx.store,
            spec.model,
            "challenger",
            segment=action.segment,
            actor=ctx.actor,
            reason=reason,
        )
    _resolve_alert(ctx, action.segment)
    return actions.advance(ctx.store, action.id, S.PROMOTED, actor=ctx.actor, now=ctx.now, reason=reason,
                           details={"live": live})  # fmt: skip


def _roll_back(ctx: _Pass, action: PolicyAction, why: str) -> PolicyAction:
    spec = ctx.spec
    if action.details.get("mode") == "canary":
        registry.delete_alias(
            ctx.store, spec.model, "challenger", segment=action.segment, actor=ctx.actor, reason=why
        )
    else:
        registry.set_alias(ctx.store, spec.model, "champion", action.champion_version, segment=action.segment,
                           actor=ctx.actor, reason=why, kind="rollback")  # fmt: skip
    _alert(
        ctx,
        action.segment,
        f"Rolled back {spec.model} {action.segment} to v{action.champion_version}: {why}.",
    )
    return actions.advance(
        ctx.store, action.id, S.ROLLED_BACK, actor=ctx.actor, now=ctx.now, reason=why
    )


def _live(frame: pd.DataFrame, version: int | None, metric: str) -> dict:
    part = frame[frame["version"] == version] if version is not None else frame.iloc[0:0]
    if part.empty:
        return {"rows": 0, "error": float("nan"), "p95_ms": 0.0}
    scores = regression(part["label"].to_numpy(float), part["prediction"].to_numpy(float))
    return {
        "rows": len(part),
        "error": scores[metric],
        "p95_ms": float(np.nanpercentile(part["latency_ms"], 95)),
    }


# alerts of the policy ----------------------------------------------------------


def _rollout_monitor(ctx: _Pass):
    name = f"policy.{ctx.spec.name}"
    try:
        return monitors.get_monitor(ctx.store, name)
    except NotFound:
        spec = MonitorSpec(name=name, model=ctx.spec.model, kind="external", per_segment=True)
        return monitors.create_monitor(ctx.store, spec, actor=ctx.actor)


def _alert(ctx: _Pass, segment: str, message: str) -> None:
    outcome = monitors.Outcome(segment, "alert", None, 0, message, {})
    monitors.record_outcomes(ctx.store, _rollout_monitor(ctx), [outcome], window=(ctx.now, ctx.now),
                             now=ctx.now, actor=ctx.actor)  # fmt: skip


def _resolve_alert(ctx: _Pass, segment: str) -> None:
    outcome = monitors.Outcome(segment, "ok", None, 0, "a later action succeeded", {})
    monitors.record_outcomes(ctx.store, _rollout_monitor(ctx), [outcome], window=(ctx.now, ctx.now),
                             now=ctx.now, actor=ctx.actor)  # fmt: skip
