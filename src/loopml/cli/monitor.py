"""``loopml monitor``: declare, list and run monitors."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from loopml.cli.output import COLUMNS, JSON, console, print_list, table, yes_no

app = typer.Typer(help="Declare, list and run monitors.", no_args_is_help=True)


@app.command("create")
def create(
    path: Path = typer.Argument(..., help="YAML or JSON file with one monitor spec or a list."),
    replace: bool = typer.Option(False, "--replace", help="Replace monitors of the same name."),
) -> None:
    """Declare monitors from a file (the same fields as loopml.MonitorSpec)."""
    import yaml
    from pydantic import ValidationError

    from loopml._context import get_context
    from loopml.errors import InvalidInput, NotFound
    from loopml.monitoring import service
    from loopml.monitoring.spec import MonitorSpec

    if not path.is_file():
        raise NotFound(f"No file at {str(path)!r}.", hint="Check the path.")
    data = yaml.safe_load(path.read_text())
    context = get_context()
    for item in data if isinstance(data, list) else [data]:
        try:
            spec = MonitorSpec.model_validate(item)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "spec"
            raise InvalidInput(
                f"Monitor spec in {path} is invalid at {field}: {first['msg']}.",
                hint="See docs/monitoring.md for the fields of a monitor.",
            ) from None
        service.create_monitor(context.store, spec, actor=context.settings.actor, replace=replace)
        console.print(f"Monitor [bold]{spec.name}[/] ({spec.kind} of {spec.model}) saved.")


@app.command("list")
def list_(
    model: str = typer.Option(None, "--model", "-m", help="Only this model's monitors."),
    columns: str = COLUMNS,
    as_json: bool = JSON,
) -> None:
    """Monitors with their kind, window, schedule and last run."""
    from loopml._context import get_context
    from loopml.monitoring import service

    monitors = service.list_monitors(get_context().store, model=model)
    rows = [
        {
            "name": m.name,
            "model": m.spec.model,
            "kind": m.spec.kind,
            "window": str(m.spec.window),
            "schedule": str(m.spec.schedule),
            "per_segment": m.spec.per_segment,
            "enabled": m.spec.enabled,
            "last_run": m.last_run_at,
        }
        for m in monitors
    ]
    default = ["name", "model", "kind", "window", "schedule", "enabled", "last_run"]
    print_list(
        rows,
        default=default,
        columns=columns,
        as_json=as_json,
        cells={"enabled": yes_no, "per_segment": yes_no},
        empty="No monitors. Declare one with `loopml monitor create spec.yaml`.",
    )


@app.command("run")
def run(
    name: list[str] = typer.Option(None, "--name", "-n", help="Run only these monitors."),
    force: bool = typer.Option(False, "--force", help="Run all monitors, due or not."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcomes as JSON."),
) -> None:
    """Run the due monitors once: store results, open and close alerts."""
    from loopml.monitoring.fluent import run_monitors

    report = run_monitors(names=name or None, force=force)
    if as_json:
        outcomes = {
            monitor: [
                {"segment": o.segment, "status": o.status, "value": o.value, "message": o.message}
                for o in items
            ]
            for monitor, items in report.outcomes.items()
        }
        console.print_json(
            json.dumps(
                {
                    "outcomes": outcomes,
                    "alerts": [{"event": c.event, **c.alert.to_dict()} for c in report.changes],
                }
            )
        )
        return
    if not report.outcomes:
        console.print("No monitor was due.")
        return
    rows = [
        (monitor, o.segment or "—", o.status, o.value, o.message)
        for monitor, items in report.outcomes.items()
        for o in items
    ]
    console.print(
        table("Monitor results", ["monitor", "segment", "status", "value", "message"], rows)
    )
    for change in report.changes:
        console.print(f"Alert {change.alert.id} {change.event}: {change.alert.message}")


@app.command("disable")
def disable(
    name: str, reason: str = typer.Option(None, help="Why; kept in the audit trail.")
) -> None:
    """Stop running a monitor; its results and alerts stay (`enable` resumes it)."""
    _set_enabled(name, False, reason)


@app.command("enable")
def enable(
    name: str, reason: str = typer.Option(None, help="Why; kept in the audit trail.")
) -> None:
    """Run a disabled monitor on its schedule again."""
    _set_enabled(name, True, reason)


def _set_enabled(name: str, enabled: bool, reason: str | None) -> None:
    from loopml._context import get_context
    from loopml.monitoring import service

    context = get_context()
    service.set_monitor_enabled(
        context.store, name, enabled, actor=context.settings.actor, reason=reason
    )
    console.print(f"Monitor [bold]{name}[/] {'enabled' if enabled else 'disabled'}.")


@app.command("delete")
def delete(
    name: str,
    reason: str = typer.Option(None, help="Why; kept in the audit trail."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete a monitor with its results and alerts."""
    from loopml._context import get_context
    from loopml.monitoring import service

    if not yes:
        typer.confirm(f"Delete monitor {name!r} with its results and alerts?", abort=True)
    context = get_context()
    service.delete_monitor(context.store, name, actor=context.settings.actor, reason=reason)
    console.print(f"Monitor [bold]{name}[/] deleted.")
