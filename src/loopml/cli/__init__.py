"""The ``loopml`` command: one Typer app, a module per command group.

Each command parses its arguments, calls the same service functions the
Python API uses, and prints the result with Rich. Errors print as a bold
headline and a fix; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer

from loopml._version import __version__
from loopml.cli import (
    alerts,
    datasets,
    db,
    experiments,
    importers,
    loop,
    models,
    monitor,
    pipeline,
    predict,
    report,
    runs,
    serve,
)
from loopml.cli.output import print_error
from loopml.errors import LoopmlError

app = typer.Typer(
    name="loopml",
    help="Track, register, serve and monitor many models, and keep them right.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(datasets.app, name="datasets")
app.add_typer(db.app, name="db")
app.add_typer(importers.app, name="import")
app.add_typer(monitor.app, name="monitor")
app.add_typer(alerts.app, name="alerts")
app.add_typer(report.app, name="report")
app.command("serve")(serve.serve)
app.add_typer(models.app, name="models")
app.add_typer(models.approvals, name="approvals")
app.command("promote")(models.promote)
app.command("audit")(models.audit)
app.command("export")(models.export)
app.add_typer(loop.app, name="policies")
app.command("timeline")(loop.timeline)
app.command("predict")(predict.predict)
app.command("init")(pipeline.init)
app.command("run")(pipeline.run)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"loopml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """loopml: experiments, datasets, models, serving and monitoring in one system."""


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="loopml")
    except SystemExit as exit_:  # Click exits even on success; return normally then
        if exit_.code not in (0, None):
            raise
    except LoopmlError as error:
        if debug:
            raise
        print_error(error)
        sys.exit(1)
