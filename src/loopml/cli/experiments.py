"""``loopml experiments``: what has been tracked."""

from __future__ import annotations

import typer

from loopml.cli.output import console, table

app = typer.Typer(help="List experiments.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """Experiments of the project, with their run counts."""
    from loopml._context import get_context
    from loopml.tracking import service

    context = get_context()
    found = service.list_experiments(context.store, context.settings.project)
    if not found:
        console.print("No experiments yet. Start one with loopml.start_run(experiment=...).")
        return
    rows = [(e.name, e.run_count, e.last_run_at, e.created_at) for e in found]
    console.print(
        table(
            f"Experiments in project {context.settings.project!r}",
            ["experiment", "runs", "last run", "created"],
            rows,
        )
    )
