"""``loopml alerts``: list, acknowledge and resolve alerts."""

from __future__ import annotations

import typer

from loopml._context import get_context
from loopml.cli.output import console, table
from loopml.monitoring import service

app = typer.Typer(help="List, acknowledge and resolve alerts.", no_args_is_help=True)


@app.command("list")
def list_(
    state: str = typer.Option(
        "active", "--state", "-s", help="open, acknowledged, resolved, active or all."
    ),
    model: str = typer.Option(None, "--model", "-m", help="Only this model's alerts."),
) -> None:
    """Alerts, newest first (by default the open and acknowledged ones)."""
    alerts = service.list_alerts(get_context().store, state=state, model=model)
    if not alerts:
        console.print("No alerts.")
        return
    rows = [
        (a.id, a.state, a.monitor, a.segment or "—", a.opened_at, a.value, a.message)
        for a in alerts
    ]
    columns = ["id", "state", "monitor", "segment", "opened", "value", "message"]
    console.print(table(None, columns, rows))


@app.command("ack")
def ack(
    alert_id: int = typer.Argument(..., help="The alert's id."),
    reason: str = typer.Option(None, "--reason", "-r", help="Why; kept in the audit log."),
) -> None:
    """Acknowledge an alert: someone is on it."""
    context = get_context()
    alert = service.acknowledge_alert(
        context.store, alert_id, actor=context.settings.actor, reason=reason
    )
    console.print(f"Alert {alert.id} acknowledged by {alert.acknowledged_by}.")


@app.command("resolve")
def resolve(
    alert_id: int = typer.Argument(..., help="The alert's id."),
    reason: str = typer.Option(None, "--reason", "-r", help="Why; kept in the audit log."),
) -> None:
    """Resolve an alert by hand (monitors also resolve theirs when healthy again)."""
    context = get_context()
    alert = service.resolve_alert(
        context.store, alert_id, actor=context.settings.actor, reason=reason
    )
    console.print(f"Alert {alert.id} resolved by {alert.resolved_by}.")
