"""Monitors, results and alerts in the store: what the CLI, the API and the runner call.

An alert is an incident a person can acknowledge and resolve. A monitor opens
at most one per segment (later crossings update it); a healthy result resolves
it. Every change of state writes an audit event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from loopml import audit
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.monitoring.spec import MonitorSpec
from loopml.store import Store, utcnow
from loopml.store.lookup import row_named
from loopml.store.tables import AlertRow, MonitorResultRow, MonitorRow

ALERT_STATES = ("open", "acknowledged", "resolved")
# How a person resolves an alert: the label of its episode (None: resolved by the monitor).
RESOLUTIONS = ("real_change", "false_alarm")
# What the loop makes of an alarm the rows after it did not confirm (docs/closed-loop.md):
# not a person's episode, so no precision counts it.
NOT_CONFIRMED = "not_confirmed"
_ACTIONS = {"acknowledged": "alert.acknowledge", "resolved": "alert.resolve"}


@dataclass(frozen=True)
class Monitor:
    id: int
    spec: MonitorSpec
    created_at: datetime
    last_run_at: datetime | None

    @property
    def name(self) -> str:
        return self.spec.name

    def due(self, now: datetime) -> bool:
        if not self.spec.enabled:
            return False
        return self.last_run_at is None or self.last_run_at + self.spec.schedule <= now


@dataclass(frozen=True)
class Outcome:
    """One monitor's verdict on one segment of one window."""

    segment: str
    status: str  # ok, alert, no_data, data_problem, error
    value: float | None
    rows: int
    message: str
    details: dict[str, Any]
    threshold: float | None = None


@dataclass(frozen=True)
class Alert:
    id: int
    monitor: str
    model: str
    segment: str
    state: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    value: float | None
    threshold: float | None
    message: str
    acknowledged_by: str | None
    resolved_by: str | None
    resolution: str | None = None  # real_change or false_alarm, when a person said so
    snoozed_until: datetime | None = None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("opened_at", "updated_at", "resolved_at", "snoozed_until"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class AlertChange:
    alert: Alert
    event: str  # opened, resolved


def create_monitor(
    store: Store, spec: MonitorSpec, *, actor: str, replace: bool = False
) -> Monitor:
    with store.write() as session:
        row = session.scalar(select(MonitorRow).where(MonitorRow.name == spec.name))
        if row is not None and not replace:
            raise Conflict(
                f"A monitor named {spec.name!r} exists already.",
                hint="Choose another name, or replace it (replace=True / --replace).",
            )
        before = row.spec if row is not None else None
        if row is None:
            row = MonitorRow(name=spec.name, created_at=utcnow())
            session.add(row)
        row.model, row.kind, row.spec = spec.model, spec.kind, spec.model_dump(mode="json")
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="monitor.create" if before is None else "monitor.update",
            entity_type="monitor",
            entity_id=spec.name,
            before=before,
            after=row.spec,
        )
        return _monitor(row)


def set_monitor_enabled(
    store: Store, name: str, enabled: bool, *, actor: str, reason: str | None = None
) -> Monitor:
    """Pause or resume a monitor; its results and alerts stay."""
    with store.write() as session:
        row = _monitor_row(session, name)
        before = row.spec
        row.spec = {**row.spec, "enabled": enabled}
        audit.record(
            session,
            actor=actor,
            action="monitor.enable" if enabled else "monitor.disable",
            entity_type="monitor",
            entity_id=name,
            reason=reason,
            before=before,
            after=row.spec,
        )
        return _monitor(row)


def delete_monitor(store: Store, name: str, *, actor: str, reason: str | None = None) -> None:
    """Remove a monitor with its results and alerts (the audit keeps its last settings)."""
    with store.write() as session:
        row = _monitor_row(session, name)
        session.execute(delete(MonitorResultRow).where(MonitorResultRow.monitor_id == row.id))
        session.execute(delete(AlertRow).where(AlertRow.monitor_id == row.id))
        audit.record(
            session,
            actor=actor,
            action="monitor.delete",
            entity_type="monitor",
            entity_id=name,
            reason=reason,
            before=row.spec,
        )
        session.delete(row)


def list_monitors(store: Store, *, model: str | None = None) -> list[Monitor]:
    query = select(MonitorRow).order_by(MonitorRow.name)
    if model is not None:
        query = query.where(MonitorRow.model == model)
    with store.read() as session:
        return [_monitor(row) for row in session.scalars(query)]


def get_monitor(store: Store, name: str) -> Monitor:
    with store.read() as session:
        return _monitor(_monitor_row(session, name))


def _monitor_row(session: Session, name: str) -> MonitorRow:
    return row_named(
        session,
        MonitorRow,
        name,
        noun="monitor",
        otherwise="Create one with loopml.create_monitor(...).",
    )


def record_outcomes(
    store: Store,
    monitor: Monitor,
    outcomes: list[Outcome],
    *,
    window: tuple[datetime, datetime],
    now: datetime,
    actor: str,
) -> list[AlertChange]:
    """Store the results and open, update or resolve alerts, in one transaction. Rows of
    one kind go to the store together, so a pass over 10,000 segments is a few statements,
    not one round trip per segment."""
    with store.write() as session:
        session.execute(
            insert(MonitorResultRow),
            [
                {
                    "monitor_id": monitor.id,
                    "time": now,
                    "window_start": window[0],
                    "window_end": window[1],
                    "segment": o.segment,
                    "status": o.status,
                    "value": o.value,
                    "rows": o.rows,
                    "details": o.details,
                }
                for o in outcomes
            ],
        )
        active = {
            row.segment: row
            for row in session.scalars(
                select(AlertRow).where(
                    AlertRow.monitor_id == monitor.id, AlertRow.state != "resolved"
                )
            )
        }
        changed: list[tuple[AlertRow | int, str]] = []  # an opened alert: its place in opened
        opened: list[Outcome] = []
        for outcome in outcomes:
            row = active.get(outcome.segment)
            if outcome.status == "alert":
                if row is None:
                    changed.append((len(opened), "opened"))
                    opened.append(outcome)
                else:  # the same incident still going on: update, don't duplicate
                    row.value, row.message, row.updated_at = outcome.value, outcome.message, now
            elif outcome.status == "ok" and row is not None:
                row.value, row.message = outcome.value, outcome.message  # what healthy looks like
                _set_state(session, row, "resolved", actor, "healthy again", now)
                changed.append((row, "resolved"))
        new = _open(session, monitor, opened, now, actor)
        session.get(MonitorRow, monitor.id).last_run_at = now
        return [
            AlertChange(_alert(new[row] if isinstance(row, int) else row, monitor.spec), event)
            for row, event in changed
        ]


def list_alerts(
    store: Store,
    *,
    state: str | None = None,
    model: str | None = None,
    monitor: str | None = None,
    segment: str | None = None,
) -> list[Alert]:
    """Alerts, newest first; ``state="active"`` means open or acknowledged, ``"all"``
    (or None) every state; ``segment`` (canonical key) those of one segment."""
    query = select(AlertRow, MonitorRow).join(MonitorRow, AlertRow.monitor_id == MonitorRow.id)
    if state == "all":
        state = None
    if state == "active":
        query = query.where(AlertRow.state != "resolved")
    elif state is not None:
        _check_state(state)
        query = query.where(AlertRow.state == state)
    if model is not None:
        query = query.where(MonitorRow.model == model)
    if monitor is not None:
        query = query.where(MonitorRow.name == monitor)
    if segment is not None:
        query = query.where(AlertRow.segment == segment)
    query = query.order_by(AlertRow.opened_at.desc(), AlertRow.id.desc())
    specs: dict[int, MonitorSpec] = {}  # each monitor's spec read once, not once per alert
    with store.read() as session:
        return [
            _alert(alert, specs.get(row.id) or specs.setdefault(row.id, _monitor(row).spec))
            for alert, row in session.execute(query)
        ]


def acknowledge_alert(
    store: Store, alert_id: int, *, actor: str, reason: str | None = None
) -> Alert:
    return _transition(store, alert_id, "acknowledged", actor, reason)


def resolve_alert(
    store: Store,
    alert_id: int,
    *,
    actor: str,
    reason: str | None = None,
    resolution: str | None = None,
) -> Alert:
    """Resolve; ``resolution`` (real_change or false_alarm) keeps the alert as a labelled
    episode, which measures its monitor's precision (loopml.monitoring.episodes)."""
    if resolution is not None and resolution != NOT_CONFIRMED:
        _check_resolution(resolution)
    return _transition(store, alert_id, "resolved", actor, reason, resolution)


def label_alert(
    store: Store, alert_id: int, *, resolution: str, actor: str, reason: str | None = None
) -> Alert:
    """Say afterwards what an alert the monitor resolved on its own was: the episode counts
    for its monitor's precision as if a person had resolved it so."""
    _check_resolution(resolution)
    with store.write() as session:
        row = _alert_row(session, alert_id)
        if row.state != "resolved" or row.resolution not in (None, NOT_CONFIRMED):
            raise InvalidInput(
                f"Alert {alert_id} is {row.resolution or row.state}, not an unlabelled resolved alert.",
                hint="Resolve an active alert with its resolution instead.",
            )
        row.resolution = resolution
        audit.record(
            session,
            actor=actor,
            action="alert.label",
            entity_type="alert",
            entity_id=str(alert_id),
            reason=reason,
            after={"resolution": resolution},
        )
        return _alert(row, _monitor(session.get(MonitorRow, row.monitor_id)).spec)


def _check_resolution(resolution: str) -> None:
    if resolution not in RESOLUTIONS:
        raise InvalidInput(
            f"Unknown resolution {resolution!r}.", hint=f"Use one of: {', '.join(RESOLUTIONS)}."
        )


def snooze_alert(
    store: Store, alert_id: int, *, until: datetime, actor: str, reason: str | None = None
) -> Alert:
    """Keep an active alert out of the "needs you" queue until ``until``."""
    with store.write() as session:
        row = _alert_row(session, alert_id)
        if row.state == "resolved":
            raise InvalidInput(f"Alert {alert_id} is resolved already.", hint="Nothing to snooze.")
        before = {"snoozed_until": row.snoozed_until.isoformat() if row.snoozed_until else None}
        row.snoozed_until = until
        audit.record(
            session,
            actor=actor,
            action="alert.snooze",
            entity_type="alert",
            entity_id=str(alert_id),
            reason=reason,
            before=before,
            after={"snoozed_until": until.isoformat()},
        )
        return _alert(row, _monitor(session.get(MonitorRow, row.monitor_id)).spec)


def monitor_results(store: Store, name: str, *, segment: str | None = None, limit: int = 100):
    """The monitor's results, newest first: the time series behind charts and gauges."""
    monitor = get_monitor(store, name)
    query = select(MonitorResultRow).where(MonitorResultRow.monitor_id == monitor.id)
    if segment is not None:
        query = query.where(MonitorResultRow.segment == segment)
    query = query.order_by(MonitorResultRow.time.desc(), MonitorResultRow.id.desc()).limit(limit)
    with store.read() as session:
        return list(session.scalars(query))


def latest_results(
    store: Store, *, monitor: str | None = None, segments: Sequence[str] | None = None
) -> list[tuple[MonitorRow, MonitorResultRow]]:
    """The newest result of every monitor and segment (for Prometheus), or of one
    ``monitor``'s ``segments`` (the alerted ones, say: a page needs their details only)."""
    # Chunks of segments stay within every database's bound-value limit.
    parts = (
        [None]
        if segments is None
        else [segments[i : i + 500] for i in range(0, len(segments), 500)]
    )
    found = []
    with store.read() as session:
        monitor_id = None if monitor is None else _monitor_row(session, monitor).id
        for part in parts:
            newest = select(func.max(MonitorResultRow.id).label("id")).group_by(
                MonitorResultRow.monitor_id, MonitorResultRow.segment
            )
            if monitor_id is not None:
                newest = newest.where(MonitorResultRow.monitor_id == monitor_id)
            if part is not None:
                newest = newest.where(MonitorResultRow.segment.in_(part))
            newest = newest.subquery()
            query = (
                select(MonitorRow, MonitorResultRow)
                .join(MonitorResultRow, MonitorResultRow.monitor_id == MonitorRow.id)
                .join(newest, newest.c.id == MonitorResultRow.id)
            )
            found += [(row, result) for row, result in session.execute(query)]
    return found


def alert_evidence(
    store: Store, alerts: Sequence[Alert]
) -> dict[int, tuple[MonitorSpec, dict[str, Any]]]:
    """Alert id -> its monitor's spec and the details of the newest result of its segment
    (what a sentence about the alert is made of): one query per monitor."""
    by_monitor: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_monitor.setdefault(alert.monitor, []).append(alert)
    found = {}
    for name, some in by_monitor.items():
        newest = {
            result.segment: (_monitor(row).spec, dict(result.details or {}))
            for row, result in latest_results(
                store, monitor=name, segments=sorted({a.segment for a in some})
            )
        }
        for alert in some:
            if alert.segment in newest:
                found[alert.id] = newest[alert.segment]
    return found


def latest_values(store: Store) -> list[tuple[Monitor, str, float | None]]:
    """(monitor, segment, value) of the newest result of every monitor and segment, without
    the results' details: the cheap read behind tables of many segments."""
    newest = (
        select(func.max(MonitorResultRow.id).label("id"))
        .group_by(MonitorResultRow.monitor_id, MonitorResultRow.segment)
        .subquery()
    )
    query = select(
        MonitorResultRow.monitor_id, MonitorResultRow.segment, MonitorResultRow.value
    ).join(newest, newest.c.id == MonitorResultRow.id)
    with store.read() as session:
        monitors = {row.id: _monitor(row) for row in session.scalars(select(MonitorRow))}
        return [(monitors[m], segment, value) for m, segment, value in session.execute(query)]


def get_alert(store: Store, alert_id: int) -> Alert:
    with store.read() as session:
        row = _alert_row(session, alert_id)
        return _alert(row, _monitor(session.get(MonitorRow, row.monitor_id)).spec)


def _alert_row(session, alert_id: int) -> AlertRow:
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"No alert with id {alert_id}.", hint="See `loopml alerts list`.")
    return row


def _transition(
    store: Store, alert_id: int, state: str, actor: str, reason: str | None, resolution=None
) -> Alert:
    with store.write() as session:
        row = _alert_row(session, alert_id)
        if row.state == "resolved":
            raise InvalidInput(f"Alert {alert_id} is resolved already.", hint="Nothing to do.")
        if row.state == state:
            return _alert(row, _monitor(session.get(MonitorRow, row.monitor_id)).spec)
        _set_state(session, row, state, actor, reason, utcnow(), resolution)
        return _alert(row, _monitor(session.get(MonitorRow, row.monitor_id)).spec)


def _open(
    session: Session, monitor: Monitor, outcomes: list[Outcome], now: datetime, actor: str
) -> list[AlertRow]:
    """Insert the new alerts of ``outcomes`` in one batch (their ids come back with it,
    in order), then audit each."""
    if not outcomes:
        return []
    rows = list(
        session.scalars(
            insert(AlertRow).returning(AlertRow, sort_by_parameter_order=True),
            [
                {
                    "monitor_id": monitor.id,
                    "segment": outcome.segment,
                    "state": "open",
                    "opened_at": now,
                    "updated_at": now,
                    "value": outcome.value,
                    "threshold": outcome.threshold,
                    "message": outcome.message,
                }
                for outcome in outcomes
            ],
        )
    )
    audit.record_many(
        session,
        [
            {
                "actor": actor,
                "action": "alert.open",
                "entity_type": "alert",
                "entity_id": str(row.id),
                "reason": row.message,
                "after": {"monitor": monitor.name, "segment": row.segment},
            }
            for row in rows
        ],
    )
    return rows


def _set_state(
    session: Session, row: AlertRow, state: str, actor: str, reason, now, resolution=None
) -> None:
    before = {"state": row.state}
    row.state, row.updated_at = state, now
    if state == "acknowledged":
        row.acknowledged_by = actor
    if state == "resolved":
        row.resolved_by, row.resolved_at, row.resolution = actor, now, resolution
    after = {"state": state, **({"resolution": resolution} if resolution else {})}
    audit.record(
        session,
        actor=actor,
        action=_ACTIONS[state],
        entity_type="alert",
        entity_id=str(row.id),
        reason=reason,
        before=before,
        after=after,
    )


def _check_state(state: str) -> None:
    if state not in ALERT_STATES:
        raise InvalidInput(
            f"Unknown alert state {state!r}.",
            hint=f"Use one of: {', '.join(ALERT_STATES)}, active or all.",
        )


def _monitor(row: MonitorRow) -> Monitor:
    return Monitor(row.id, MonitorSpec.model_validate(row.spec), row.created_at, row.last_run_at)


def _alert(row: AlertRow, spec: MonitorSpec) -> Alert:
    return Alert(
        row.id,
        spec.name,
        spec.model,
        row.segment,
        row.state,
        row.opened_at,
        row.updated_at,
        row.resolved_at,
        row.value,
        row.threshold,
        row.message,
        row.acknowledged_by,
        row.resolved_by,
        row.resolution,
        row.snoozed_until,
    )
