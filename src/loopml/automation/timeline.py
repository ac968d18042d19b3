"""The story of a model, per segment: alerts, retrains, gate results, promotions,
rollbacks and approvals, each with its reason — in time order, as plain records
the CLI prints and the API (and a UI) shows."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from loopml import audit
from loopml.monitoring import service as monitors
from loopml.registry.segments import canonical_segment
from loopml.store import Store

_KINDS = {
    "model.register": "registration",
    "gate.pass": "gate",
    "gate.fail": "gate",
    "alias.promote": "promotion",
    "alias.approve": "promotion",
    "alias.set": "alias",
    "alias.delete": "alias",
    "alias.rollback": "rollback",
    "approval.request": "approval",
    "approval.approve": "approval",
    "approval.reject": "approval",
}

TIMELINE_ACTIONS = (*_KINDS, "policy.*")


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    kind: str  # alert, retrain, wait, gate, promotion, rollback, approval, registration, alias
    segment: str
    summary: str
    actor: str
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"time": self.time.isoformat()}


def timeline(store: Store, model: str, *, segment=None, limit: int = 500) -> list[TimelineEntry]:
    """What happened to ``model`` (one segment, or all), oldest first."""
    wanted = None if segment is None else canonical_segment(segment)
    # Only the newest ``limit`` events can be shown: the store picks them, by the index of
    # the model's (segment's) events, rather than this reading the whole history.
    events = audit.list_events(
        store,
        entity_type="model",
        entity_id=model,
        segment=wanted,
        actions=TIMELINE_ACTIONS,
        limit=limit,
    )
    entries = [_from_event(e) for e in events]
    for alert in monitors.list_alerts(store, model=model, segment=wanted):
        entries.append(
            TimelineEntry(
                alert.opened_at,
                "alert",
                alert.segment,
                f"alert opened by {alert.monitor}",
                "monitor",
                alert.message,
            )
        )
        if alert.resolved_at is not None:
            entries.append(
                TimelineEntry(
                    alert.resolved_at,
                    "alert",
                    alert.segment,
                    f"alert of {alert.monitor} resolved",
                    alert.resolved_by or "",
                    None,
                )
            )
    entries = [e for e in entries if e is not None and (wanted is None or e.segment == wanted)]
    entries.sort(key=lambda e: e.time)
    return entries[-limit:]


def _from_event(event: audit.AuditEvent) -> TimelineEntry | None:
    after, before = event.after or {}, event.before or {}
    segment = after.get("segment", before.get("segment", ""))
    if event.action == "policy.wait":
        return TimelineEntry(
            event.time,
            "wait",
            segment,
            f"policy {after.get('policy')}: waiting for evidence, "
            f"{after.get('rows')} of {after.get('needed')} rows",
            event.actor,
            event.reason,
        )
    if event.action.startswith("policy."):
        state = event.action.split(".", 1)[1]
        kind = {
            "retraining": "retrain",
            "rolled_back": "rollback",
            "promoted": "promotion",
            "not_confirmed": "alert",
        }.get(state, "retrain")
        versions = (
            f" v{after.get('champion_version')} → v{after.get('challenger_version')}"
            if after.get("challenger_version")
            else ""
        )
        return TimelineEntry(
            event.time,
            kind,
            segment,
            f"policy {after.get('policy')}: {state}{versions}",
            event.actor,
            event.reason,
        )
    kind = _KINDS.get(event.action)
    if kind is None:
        return None
    return TimelineEntry(
        event.time, kind, segment, _summary(event, after, before), event.actor, event.reason
    )


def _summary(event: audit.AuditEvent, after: dict, before: dict) -> str:
    if event.action == "model.register":
        return f"registered v{after.get('version')}"
    if event.action.startswith("gate."):
        failed = [c["name"] for c in after.get("gate", {}).get("checks", []) if not c["passed"]]
        verdict = "passed" if event.action == "gate.pass" else f"failed ({', '.join(failed)})"
        return f"gate {verdict} for v{after.get('version')}"
    if event.action.startswith("approval."):
        return f"{event.action.split('.')[1]} v{after.get('version')} as {after.get('alias')}"
    return f"{after.get('alias')}: v{before.get('version') or '—'} → v{after.get('version') or '—'}"
