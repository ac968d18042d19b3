"""The ``loopml`` command: one Typer app, a module per command group.

Each command parses its arguments, calls the same service functions the
Python API uses, and prints the result with Rich. Errors print as a bold
headline and a fix; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer

from loopml._version import __version__
from loopml.cli.lazy import Lazy, lazy_group

# Each command's module is imported only when the command runs or shows its own help.
COMMANDS = {
    "init": Lazy("loopml.cli.pipeline:init", "Write a project file that fits your data."),
    "run": Lazy(
        "loopml.cli.pipeline:run",
        "Train, evaluate, register, gate and promote one model per segment.",
    ),
    "serve": Lazy(
        "loopml.cli.serve:serve", "Serve the REST API, every model with a champion, and the UI."
    ),
    "predict": Lazy(
        "loopml.cli.predict:predict",
        "Score a table with a model's champion; segments are routed as in real-time serving.",
    ),
    "forecast": Lazy(
        "loopml.cli.predict:forecast",
        "Forecast the next periods of each segment with its champion, features built as in training.",
    ),
    "experiments": Lazy("loopml.cli.experiments:app", "List experiments."),
    "runs": Lazy("loopml.cli.runs:app", "List, show and compare runs."),
    "datasets": Lazy(
        "loopml.cli.datasets:app", "Dataset versions, profiles, diffs and validation."
    ),
    "models": Lazy("loopml.cli.models:app", "Registered models, their versions and segments."),
    "gate": Lazy(
        "loopml.cli.gate:app", "Show or change the checks a version must pass before promotion."
    ),
    "promote": Lazy(
        "loopml.cli.models:promote", "Point an alias at a version, if it passes the model's gate."
    ),
    "approvals": Lazy("loopml.cli.models:approvals", "Promotions waiting for a person."),
    "audit": Lazy(
        "loopml.cli.models:audit",
        "Who did what, when and why; or which version was champion at a time.",
    ),
    "export": Lazy(
        "loopml.cli.models:export",
        "Export a version for edge scoring, verified against the native model.",
    ),
    "monitor": Lazy("loopml.cli.monitor:app", "Declare, list and run monitors."),
    "alerts": Lazy("loopml.cli.alerts:app", "List, acknowledge and resolve alerts."),
    "report": Lazy("loopml.cli.report:app", "Reports: drift between two tables."),
    "policies": Lazy(
        "loopml.cli.loop:app",
        "Policies of the closed loop: retrain, gate, promote, watch, roll back.",
    ),
    "timeline": Lazy(
        "loopml.cli.loop:timeline",
        "Alerts, retrains, gate results, promotions and rollbacks of a model, with reasons.",
    ),
    "db": Lazy("loopml.cli.db:app", "Manage the metadata store."),
    "users": Lazy("loopml.cli.users:app", "Add, list and disable users."),
    "tokens": Lazy("loopml.cli.tokens:app", "Create, list and revoke API tokens."),
    "federation": Lazy(
        "loopml.cli.federation:app", "Federations: train one model across organisations."
    ),
    "import": Lazy("loopml.cli.importers:app", "Copy another tool's store into loopml."),
    "explain": Lazy(
        "loopml.cli.explain:explain",
        "Explain rows with the champion (--input), or a version on a sample (--version, --data).",
    ),
}

app = typer.Typer(
    name="loopml",
    cls=lazy_group(COMMANDS),
    help="Track, register, serve and monitor many models, and keep them right.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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
    from loopml.cli.output import print_error
    from loopml.errors import LoopmlError

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
