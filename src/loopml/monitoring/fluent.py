"""Monitoring through the current context: ``loopml.create_monitor``, ``run_monitors``, ``list_alerts``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loopml._context import Context, get_context
from loopml.monitoring import runner, service
from loopml.monitoring.reference import Reference, get_reference, put_reference
from loopml.monitoring.spec import MonitorSpec


def create_monitor(
    spec: MonitorSpec | None = None, *, replace: bool = False, **fields: Any
) -> service.Monitor:
    """Declare a monitor: ``loopml.create_monitor(name="demand-drift", model="demand", kind="drift", ...)``."""
    context = get_context()
    spec = spec or MonitorSpec(**fields)
    return service.create_monitor(
        context.store, spec, actor=context.settings.actor, replace=replace
    )


def run_monitors(
    *,
    now: datetime | None = None,
    names: list[str] | None = None,
    force: bool = False,
    context: Context | None = None,
) -> runner.RunReport:
    """Run the due monitors once over the prediction log under the artifact store
    (of the current context, or of ``context``: the server passes its own)."""
    context = context or get_context()
    return runner.run_monitors(
        context.store,
        context.artifacts,
        context.settings.resolved_artifact_uri,
        now=now,
        names=names,
        force=force,
        actor=context.settings.actor,
        webhook=context.settings.alert_webhook,
    )


def list_alerts(
    *, state: str | None = None, model: str | None = None, monitor: str | None = None
) -> list[service.Alert]:
    return service.list_alerts(get_context().store, state=state, model=model, monitor=monitor)


def save_reference(reference: Reference) -> str:
    """Store a reference summary in the artifact store; returns the digest monitors refer to."""
    return put_reference(get_context().artifacts, reference)


def load_reference(digest: str) -> Reference:
    return get_reference(get_context().artifacts, digest)
