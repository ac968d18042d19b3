"""``loopml alerts``: list, acknowledge and resolve alerts."""

from __future__ import annotations

import typer

from loopml.cli.output import COLUMNS, JSON, console, print_list

app = typer.Typer(help="List, acknowledge and resolve alerts.", no_args_is_help=True)


@app.command("list")
def list_(
    state: str = typer.Option(
        "active", "--state", "-s", help="open, acknowledged, resolved, active or all."
    ),
    model: str = typer.Option(None, "--model", "-m", help="Only this model's alerts."),
    columns: str = COLUMNS,
    as_json: bool = JSON,
) -> None:
    """Alerts, newest first (by default the open and acknowledged ones)."""
    from loopml._context import get_context
    from loopml.monitoring import service

    alerts = service.list_alerts(get_context().store, state=state, model=model)
    rows = [
        {
            "id": a.id,
            "state": a.state,
            "monitor": a.monitor,
            "model": a.model,
            "segment": a.segment or None,
            "opened": a.opened_at,
            "value": a.value,
            "message": a.message,
        }
        for a in alerts
    ]
    default = ["id", "state", "monitor", "segment", "opened", "value", "message"]
    print_list(rows, default=default, columns=columns, as_json=as_json, empty="No alerts.")


@app.command("ack")
def ack(
    alert_id: int = typer.Argument(..., help="The alert's id."),
    reason: str = typer.Option(None, "--reason", "-r", help="Why; kept in the audit log."),
) -> None:
    """Acknowledge an alert: someone is on it."""
    from loopml._context import get_context
    from loopml.monitoring import service

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
    from loopml._context import get_context
    from loopml.monitoring import service

    context = get_context()
    alert = service.resolve_alert(
        context.store, alert_id, actor=context.settings.actor, reason=reason
    )
    console.print(f"Alert {alert.id} resolved by {alert.resolved_by}.")
