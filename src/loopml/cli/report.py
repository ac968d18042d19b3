"""``loopml report drift``: a drift report of two tables as HTML and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from loopml.cli.output import console

app = typer.Typer(help="Reports: drift between two tables.", no_args_is_help=True)
READERS = {".parquet": "table", ".csv": "table", ".json": "reference"}


@app.command("drift")
def drift(
    reference: Path = typer.Option(
        ..., "--reference", help="Parquet or CSV table, or a reference summary (.json)."
    ),
    current: Path = typer.Option(..., "--current", help="Parquet or CSV table."),
    out: Path = typer.Option(
        Path("drift.html"), "--out", "-o", help="HTML file (a .json file gets the JSON)."
    ),
    json_out: Path = typer.Option(None, "--json", help="Also write the JSON here."),
    column: list[str] = typer.Option(None, "--column", "-c", help="Only these columns."),
    method: list[str] = typer.Option(None, "--method", help="column=method, e.g. price=psi."),
    model: str = typer.Option(
        None, "--model", help="Show each column's share of this model's champion's importance."
    ),
    segment: str = typer.Option(None, "--segment", help="The champion of this segment (k=v,…)."),
) -> None:
    """Compare two tables column by column; write the report."""
    from loopml.monitoring.drift import drift_report

    methods = dict(_pair(item) for item in method or [])
    report = drift_report(_load(reference), _load(current), column or None, methods)
    importance = _importance(model, segment) if model else None
    if out.suffix == ".json":
        out.write_text(json.dumps(report.to_dict(), indent=2))
    else:
        title = f"Drift: {current.name} vs {reference.name}"
        out.write_text(report.to_html(title=title, importance=importance))
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_dict(), indent=2))
    verdict = "[bold red]drift[/]" if report.drifted else "[green]no dataset drift[/]"
    console.print(
        f"{verdict}: {len(report.drifted_columns)} of {len(report.columns)} columns drifted "
        f"({report.share_drifted:.0%}). Report: {out}"
    )
    for problem in report.problems:
        console.print(
            f"[yellow]data problem[/] {problem.column or '(window)'}: {problem.problem}: {problem.detail}"
        )


def _importance(model: str, segment: str | None) -> dict[str, float]:
    from loopml._context import get_context
    from loopml.errors import NotFound
    from loopml.monitoring.importance import champion_importances

    key = segment or ""
    importance = champion_importances(get_context().store, model, [key])[key]
    if importance is None:
        raise NotFound(
            f"Model {model!r} has no champion with an explanation"
            + (f" for segment {segment!r}." if segment else "."),
            hint=f"Compute one: loopml explain {model} --version V --data rows.csv.",
        )
    return importance


def _load(path: Path):
    """A table as its path (``drift_report`` reads Parquet column by column), or a reference."""
    from loopml.errors import InvalidInput, NotFound

    if not path.is_file():
        raise NotFound(f"No file at {str(path)!r}.", hint="Check the path.")
    kind = READERS.get(path.suffix.lower())
    if kind == "table":
        return path
    if kind == "reference":
        from loopml.monitoring.reference import Reference

        return Reference.from_dict(json.loads(path.read_text()))
    raise InvalidInput(
        f"Cannot read {path.name}: unknown file type {path.suffix!r}.",
        hint="Use .parquet or .csv tables, or a .json reference summary.",
    )


def _pair(text: str) -> tuple[str, str]:
    from loopml.errors import InvalidInput

    if "=" not in text:
        raise InvalidInput(
            f"--method {text!r} is not column=method.", hint="e.g. --method price=psi"
        )
    column, method = text.split("=", 1)
    return column.strip(), method.strip()
