"""``loopml gate show|set``: the checks a model's versions must pass before promotion."""

from __future__ import annotations

import json

import typer

from loopml.cli.output import console

app = typer.Typer(
    help="Show or change the checks a version must pass before promotion.", no_args_is_help=True
)


@app.command("show")
def show(
    name: str, as_json: bool = typer.Option(False, "--json", help="Print the gate as JSON.")
) -> None:
    """A model's gate, as stored."""
    from loopml._context import get_context
    from loopml.registry import service

    gate = service.get_model(get_context().store, name).gate
    if as_json:
        console.print_json(json.dumps(gate))
    elif not gate:
        console.print(f"{name!r} has no gate: any version may be promoted.")
    else:
        for setting, value in gate.items():
            console.print(f"{setting}: {value}", highlight=False)


@app.command("set")
def set_(
    name: str,
    threshold: list[str] = typer.Option(
        None, "--threshold", "-t", help='A metric rule, e.g. "mae<=3.0"; repeat for more.'
    ),
    beat_champion: str = typer.Option(None, help="Metric a new version must beat the champion on."),
    margin: float = typer.Option(None, help="By this share of the champion's value."),
    require_approval: bool = typer.Option(None, help="A person approves each promotion."),
    require_validation: bool = typer.Option(None, help="Data validation must have passed."),
    clear: bool = typer.Option(
        False, "--clear", help="Start from an empty gate, not the stored one."
    ),
) -> None:
    """Change a model's gate: the settings given replace the stored ones; others stay."""
    from loopml._context import get_context
    from loopml.registry import service

    context = get_context()
    gate = {} if clear else dict(service.get_model(context.store, name).gate or {})
    if threshold:
        gate["thresholds"] = {**gate.get("thresholds", {}), **dict(map(_rule, threshold))}
    given = {
        "beat_champion": beat_champion,
        "margin": margin,
        "require_approval": require_approval,
        "require_validation": require_validation,
    }
    gate.update({key: value for key, value in given.items() if value is not None})
    service.set_gate(context.store, name, gate, actor=context.settings.actor)
    console.print(f"[green]✓[/] gate of {name!r}: {json.dumps(gate)}", highlight=False)


def _rule(text: str) -> tuple[str, str]:
    """``"mae<=3.0"`` → ``("mae", "<= 3.0")``; the gate checks the rule's form."""
    for op in ("<=", ">=", "<", ">"):
        metric, found, bound = text.partition(op)
        if found:
            return metric.strip(), f"{op} {bound.strip()}"
    from loopml.errors import InvalidInput

    raise InvalidInput(
        f"The threshold {text!r} has no comparison.", hint='Write it like "mae<=3.0" or "r2>=0.8".'
    )
