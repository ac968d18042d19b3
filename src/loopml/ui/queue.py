"""The "needs you" queue: what waits for a person, across all models and segments,
ranked — open alerts nobody has taken, then pending approvals, then alerts someone
acknowledged — each with a one-line reason in plain words and one place to act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loopml.monitoring import service as monitoring
from loopml.registry import approvals as approvals_service
from loopml.store import Store, utcnow

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
    items = [
        _alert_item(a) for a in monitoring.list_alerts(store, state="active") if not a.snoozed(now)
    ]
    items += [_approval_item(a) for a in approvals_service.list_approvals(store)]
    return sorted(items, key=lambda i: (i.rank, -i.severity, i.since))


def _alert_item(alert: monitoring.Alert) -> Item:
    rank = RANKS["acknowledged" if alert.state == "acknowledged" else "alert"]
    return Item(
        "alert",
        rank,
        alert.model,
        alert.segment,
        alert_reason(alert),
        alert.opened_at,
        f"alerts/{alert.id}",
        "Look and resolve",
        _severity(alert),
    )


def alert_reason(alert: monitoring.Alert) -> str:
    """``demand at store=north: mae 41.2 is worse than 30 (37% above the threshold) since 12 Nov``."""
    where = f"{alert.model} at {alert.segment}" if alert.segment else alert.model
    what = alert.message.split(": ", 1)[-1]
    if alert.value is not None and alert.threshold:
        excess = (alert.value - alert.threshold) / abs(alert.threshold)
        if abs(excess) >= 0.05:
            what += f" ({abs(excess):.0%} {'above' if excess > 0 else 'below'} the threshold)"
    return f"{where}: {what} since {alert.opened_at:%d %b}"


def _approval_item(approval) -> Item:
    where = f"{approval.name} at {approval.segment_key}" if approval.segment_key else approval.name
    champion = f"v{approval.champion_version}" if approval.champion_version else "no champion"
    numbers = "; ".join(c["detail"] for c in (approval.gate_report or {}).get("checks", [])[:2])
    reason = f"{where}: challenger v{approval.version} would replace {champion} as {approval.alias}"
    return Item(
        "approval",
        RANKS["approval"],
        approval.name,
        approval.segment_key,
        reason + (f" — {numbers}" if numbers else ""),
        approval.requested_at,
        f"approvals/{approval.id}",
        "Review and decide",
        0.0,
    )


def _severity(alert: monitoring.Alert) -> float:
    if alert.value is None or not alert.threshold:
        return 0.0
    return abs(alert.value - alert.threshold) / abs(alert.threshold)
