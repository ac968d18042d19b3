"""Alerts over REST: list them, acknowledge one, resolve one with a note."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from loopml.api.deps import PrincipalDep, StoreDep
from loopml.auth.permissions import Permission, requires
from loopml.auth.principal import Principal
from loopml.monitoring import service

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The alert's id.")]


class AlertRead(BaseModel):
    id: int
    monitor: str
    model: str
    segment: str
    state: str = Field(description="open, acknowledged or resolved.")
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    value: float | None
    threshold: float | None
    message: str
    acknowledged_by: str | None
    resolved_by: str | None
    resolution: str | None = Field(
        None,
        description="real_change or false_alarm: the episode a person made of it; "
        "not_confirmed: the loop's, when the rows after a CUSUM alarm did not confirm it.",
    )
    snoozed_until: datetime | None = None


class AlertNote(BaseModel):
    """What a person says when acknowledging or resolving an alert (kept in the audit log)."""

    reason: str | None = Field(None, max_length=2000)
    resolution: Literal["real_change", "false_alarm"] | None = Field(
        None, description="When resolving: was it a real change or a false alarm? (an episode)"
    )


@router.get("", summary="Alerts, newest first", response_model=list[AlertRead])
def list_alerts(
    store: StoreDep,
    state: str = "active",
    model: str | None = None,
    monitor: str | None = None,
):
    """``state``: open, acknowledged, resolved, active (open or acknowledged) or all."""
    return [vars(a) for a in service.list_alerts(store, state=state, model=model, monitor=monitor)]


@router.post(
    "/{alert_id}/acknowledge",
    summary="Acknowledge an alert: someone is on it",
    response_model=AlertRead,
)
@requires(Permission.OPERATE)
def acknowledge(
    alert_id: AlertId, store: StoreDep, principal: PrincipalDep, body: AlertNote | None = None
):
    return _act(service.acknowledge_alert, store, alert_id, principal, body)


@router.post(
    "/{alert_id}/resolve", summary="Resolve an alert with a note", response_model=AlertRead
)
@requires(Permission.OPERATE)
def resolve(
    alert_id: AlertId, store: StoreDep, principal: PrincipalDep, body: AlertNote | None = None
):
    resolution = body.resolution if body else None
    return _act(
        partial(service.resolve_alert, resolution=resolution), store, alert_id, principal, body
    )


def _act(change, store, alert_id: int, principal: Principal, body: AlertNote | None) -> dict:
    """Acknowledge or resolve as the signed-in person, within their model families."""
    principal.ensure_may_touch(service.get_alert(store, alert_id).model, "alerts")
    reason = body.reason if body else None
    return vars(change(store, alert_id, actor=principal.name, reason=reason))
