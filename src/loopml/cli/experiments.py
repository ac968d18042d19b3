"""``loopml experiments``: what has been tracked."""

from __future__ import annotations

import typer

from loopml.cli.output import COLUMNS, JSON, print_list

app = typer.Typer(help="List experiments.", no_args_is_help=True)


@app.command("list")
def list_(columns: str = COLUMNS, as_json: bool = JSON) -> None:
    """Experiments of the project, with their run counts."""
    from loopml._context import get_context
    from loopml.tracking import service

    context = get_context()
    found = service.list_experiments(context.store, context.settings.project)
    rows = [
        {
            "experiment": e.name,
            "runs": e.run_count,
            "last_run": e.last_run_at,
            "created": e.created_at,
        }
        for e in found
    ]
    print_list(
        rows,
        default=list(rows[0]) if rows else [],
        columns=columns,
        as_json=as_json,
        title=f"Experiments in project {context.settings.project!r}",
        empty="No experiments yet. Start one with loopml.start_run(experiment=...).",
    )
