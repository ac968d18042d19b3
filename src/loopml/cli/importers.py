"""``loopml import mlflow``: copy an MLflow store (runs, metrics, artifacts, models) into loopml."""

from __future__ import annotations

import typer

from loopml.cli.output import ProgressBar, console, table

app = typer.Typer(help="Copy another tool's store into loopml.", no_args_is_help=True)


@app.command("mlflow")
def mlflow(
    source: str = typer.Option(
        ..., "--from", help="MLflow tracking URI: sqlite:///mlflow.db, postgresql://…, or mlruns/."
    ),
    registry_uri: str = typer.Option(
        None, "--registry-uri", help="MLflow registry URI, when it differs from --from."
    ),
    python: str = typer.Option(
        "python", "--mlflow-python", help="A Python with mlflow installed, which reads the store."
    ),
) -> None:
    """Copy experiments, runs, metric histories, tags, artifacts, models, versions and aliases.

    Safe to repeat: what was imported before is skipped, so a later import copies only
    what is new. Pickled models stay artifacts of their runs and are not made servable.
    """
    from loopml._context import get_context
    from loopml.importers.mlflow_store import import_mlflow

    with ProgressBar("runs") as bar:
        summary = import_mlflow(
            get_context(),
            source,
            python=python,
            registry_uri=registry_uri,
            progress=lambda _kind, done, total: bar.update(done, total),
        )
    console.print(table("Copied", ["what", "count"], sorted(summary.copied.items())))
    if summary.skipped:
        rows = [(kind, count, reason) for (kind, reason), count in sorted(summary.skipped.items())]
        console.print(table("Skipped", ["what", "count", "why"], rows))
    for warning in summary.warnings:
        console.print(f"[yellow]Warning:[/] {warning}", highlight=False)
