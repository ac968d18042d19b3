"""The "needs you" queue: what waits for a person, across all models and segments,
ranked — open alerts nobody has taken, then pending approvals, then alerts someone
acknowledged — each with a one-line reason in plain words and one place to act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loopml.monitoring import service as monitoring
from loopml.registry import approvals as approvals_service
from loopml.store import Store, utcnow
from loopml.ui.reasons import alert_reason, approval_reason

# Lower ranks first: untaken alerts, then decisions waiting, then alerts being handled.
RANKS = {"alert": 0, "approval": 1, "acknowledged": 2}


@dataclass(frozen=True)
class Item:
    kind: str  # alert or approval
    rank: int
    model: str
    segment: str
    reason: str
    since: datetime
    href: str
    action: str  # the words of the one button
    severity: float  # how far past its threshold (alerts), for the order within a rank


def needs_you(store: Store, *, now: datetime | None = None) -> list[Item]:
    now = now or utcnow()
    alerts = [a for a in monitoring.list_alerts(store, state="active") if not a.snoozed(now)]
    evidence = monitoring.alert_evidence(store, alerts)
    items = [_alert_item(a, *evidence.get(a.id, (None, None))) for a in alerts]
    items += [_approval_item(a) for a in approvals_service.list_approvals(store)]
    return sorted(items, key=lambda i: (i.rank, -i.severity, i.since))


def _alert_item(alert: monitoring.Alert, spec, details) -> Item:
    rank = RANKS["acknowledged" if alert.state == "acknowledged" else "alert"]
    return Item(
        "alert",
        rank,
        alert.model,
        alert.segment,
        alert_reason(alert, spec, details),
        alert.opened_at,
        f"alerts/{alert.id}",
        "Look and resolve",
        _severity(alert),
    )


def _approval_item(approval) -> Item:
    return Item(
        "approval",
        RANKS["approval"],
        approval.name,
        approval.segment_key,
        approval_reason(approval),
        approval.requested_at,
        f"approvals/{approval.id}",
        "Review and decide",
        0.0,
    )


def _severity(alert: monitoring.Alert) -> float:
    if alert.value is None or not alert.threshold:
        return 0.0
    return abs(alert.value - alert.threshold) / abs(alert.threshold)
