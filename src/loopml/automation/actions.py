"""Policy actions and their guard rails, kept in the store.

An action is one pass of the loop on one model segment. ``begin`` admits it
only past the guard rails — a cooldown after the segment's last action, a cap
on retrains per day, and never two actions in flight on one segment (the last
is also enforced by a unique index, so two schedulers racing cannot both win).
Every change of an action's state is checked against ``states.TRANSITIONS``
and writes an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from loopml import audit
from loopml.automation.states import ACTIVE, FINAL, INITIAL, ActionState, check_transition
from loopml.errors import NotFound
from loopml.pipeline.policy import PolicySpec
from loopml.store import Store, utcnow
from loopml.store.tables.automation import PolicyActionRow


@dataclass(frozen=True)
class PolicyAction:
    id: int
    policy: str
    model: str
    segment: str
    trigger: str
    state: ActionState
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    champion_version: int | None
    challenger_version: int | None
    reason: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Refusal:
    segment: str
    reason: str


def begin(
    store: Store,
    spec: PolicySpec,
    segment: str,
    trigger: str,
    *,
    actor: str,
    now: datetime | None = None,
) -> PolicyAction | Refusal:
    """Start a retrain of ``segment`` unless a guard rail says no (then say why)."""
    now = now or utcnow()
    try:
        with store.write() as session:
            refusal = _guard(session, spec, segment, now)
            if refusal:
                return Refusal(segment, refusal)
            row = PolicyActionRow(
                policy=spec.name,
                model=spec.model,
                segment=segment,
                trigger=trigger,
                state=INITIAL.value,
                started_at=now,
                updated_at=now,
                details={},
            )
            session.add(row)
            session.flush()
            _audit(session, row, actor, trigger, before=None)
            return _domain(row)
    except IntegrityError:
        return Refusal(segment, "another retrain of this segment is in flight")


def refusal(store: Store, spec: PolicySpec, segment: str, now: datetime) -> Refusal | None:
    """What a guard rail would say to a retrain of ``segment`` now (``begin`` asks again,
    in its own transaction): checked before any data is read."""
    with store.read() as session:
        reason = _guard(session, spec, segment, now)
    return Refusal(segment, reason) if reason else None


def advance(
    store: Store,
    action_id: int,
    state: ActionState,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> PolicyAction:
    """Move an action to ``state``, recording versions or details passed as keywords.

    Raises ``IllegalTransition`` (and changes nothing) if the action's current
    state has no arrow to ``state``.
    """
    now = now or utcnow()
    with store.write() as session:
        row = session.get(PolicyActionRow, action_id)
        if row is None:
            raise NotFound(f"No policy action {action_id}.", hint="See `loopml timeline MODEL`.")
        state = check_transition(row.state, state)
        before = {"state": row.state}
        details = fields.pop("details", None)
        for key, value in fields.items():
            setattr(row, key, value)
        if details:
            row.details = {**(row.details or {}), **details}
        row.state, row.updated_at, row.reason = state.value, now, reason or row.reason
        if state in FINAL:
            row.finished_at = now
        _audit(session, row, actor, reason, before=before)
        return _domain(row)


def wait(
    store: Store,
    spec: PolicySpec,
    segment: str,
    why: str,
    *,
    rows: int,
    needed: int,
    actor: str,
    action_id: int | None = None,
    trigger: dict[str, Any] | None = None,
) -> bool:
    """Say on the timeline that a decision waits for evidence (``rows`` of ``needed``).

    A retrain that waits also keeps its ``trigger`` (its reason, ``since`` when its rows
    count, the ``alert`` that fired it), so that ``pending_trigger`` finds it on later
    passes. Written once per change of ``why``: a pass that finds the same count says
    nothing new. Returns whether an entry was written."""
    newest = next(
        iter(
            audit.list_events(
                store,
                entity_type="model",
                entity_id=spec.model,
                action="policy.wait",
                segment=segment,
                limit=1,
            )
        ),
        None,
    )
    if newest is not None and newest.reason == why:
        return False
    _timeline_entry(
        store,
        spec,
        "policy.wait",
        why,
        actor=actor,
        segment=segment,
        action=action_id,
        rows=rows,
        needed=needed,
        **(trigger or {}),
    )
    return True


def not_confirmed(
    store: Store, spec: PolicySpec, segment: str, why: str, *, alert: int | None, actor: str
) -> None:
    """Say on the timeline that the rows after an alarm did not confirm it: no retrain,
    and the wait it may have had ends (``pending_trigger`` reads the newest entry)."""
    _timeline_entry(
        store, spec, "policy.not_confirmed", why, actor=actor, segment=segment, alert=alert
    )


def _timeline_entry(
    store: Store, spec: PolicySpec, event: str, why: str, *, actor: str, **after: Any
) -> None:
    """Write a policy's own entry on its model's timeline: no action row changes state."""
    with store.write() as session:
        audit.record(
            session,
            actor=actor,
            action=event,
            entity_type="model",
            entity_id=spec.model,
            reason=why,
            after={"policy": spec.name, **after},
        )


def pending_trigger(store: Store, spec: PolicySpec, segment: str) -> dict[str, Any] | None:
    """The trigger a retrain of ``segment`` waits on, if the segment's newest policy
    entry is that wait: any action begun since supersedes it."""
    newest = audit.list_events(
        store,
        entity_type="model",
        entity_id=spec.model,
        actions=["policy.*"],
        segment=segment,
        limit=1,
    )
    after = (newest[0].after or {}) if newest else {}
    if not newest or newest[0].action != "policy.wait" or after.get("policy") != spec.name:
        return None
    return after if after.get("since") and after.get("action") is None else None


def list_actions(
    store: Store, *, model: str | None = None, segment: str | None = None, states=None
) -> list[PolicyAction]:
    query = select(PolicyActionRow).order_by(PolicyActionRow.started_at, PolicyActionRow.id)
    if model is not None:
        query = query.where(PolicyActionRow.model == model)
    if segment is not None:
        query = query.where(PolicyActionRow.segment == segment)
    if states is not None:
        query = query.where(PolicyActionRow.state.in_(states))
    with store.read() as session:
        return [_domain(row) for row in session.scalars(query)]


def in_flight(store: Store, model: str) -> list[PolicyAction]:
    return list_actions(store, model=model, states=[s.value for s in ACTIVE])


def _guard(session, spec: PolicySpec, segment: str, now: datetime) -> str | None:
    last = session.scalar(
        select(
            func.max(func.coalesce(PolicyActionRow.finished_at, PolicyActionRow.started_at))
        ).where(PolicyActionRow.model == spec.model, PolicyActionRow.segment == segment)
    )
    if last is not None and last.replace(tzinfo=now.tzinfo) + spec.cooldown > now:
        return (
            f"cooling down until {(last.replace(tzinfo=now.tzinfo) + spec.cooldown):%Y-%m-%d %H:%M}"
        )
    today = session.scalar(
        select(func.count()).where(
            PolicyActionRow.model == spec.model,
            PolicyActionRow.started_at > now - timedelta(days=1),
        )
    )
    if today >= spec.max_retrains_per_day:
        return f"{today} retrains of {spec.model} in the last day reach the cap of {spec.max_retrains_per_day}"
    return None


def _audit(session, row: PolicyActionRow, actor: str, reason: str | None, before) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"policy.{row.state}",
        entity_type="model",
        entity_id=row.model,
        reason=reason,
        before=before,
        after={
            "action": row.id,
            "policy": row.policy,
            "segment": row.segment,
            "state": row.state,
            "champion_version": row.champion_version,
            "challenger_version": row.challenger_version,
        },
    )


def _domain(row: PolicyActionRow) -> PolicyAction:
    return PolicyAction(
        row.id,
        row.policy,
        row.model,
        row.segment,
        row.trigger,
        ActionState(row.state),
        row.started_at,
        row.updated_at,
        row.finished_at,
        row.champion_version,
        row.challenger_version,
        row.reason,
        dict(row.details or {}),
    )
