"""Alerts: the list with each monitor's precision, one alert with its evidence, and
what a person does with it — acknowledge, snooze, resolve as real change or false alarm."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from loopml import audit
from loopml.api.deps import ContextDep, PrincipalDep, StoreDep
from loopml.auth.permissions import Permission, requires
from loopml.automation import actions, loop
from loopml.errors import Conflict, InvalidInput, LoopmlError
from loopml.monitoring import episodes
from loopml.monitoring import service as monitoring
from loopml.pipeline.project import load_project
from loopml.registry import service as registry
from loopml.store import utcnow
from loopml.ui import charts
from loopml.ui.forms import act, fields, may_touch, one
from loopml.ui.reasons import alert_reason
from loopml.ui.render import page

router = APIRouter(prefix="/ui/alerts", include_in_schema=False)
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SNOOZES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
RESOLUTION_WORDS = {"real_change": "a real change", "false_alarm": "a false alarm"}


@router.get("")
def alert_list(
    request: Request,
    store: StoreDep,
    state: Annotated[str, Query(max_length=20)] = "active",
    model: Annotated[str | None, Query(max_length=200)] = None,
):
    try:
        alerts = monitoring.list_alerts(store, state=state, model=model or None)
    except LoopmlError as error:
        return page(
            request, "error.html", status_code=error.status_code, error=error, back="/ui/alerts"
        )
    shown = alerts[:500]
    evidence = monitoring.alert_evidence(store, shown)
    return page(
        request,
        "alerts.html",
        alerts=shown,
        state=state,
        model=model or "",
        precision=episodes.precision_report(store),
        reason=lambda alert: alert_reason(alert, *evidence.get(alert.id, (None, None))),
    )


@router.get("/{alert_id}")
def alert_page(request: Request, alert_id: AlertId, context: ContextDep):
    store = context.store
    alert = monitoring.get_alert(store, alert_id)
    results = monitoring.monitor_results(store, alert.monitor, segment=alert.segment, limit=200)
    moves = registry.alias_history(store, alert.model, alias="champion", segment=alert.segment)
    latest = results[0].details if results else {}
    drifted = [c for c in (latest or {}).get("columns", []) if c.get("drifted")]
    return page(
        request,
        "alert.html",
        alert=alert,
        reason=alert_reason(alert, monitoring.get_monitor(store, alert.monitor).spec, latest),
        drifted=drifted,
        columns=(latest or {}).get("columns", []),
        results=results[:20],
        precision=episodes.monitor_precision(store, alert.monitor),
        series=charts.error_over_time(alert, results, moves),
        worst=charts.worst_while_open(alert, results),
        distributions=charts.distributions(request, alert, [c["name"] for c in drifted]),
        snoozes=SNOOZES,
        now=utcnow(),
        retrain=_retrain_offer(context, alert),
        resolved_because=_resolved_because(store, alert),
    )


def _resolved_because(store, alert) -> str | None:
    """The reason given when the alert was resolved: a person's note, or the monitor's or
    the loop's own words (the rows that did not confirm an alarm)."""
    if alert.state != "resolved":
        return None
    events = audit.list_events(
        store, entity_type="alert", entity_id=str(alert.id), action="alert.resolve", limit=1
    )
    return events[0].reason if events else None


@router.post("/{alert_id}/acknowledge")
@requires(Permission.OPERATE)
async def acknowledge(
    request: Request, alert_id: AlertId, store: StoreDep, principal: PrincipalDep
):
    values = await fields(request)

    def change() -> str:
        _mine(store, alert_id, principal)
        monitoring.acknowledge_alert(
            store, alert_id, actor=principal.name, reason=one(values, "reason")
        )
        return f"Alert {alert_id} acknowledged: it shows as being handled by you."

    return act(request, change, f"/ui/alerts/{alert_id}")


@router.post("/{alert_id}/snooze")
@requires(Permission.OPERATE)
async def snooze(request: Request, alert_id: AlertId, store: StoreDep, principal: PrincipalDep):
    values = await fields(request)

    def change() -> str:
        _mine(store, alert_id, principal)
        span = SNOOZES.get(one(values, "for") or "")
        if span is None:
            raise InvalidInput("Choose how long to snooze.", hint=f"One of: {', '.join(SNOOZES)}.")
        monitoring.snooze_alert(
            store,
            alert_id,
            until=utcnow() + span,
            actor=principal.name,
            reason=one(values, "reason"),
        )
        return f"Alert {alert_id} snoozed for {one(values, 'for')}: it leaves the queue until then."

    return act(request, change, f"/ui/alerts/{alert_id}")


@router.post("/{alert_id}/resolve")
@requires(Permission.OPERATE)
async def resolve(request: Request, alert_id: AlertId, store: StoreDep, principal: PrincipalDep):
    values = await fields(request)

    def change() -> str:
        alert = _mine(store, alert_id, principal)
        resolution = one(values, "resolution")
        if resolution not in RESOLUTION_WORDS:
            raise InvalidInput(
                "Say whether this was a real change or a false alarm.",
                hint="Press one of the two buttons.",
            )
        # An alert the monitor resolved on its own may still be labelled afterwards.
        change = monitoring.label_alert if alert.state == "resolved" else monitoring.resolve_alert
        change(
            store,
            alert_id,
            actor=principal.name,
            reason=one(values, "reason"),
            resolution=resolution,
        )
        report = episodes.monitor_precision(store, alert.monitor)
        share = f"{report.precision:.0%}" if report.precision is not None else "—"
        return (
            f"Alert {alert_id} resolved as {RESOLUTION_WORDS[resolution]}. Monitor "
            f"{alert.monitor} is now right {share} of the time ({report.labelled} answered)."
        )

    return act(request, change, f"/ui/alerts/{alert_id}")


@router.post("/{alert_id}/retrain")
@requires(Permission.OPERATE)
async def retrain(
    request: Request, alert_id: AlertId, context: ContextDep, principal: PrincipalDep
):
    """Retrain the alert's segment from its change point, once a person said it is real."""
    values = await fields(request)
    store, settings = context.store, context.settings

    def change() -> str:
        alert = _mine(store, alert_id, principal)
        if alert.resolution != "real_change":
            raise InvalidInput(
                "Only an alert resolved as a real change retrains from its change point.",
                hint="Resolve it as a real change first.",
            )
        report = loop.retrain_from_change(
            store,
            context.artifacts,
            settings.resolved_artifact_uri,
            _policies(settings),
            alert,
            actor=principal.name,
            reason=one(values, "reason"),
            project=settings.project,
        )
        return _retrain_words(alert, report)

    return await run_in_threadpool(act, request, change, f"/ui/alerts/{alert_id}")


def _retrain_offer(context, alert) -> dict | None:
    """For an alert confirmed as a real change: where the change began and which policy
    would retrain it (None: no policy keeps the model)."""
    if alert.resolution != "real_change":
        return None
    busy = [a for a in actions.in_flight(context.store, alert.model) if a.segment == alert.segment]
    offer = {
        "since": loop.change_point(context.store, alert),
        "policy": None,
        "problem": None,
        "busy": busy[0] if busy else None,
    }
    try:
        policies = _policies(context.settings)
    except LoopmlError as error:  # a broken project file: say what is wrong with it
        offer["problem"] = error.message
        return offer
    offer["policy"] = next((p.name for p in policies if p.model == alert.model), None)
    return offer


def _policies(settings) -> list:
    """The project file's policies, as the scheduler runs them (none without a file)."""
    return load_project(settings.project_file).policies if settings.project_file.is_file() else []


def _retrain_words(alert, report: loop.LoopReport) -> str:
    where = f"{alert.model} {alert.segment or '(all)'}"
    if report.refused:
        raise Conflict(
            f"The retrain of {where} was not started: {report.refused[0].reason}.",
            hint="See the model's timeline for the last action.",
        )
    if report.waiting:
        return (
            f"The retrain of {where} waits for evidence: {report.waiting[0].split(': ', 1)[-1]}. "
            "Press the button again once more labels have come in."
        )
    action = report.started[0]
    return f"Retrain of {where} from the change point: {action.state.value.replace('_', ' ')} — {action.reason or ''}"


def _mine(store, alert_id: int, principal) -> monitoring.Alert:
    alert = monitoring.get_alert(store, alert_id)
    may_touch(principal, alert.model)
    return alert
