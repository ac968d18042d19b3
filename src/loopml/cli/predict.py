"""``loopml predict NAME --input rows.parquet --output scored.parquet``: batch scoring."""

from __future__ import annotations

from pathlib import Path

import typer

from loopml.cli.output import console, duration


def predict(
    name: str = typer.Argument(..., help="Registered model to score with."),
    input: Path = typer.Option(..., "--input", "-i", help="Rows to score: .parquet or .csv."),
    output: Path = typer.Option(..., "--output", "-o", help="Parquet file to write."),
    alias: str = typer.Option(
        None, help="Alias to score with (default: the deployment's, champion)."
    ),
    chunk_rows: int = typer.Option(100_000, min=1, help="Rows read and scored at a time."),
) -> None:
    """Score a table with a model's champion; segments are routed as in real-time serving."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from loopml.serving.batch import predict_batch

    started = time.perf_counter()
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"scoring with {name}", total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        result = predict_batch(
            name, input, output, alias=alias, chunk_rows=chunk_rows, progress=advance
        )
    versions = ", ".join(
        f"{segment or 'all'}: v{version}"
        for segment, version in sorted(result.versions.items())[:10]
    )
    console.print(
        f"Scored {result.rows:,} rows in {duration(time.perf_counter() - started)} "
        f"→ {result.output}  ({versions}{' …' if len(result.versions) > 10 else ''})"
    )


def forecast(
    name: str = typer.Argument(..., help="Forecast model of the project file."),
    history: Path = typer.Option(
        ..., "--history", help="Recent rows (.csv or .parquet): time, target, segment keys."
    ),
    periods: int = typer.Option(..., "--periods", min=1, help="Periods ahead to forecast."),
    output: Path = typer.Option(..., "--output", "-o", help="CSV or Parquet file to write."),
    segment: str = typer.Option(None, help='One segment, e.g. "store=12"; default all.'),
    freq: str = typer.Option(None, help="The period (MS, W-MON, D); default inferred."),
    project: Path = typer.Option(None, help="Project file (default LOOPML_PROJECT_FILE)."),
) -> None:
    """Forecast the next periods of each segment with its champion, features built as in training."""
    import pandas as pd

    from loopml.serving.batch import forecast_batch

    read = pd.read_parquet if history.suffix in {".parquet", ".pq"} else pd.read_csv
    frame = forecast_batch(
        name, read(history), periods, segment=segment, freq=freq, project=project
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix in {".parquet", ".pq"}:
        frame.to_parquet(output, index=False)
    else:
        frame.to_csv(output, index=False)
    console.print(
        f"Forecast {periods} period(s) of {frame['segment'].nunique()} segment(s) → {output}"
    )
