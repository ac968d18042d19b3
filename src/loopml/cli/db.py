"""``loopml db``: the metadata store's schema."""

from __future__ import annotations

import typer

from loopml.cli.output import console

app = typer.Typer(help="Manage the metadata store.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Bring the store's schema to this version of loopml (safe to run again)."""
    from loopml._context import get_context

    store = get_context().store
    store.upgrade()
    console.print(f"[green]✓[/] The store at {store.display_url} is up to date.")
