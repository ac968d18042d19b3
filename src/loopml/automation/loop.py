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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from loopml.automation import actions, evidence, fresh, history
from loopml.automation.actions import PolicyAction, Refusal
from loopml.automation.retrain import retrain
from loopml.automation.states import ActionState as S
from loopml.data import service as data
from loopml.errors import LoopmlError, NotFound
from loopml.metrics import losses
from loopml.models import load_version
from loopml.monitoring import service as monitors
from loopml.monitoring.cusum import confirmation, residual_scale, scale_df
from loopml.monitoring.reference import make_reference, put_reference
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
    not_confirmed: list[str] = field(default_factory=list)  # alarms the rows after did not


@dataclass(frozen=True)
class _Pass:
    store: Store
    artifacts: object
    log_root: str
    spec: PolicySpec
    now: datetime
    actor: str
    project: str
    read: dict = field(default_factory=dict)  # the model's labelled traffic, read once a pass


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
    # Policies of one model that look back as far read its labelled traffic once a pass.
    reads: dict[tuple, dict] = {}
    for spec in policies:
        # in event time, as monitors run: a replay's policy acts at the replay's dates
        at = now or event_clock(log_root, spec.model) or utcnow()
        read = reads.setdefault((spec.model, spec.retrain_window, at), {})
        ctx = _Pass(store, artifacts, log_root, spec, at, actor, project, read)
        for action in actions.in_flight(store, spec.model):
            if action.policy == spec.name:
                advanced = _advance(ctx, action)
                if advanced is not None:
                    report.advanced.append(advanced)
        for segment, trigger, since in _triggered(ctx):
            _start(ctx, segment, trigger, since, report)
    return report


def retrain_from_change(
    store: Store,
    artifacts,
    log_root: str,
    policies: list[PolicySpec],
    alert: monitors.Alert,
    *,
    actor: str,
    reason: str | None = None,
    project: str = "default",
    now: datetime | None = None,
) -> LoopReport:
    """Start, now, the retrain of the policy that keeps ``alert``'s model, for the alert's
    segment, learning only from the rows since the change point (``change_point``): a
    person confirmed the change is real, so what came before it no longer applies.

    The policy's guard rails and evidence rule still hold: a cooldown or an action in
    flight refuses it, and fewer than ``min_labels`` labelled rows since the change
    make it wait, both reported like any other pass. Raises ``NotFound`` when no policy
    keeps the model."""
    spec = next((p for p in policies if p.model == alert.model), None)
    if spec is None:
        raise NotFound(
            f"No policy keeps model {alert.model!r}, so nothing can retrain it from here.",
            hint="Add one under `policies:` in the project file (docs/closed-loop.md), "
            "or train the model again with `loopml run`.",
        )
    spec = spec.model_copy(update={"history": "since_change"})
    at = now or event_clock(log_root, spec.model) or utcnow()
    ctx = _Pass(store, artifacts, log_root, spec, at, actor, project)
    since = change_point(store, alert)
    report = LoopReport()
    if alert.segment in {a.segment for a in actions.in_flight(store, spec.model)}:
        report.refused.append(
            Refusal(alert.segment, "another retrain of this segment is in flight")
        )
        return report
    trigger = f"{actor} confirmed alert {alert.id} as a real change since {since:%Y-%m-%d %H:%M}"
    _start(ctx, alert.segment, f"{trigger}: {reason}" if reason else trigger, since, report)
    return report


def change_point(store: Store, alert: monitors.Alert) -> datetime:
    """Where the change began: the start of the window whose result opened the alert
    (the first result past the threshold since the last one within it)."""
    results = monitors.monitor_results(store, alert.monitor, segment=alert.segment, limit=500)
    start = alert.opened_at
    for result in results:  # newest first: walk back through the run of alerting results
        if result.time > alert.updated_at:
            continue
        if result.status != "alert":
            break
        start = result.window_start
    return start


# triggers ---------------------------------------------------------------


def _triggered(ctx: _Pass) -> list[tuple[str, str, datetime | None]]:
    """(segment, why, since when rows count as evidence) for every trigger that fired."""
    fired: dict[str, tuple[str, datetime | None]] = {}
    for trigger in ctx.spec.triggers:
        for segment, why, since in _fired(ctx, trigger):
            fired.setdefault(segment, (why, since))
    busy = {a.segment for a in actions.in_flight(ctx.store, ctx.spec.model)}
    for segment, why, since in _pending(ctx, busy):
        # the evidence of a trigger that waited counts from its change, alert or not
        now_why, now_since = fired.get(segment, (why, since))
        fired[segment] = (now_why, since if now_since is None else _earlier(since, now_since))
    return [
        (s, why, since)
        for s, (why, since) in sorted(fired.items())
        if s not in busy and ctx.spec.covers(s)  # another policy may cover the others
    ]


def _fired(ctx: _Pass, trigger: Trigger):
    latest = {a.segment: a for a in actions.list_actions(ctx.store, model=ctx.spec.model)}
    last = {segment: a.finished_at or a.started_at for segment, a in latest.items()}
    if trigger.when == "alert":
        for alert in monitors.list_alerts(ctx.store, state="active", monitor=trigger.monitor):
            done = last.get(alert.segment)
            if done is not None and alert.updated_at <= done:
                continue  # not confirmed since the last action: no new evidence yet
            began = _change_point(ctx, alert) or alert.opened_at
            kept = _kept_champion(ctx, latest.get(alert.segment))
            since = began if kept else max(began, done or began)
            if kept:  # the next look waits for min_labels rows more than the last one had
                ctx.read.setdefault(("looked", ctx.spec.name), {})[alert.segment] = done
            ctx.read.setdefault(("alerts", ctx.spec.name), {})[alert.segment] = alert.id
            alarm = _alarm(ctx, alert)
            if alarm is not None:
                ctx.read.setdefault(("alarms", ctx.spec.name), {})[alert.segment] = alarm
            yield alert.segment, f"alert {alert.id} of {alert.monitor}: {alert.message}", since
    elif trigger.when == "schedule":
        for segment in _served_segments(ctx):
            previous = last.get(segment)
            if previous is None or previous + trigger.every <= ctx.now:
                yield segment, f"schedule: every {trigger.every}", previous or _lookback(ctx)
    else:  # new_labels
        frame = _traffic(ctx)
        for segment, part in frame.groupby("segment"):
            since = last.get(segment, _lookback(ctx))
            if (since is None and len(part) >= trigger.labels) or (
                since is not None and (part["time"] >= since).sum() >= trigger.labels
            ):
                yield segment, f"{trigger.labels} new labelled rows", since


def _pending(ctx: _Pass, busy: set[str]):
    """Alert triggers that waited for evidence and were not acted on since: the rows since
    their change keep counting after the monitor closed the alert (a shift the model
    half absorbs, a window that moved on), until a retrain decides or a person resolves
    the alert as a false alarm."""
    for segment in _served_segments(ctx):
        if segment in busy or not ctx.spec.covers(segment):
            continue
        waited = actions.pending_trigger(ctx.store, ctx.spec, segment)
        if waited is None:
            continue
        alert = waited.get("alert")
        if alert is not None and _false_alarm(ctx, alert):
            continue
        since = pd.Timestamp(waited["since"]).to_pydatetime()
        last = actions.list_actions(ctx.store, model=ctx.spec.model, segment=segment)
        if last and _kept_champion(ctx, last[-1]):
            ctx.read.setdefault(("looked", ctx.spec.name), {})[segment] = last[-1].finished_at
        ctx.read.setdefault(("alerts", ctx.spec.name), {}).setdefault(segment, alert)
        if waited.get("alarm"):
            ctx.read.setdefault(("alarms", ctx.spec.name), {}).setdefault(segment, waited["alarm"])
        yield segment, waited["trigger"], since


def _earlier(a: datetime, b: datetime) -> datetime:
    """The earlier of two times, either of them naive (UTC, as SQLite keeps them) or not."""
    utc = [pd.Timestamp(t).tz_localize("UTC") if pd.Timestamp(t).tz is None else t for t in (a, b)]
    return a if pd.Timestamp(utc[0]) <= pd.Timestamp(utc[1]) else b


def _false_alarm(ctx: _Pass, alert_id: int) -> bool:
    try:
        return monitors.get_alert(ctx.store, alert_id).resolution == "false_alarm"
    except NotFound:  # its monitor was deleted: nothing says the change was not real
        return False


def _change_point(ctx: _Pass, alert) -> datetime | None:
    """When the change began, if the alert's detector dated it (a CUSUM does): the
    evidence for a retrain counts from there, not from when the alarm was raised."""
    newest = monitors.monitor_results(ctx.store, alert.monitor, segment=alert.segment, limit=1)
    found = (newest[0].details or {}).get("change_at") if newest else None
    if not found:
        return None
    began, opened = pd.Timestamp(found), pd.Timestamp(alert.opened_at)
    began = began if began.tz else began.tz_localize("UTC")
    began = began.tz_convert(opened.tz) if opened.tz else began.tz_convert("UTC").tz_localize(None)
    return min(began, opened).to_pydatetime()


def _alarm(ctx: _Pass, alert) -> dict | None:
    """The CUSUM alarm behind an alert, to be confirmed by the rows after it: when it was
    raised, and what it saw (a moved mean, on which side, or a wider spread)."""
    newest = monitors.monitor_results(ctx.store, alert.monitor, segment=alert.segment, limit=1)
    details = (newest[0].details or {}) if newest else {}
    if details.get("cause") not in ("mean", "spread"):
        return None
    return {
        "alert": alert.id,
        "at": _iso(alert.opened_at),
        "cause": details["cause"],
        "side": details.get("side", ""),
    }


def _kept_champion(ctx: _Pass, action: PolicyAction | None) -> bool:
    """Did the segment's last action keep the champion that serves it still? Then the rows
    since the change are still that champion's evidence: the next decision counts them
    all, not only those after the last one (disjoint handfuls of rows would never add up
    to the power a paired test needs)."""
    if action is None or action.state != S.KEPT_CHAMPION:
        return False
    serving = registry.resolve(ctx.store, ctx.spec.model, alias="champion", segment=action.segment)
    return serving.version == action.champion_version


def _served_segments(ctx: _Pass) -> list[str]:
    return [
        key
        for name, key, _ in registry.models_with_alias(ctx.store, "champion")
        if name == ctx.spec.model
    ]


def _lookback(ctx: _Pass) -> datetime | None:
    window = ctx.spec.retrain_window
    return None if window is None else ctx.now - window


def _traffic(ctx: _Pass, segment: str | None = None) -> pd.DataFrame:
    """The model's labelled traffic within the policy's lookback, read once a pass."""
    if "traffic" not in ctx.read:
        traffic = fresh.labelled_traffic(
            ctx.log_root, ctx.spec.model, _lookback(ctx), ctx.now + timedelta(seconds=1)
        )
        # Rows are judged by the time they are about (event time), as monitors judge them.
        traffic["time"] = traffic["event_time"]
        ctx.read["traffic"] = traffic
    frame = ctx.read["traffic"]
    return frame if segment is None else frame[frame["segment"] == segment]


# starting an action ------------------------------------------------------


def _start(ctx: _Pass, segment: str, trigger: str, since, report: LoopReport) -> None:
    spec = ctx.spec
    refused = actions.refusal(ctx.store, spec, segment, ctx.now)
    if refused is not None:
        report.refused.append(refused)
        return
    current = registry.resolve(ctx.store, spec.model, alias="champion", segment=segment)
    champion = load_version(ctx.artifacts, current)
    traffic = _traffic(ctx, segment)
    features = champion.signature.names if champion.signature else fresh.features_of(traffic)
    training = history.training_of(ctx.store, ctx.artifacts, current, features)
    past = history.gather(training, traffic, features)
    judged = _judged(past, since)
    looked = ctx.read.get(("looked", spec.name), {}).get(segment)
    alarm = ctx.read.get(("alarms", spec.name), {}).get(segment)
    if alarm is not None and looked is None and spec.confirm_labels:
        # a kept champion's next look judges a change already confirmed
        confirmed = _confirm(ctx, segment, current, traffic, alarm, trigger, since, report)
        if confirmed is None:
            return
        trigger = f"{trigger}; {confirmed}"
    new = int(_judged(past, looked).sum()) if looked is not None else int(judged.sum())
    if min(new, judged.sum()) < spec.min_labels:
        why = (
            f"{int(judged.sum())} of {spec.min_labels} labelled rows since the trigger "
            f"to compare a challenger with champion v{current.version}"
            if judged.sum() < spec.min_labels
            else f"{new} of {spec.min_labels} labelled rows since champion v{current.version} "
            f"was kept, to judge it again on the {int(judged.sum())} since the change"
        )
        alert = ctx.read.get(("alerts", spec.name), {}).get(segment)
        actions.wait(
            ctx.store,
            spec,
            segment,
            why,
            rows=min(new, int(judged.sum())),
            needed=spec.min_labels,
            actor=ctx.actor,
            trigger={
                "trigger": trigger[:500],
                "since": _iso(since),
                "alert": alert,
                "alarm": alarm,
            },
        )
        report.waiting.append(f"{spec.model} {segment or '(all)'}: {why}")
        return
    begun = actions.begin(ctx.store, spec, segment, trigger, actor=ctx.actor, now=ctx.now)
    if isinstance(begun, Refusal):
        report.refused.append(begun)
        return
    try:
        result = retrain(champion, past, judged, features, spec, since=since)
        report.started.append(_decide(ctx, begun, current, past, result))
    except Exception as error:  # a broken retrain must leave the champion serving
        detail = (
            error.message if isinstance(error, LoopmlError) else f"{type(error).__name__}: {error}"
        )
        log.error("retrain of %s %s failed:\n%s", spec.model, segment, traceback.format_exc())
        failed = actions.advance(
            ctx.store,
            begun.id,
            S.FAILED,
            actor=ctx.actor,
            now=ctx.now,
            reason=f"retrain failed: {detail}",
        )
        _alert(
            ctx,
            segment,
            f"Retrain of {spec.model} {segment} failed: {detail}. The champion keeps serving.",
        )
        report.started.append(failed)


def _confirm(ctx: _Pass, segment: str, current, traffic, alarm, trigger, since, report):
    """The evidence rule between an alarm and a retrain: the first ``confirm_labels`` rows
    labelled since the alarm, answered by the champion whose sigma scaled it, must confirm
    its change (``loopml.monitoring.cusum.confirmation``). Returns the confirmation's
    words, or None when the retrain waits for those rows or the alarm is closed as
    ``not_confirmed``."""
    spec = ctx.spec
    sigma, _ = residual_scale(current.metrics)
    if sigma is None:  # nothing to standardize by: the alarm stands alone, as before
        return "no sigma to confirm the alarm by"
    rows = traffic[
        (traffic["version"] == current.version) & (traffic["time"] >= pd.Timestamp(alarm["at"]))
    ].sort_values("time")
    z = (rows["label"].to_numpy(float) - rows["prediction"].to_numpy(float)) / sigma
    found = confirmation(
        z,
        alarm["cause"],
        alarm["side"],
        confidence=spec.confidence,
        needed=spec.confirm_labels,
        df=scale_df(current.metrics),
    )
    words = found.describe()
    if found.verdict == "yes":
        return words
    if found.verdict == "wait":
        why = f"{words} (rows its CUSUM had not seen), against champion v{current.version}"
        actions.wait(
            ctx.store,
            spec,
            segment,
            why,
            rows=found.rows,
            needed=found.needed,
            actor=ctx.actor,
            trigger={
                "trigger": trigger[:500],
                "since": _iso(since),
                "alert": alarm["alert"],
                "alarm": alarm,
            },
        )
        report.waiting.append(f"{spec.model} {segment or '(all)'}: {why}")
        return None
    why = f"alert {alarm['alert']} not confirmed: {words}; the champion keeps serving"
    actions.not_confirmed(ctx.store, spec, segment, why, alert=alarm["alert"], actor=ctx.actor)
    try:
        if monitors.get_alert(ctx.store, alarm["alert"]).state != "resolved":
            monitors.resolve_alert(
                ctx.store,
                alarm["alert"],
                actor=ctx.actor,
                reason=why,
                resolution=monitors.NOT_CONFIRMED,
            )
    except NotFound:  # its monitor was deleted since
        pass
    report.not_confirmed.append(f"{spec.model} {segment or '(all)'}: {why}")
    return None


def _iso(when: datetime | None) -> str | None:
    return None if when is None else pd.Timestamp(when).isoformat()


def _judged(past: history.History, since: datetime | None) -> np.ndarray:
    """The rows challenger and champion are compared on: labelled traffic since ``since``."""
    traffic = np.arange(len(past.frame)) >= past.training_rows
    if since is None:
        return traffic
    return traffic & (past.frame[history.TIME] >= pd.Timestamp(since)).to_numpy()


def _decide(ctx: _Pass, action: PolicyAction, current, past, result) -> PolicyAction:
    spec, comparison = ctx.spec, result.comparison
    metrics = {
        spec.metric: _metric(spec.metric, comparison.better_loss),
        f"champion_{spec.metric}": _metric(spec.metric, comparison.worse_loss),
        "test_rows": comparison.rows,  # the degrees of freedom of the version's own sigma
    }
    version = _register(ctx, current, result, past, metrics, action)
    numbers = comparison.describe(f"champion v{current.version}", f"challenger v{version.version}")
    fields = {
        "champion_version": current.version,
        "challenger_version": version.version,
        "details": {
            "expected_error": metrics[spec.metric],
            "champion_error": metrics[f"champion_{spec.metric}"],
            "evidence": comparison.to_dict(),
            "train_rows": result.train_rows,
            "history": {
                "training_rows": past.training_rows,
                "traffic_rows": past.traffic_rows,
                "window": spec.history,
                "half_life": spec.half_life,
                "notes": past.notes,
            },
        },
    }
    if comparison.verdict != "yes":
        return actions.advance(
            ctx.store,
            action.id,
            S.KEPT_CHAMPION,
            actor=ctx.actor,
            now=ctx.now,
            reason=f"challenger not better by {spec.min_improvement:.0%}: {numbers}",
            **fields,
        )
    return _promote(ctx, action, version.version, numbers, fields, metrics)


def _metric(name: str, mean_loss: float) -> float:
    """The metric from the mean of its per-row losses (``loopml.metrics.losses``)."""
    return float(np.sqrt(mean_loss)) if name == "rmse" else float(mean_loss)


def _register(ctx: _Pass, champion, result, past, metrics, action: PolicyAction):
    """The challenger as a new version, trained in a tracked run of its own on a new
    dataset version (its history), whose lineage goes back to the champion's data."""
    spec = ctx.spec
    meter = ResourceMeter()
    run_id = tracking.create_run(
        ctx.store,
        project=ctx.project,
        experiment=f"retrain:{spec.model}",
        name=f"retrain {action.segment or spec.model}",
        tags={"policy": spec.name, "trigger": action.trigger[:500]},
        parent_run_id=None,
        environment=environment.capture(),
        actor=ctx.actor,
    )
    tracking.log_params(
        ctx.store,
        run_id,
        {
            "segment": action.segment,
            "rows": result.train_rows,
            "champion": champion.version,
            "target": past.target,
            "history": spec.history,
            "half_life": spec.half_life,
        },
    )
    if past.dataset_version_id is not None:
        data.record_run_input(ctx.store, run_id, past.dataset_version_id)
    dataset = data.log_version(
        ctx.store,
        ctx.artifacts,
        past.as_dataset(champion.segment),
        f"{spec.model}.history",
        run_id=run_id,
        actor=ctx.actor,
    )
    version = registry.register_model(
        ctx.store,
        ctx.artifacts,
        result.challenger,
        spec.model,
        signature=champion.signature,
        segment=champion.segment,
        run_id=run_id,
        metrics=metrics,
        rules=champion.rules,
        dataset_version_ids=[dataset.id],
        reference_digest=_reference(ctx, result.learned),
        actor=ctx.actor,
        description=f"retrained by policy {spec.name}: {action.trigger[:200]}",
    )
    now = ctx.now.timestamp()
    # The run's CPU is the fitting's, on this thread: a server's other threads are not it.
    usage = replace(meter.read(), cpu_seconds=result.cpu_seconds)
    tracking.end_run(
        ctx.store,
        run_id,
        RunStatus.FINISHED,
        usage,
        metrics=[(k, v, 0, now) for k, v in metrics.items()],
    )
    return version


def _reference(ctx: _Pass, learned: pd.DataFrame) -> str:
    """The new version's own drift reference: the feature rows it was trained on."""
    extra = (history.LABEL, history.TIME, history.PERIOD)
    features = [column for column in learned.columns if column not in extra]
    return put_reference(ctx.artifacts, make_reference(learned[features]))


def _promote(ctx: _Pass, action, version: int, numbers: str, fields: dict, metrics) -> PolicyAction:
    spec = ctx.spec
    evaluation = {
        "candidate": {spec.metric: metrics[spec.metric]},
        "champion": {spec.metric: metrics[f"champion_{spec.metric}"]},
    }
    reason = f"policy {spec.name}: {numbers}"
    try:
        if spec.rollout == "canary" and spec.promotion == "auto":
            registry.set_alias(
                ctx.store,
                spec.model,
                "challenger",
                version,
                segment=action.segment,
                actor=ctx.actor,
                reason=reason,
            )
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
        moved = promotion.promote(
            ctx.store,
            spec.model,
            version,
            actor=ctx.actor,
            reason=reason,
            evaluation=evaluation,
            require_approval=spec.promotion == "approval",
        )
    except GateFailed as failed:
        return actions.advance(
            ctx.store,
            action.id,
            S.KEPT_CHAMPION,
            actor=ctx.actor,
            now=ctx.now,
            reason=failed.message,
            **fields,
        )
    fields["details"]["mode"] = "direct"
    if isinstance(moved, Approval):
        fields["details"]["approval"] = moved.id
        return actions.advance(
            ctx.store,
            action.id,
            S.AWAITING_APPROVAL,
            actor=ctx.actor,
            now=ctx.now,
            reason=f"approval request {moved.id}: {numbers}",
            **fields,
        )
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
        return actions.advance(
            ctx.store,
            action.id,
            S.FAILED,
            actor=ctx.actor,
            now=ctx.now,
            reason="the retrain did not finish within an hour",
        )
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
        return actions.advance(
            ctx.store,
            action.id,
            S.WATCHING,
            actor=ctx.actor,
            now=ctx.now,
            reason=f"approved by {decision.decided_by}: {decision.decision_reason or ''}",
        )
    return actions.advance(
        ctx.store,
        action.id,
        S.REJECTED,
        actor=ctx.actor,
        now=ctx.now,
        reason=f"rejected by {decision.decided_by}: {decision.decision_reason or ''}",
    )


def _end_watch(ctx: _Pass, action: PolicyAction) -> PolicyAction | None:
    """Promote or roll back once the rollout's own labelled rows are enough to judge it.

    The rows are those the new version answered since the rollout; the old champion
    predicts the same rows, and a paired test asks whether the new one is worse by more
    than ``rollback_if_worse``."""
    spec = ctx.spec
    frame = _traffic(ctx, action.segment)
    rows = frame[
        (frame["version"] == action.challenger_version)
        & (frame["time"] >= pd.Timestamp(action.updated_at))
    ]
    new = f"v{action.challenger_version}"
    if len(rows) < spec.min_labels:
        why = (
            f"{len(rows)} of {spec.min_labels} labelled rows answered by {new} since the "
            "rollout to decide between promotion and rollback"
        )
        actions.wait(
            ctx.store,
            spec,
            action.segment,
            why,
            rows=len(rows),
            needed=spec.min_labels,
            actor=ctx.actor,
            action_id=action.id,
        )
        return None
    old = load_version(
        ctx.artifacts,
        registry.resolve(
            ctx.store, spec.model, version=action.champion_version, segment=action.segment
        ),
    )
    features = old.signature.names if old.signature else fresh.features_of(rows)
    y = rows["label"].to_numpy(float)
    worse = evidence.beats(
        losses(spec.metric, y, rows["prediction"].to_numpy(float)),
        losses(spec.metric, y, old.predict(rows[features])),
        margin=spec.rollback_if_worse / (1 + spec.rollback_if_worse),
        confidence=spec.confidence,
        min_rows=spec.min_labels,
    )
    live = {
        "rows": len(rows),
        "error": _metric(spec.metric, worse.worse_loss),
        "champion_error": _metric(spec.metric, worse.better_loss),
        "p95_ms": float(np.nanpercentile(rows["latency_ms"], 95)),
        "evidence": worse.to_dict(),
    }
    numbers = (
        f"live {spec.metric} of {new} {live['error']:.4g} vs v{action.champion_version} "
        f"{live['champion_error']:.4g} on the same {len(rows)} rows; paired t-test of {new} "
        f"worse by more than {spec.rollback_if_worse:.0%}: p = {worse.p_value:.3g}"
    )
    slow = spec.max_latency_ms is not None and live["p95_ms"] > spec.max_latency_ms
    if worse.verdict == "yes" or slow:
        why = (
            f"p95 latency {live['p95_ms']:.1f} ms above {spec.max_latency_ms} ms"
            if slow
            else numbers
        )
        return _roll_back(ctx, action, why, live)
    return _finish(ctx, action, live, numbers)


def _finish(ctx: _Pass, action, live: dict, reason: str) -> PolicyAction:
    spec = ctx.spec
    if action.details.get("mode") == "canary":
        promotion.promote(
            ctx.store,
            spec.model,
            action.challenger_version,
            actor=ctx.actor,
            reason=reason,
            evaluation={
                "candidate": {spec.metric: live["error"]},
                "champion": {spec.metric: live["champion_error"]},
            },
        )
        registry.delete_alias(
            ctx.store,
            spec.model,
            "challenger",
            segment=action.segment,
            actor=ctx.actor,
            reason=reason,
        )
    _resolve_alert(ctx, action.segment)
    return actions.advance(
        ctx.store,
        action.id,
        S.PROMOTED,
        actor=ctx.actor,
        now=ctx.now,
        reason=reason,
        details={"live": live},
    )


def _roll_back(ctx: _Pass, action: PolicyAction, why: str, live: dict) -> PolicyAction:
    spec = ctx.spec
    if action.details.get("mode") == "canary":
        registry.delete_alias(
            ctx.store, spec.model, "challenger", segment=action.segment, actor=ctx.actor, reason=why
        )
    else:
        registry.set_alias(
            ctx.store,
            spec.model,
            "champion",
            action.champion_version,
            segment=action.segment,
            actor=ctx.actor,
            reason=why,
            kind="rollback",
        )
    _alert(
        ctx,
        action.segment,
        f"Rolled back {spec.model} {action.segment} to v{action.champion_version}: {why}.",
    )
    return actions.advance(
        ctx.store,
        action.id,
        S.ROLLED_BACK,
        actor=ctx.actor,
        now=ctx.now,
        reason=why,
        details={"live": live},
    )


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
    monitors.record_outcomes(
        ctx.store,
        _rollout_monitor(ctx),
        [outcome],
        window=(ctx.now, ctx.now),
        now=ctx.now,
        actor=ctx.actor,
    )


def _resolve_alert(ctx: _Pass, segment: str) -> None:
    outcome = monitors.Outcome(segment, "ok", None, 0, "a later action succeeded", {})
    monitors.record_outcomes(
        ctx.store,
        _rollout_monitor(ctx),
        [outcome],
        window=(ctx.now, ctx.now),
        now=ctx.now,
        actor=ctx.actor,
    )
