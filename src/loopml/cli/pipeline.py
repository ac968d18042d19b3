"""``loopml init`` and ``loopml run``: the project file and its pipeline."""

from __future__ import annotations

from pathlib import Path

import typer

from loopml.cli.output import ProgressBar, console, duration, table


def init(
    file: Path = typer.Option(Path("loopml.yaml"), "--file", "-f", help="Where to write it."),
    data: Path = typer.Option(
        None, "--data", "-d", help="A CSV or Parquet file: the project is written to fit it."
    ),
    target: str = typer.Option(None, "--target", help="With --data: the column to predict."),
    segment_by: list[str] = typer.Option(
        None, "--segment-by", help="With --data: one model per value of this column (repeat)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a project file that fits your data."""
    if data is None:
        from loopml.pipeline.template import write_template

        path = write_template(file, force=force)
        console.print(f"Wrote {path}. Point data.path at your file, then run `loopml run`.")
        return
    from loopml.pipeline.starter import init_from_data

    path, draft = init_from_data(
        data, file=file, target=target, segment_by=tuple(segment_by or ()), force=force
    )
    console.print(
        f"Wrote {path}: {draft.task} of {draft.target!r} from {len(draft.features)} feature(s)"
        + (f", {draft.segments} segment(s)" if draft.segment_by else "")
        + (f", split by time on {draft.time!r}" if draft.time else ", random split")
        + ".",
        highlight=False,
    )
    for column, why in draft.left_out.items():
        console.print(f"[yellow]Left out[/] {column!r}: {why}.", highlight=False)
    console.print("Read it, then run `loopml run`.")


def run(
    file: Path = typer.Option(Path("loopml.yaml"), "--file", "-f", help="The project file."),
    force: bool = typer.Option(False, "--force", help="Rerun every step, even unchanged ones."),
) -> None:
    """Train, evaluate, register, gate and promote one model per segment."""
    from loopml.pipeline.fluent import Pipeline

    pipeline = Pipeline.from_file(file)
    with ProgressBar("segments") as progress:
        result = pipeline.run(force=force, on_progress=progress.update)
    _print_result(result)
    result.raise_for_failures()  # exit 1 naming them: scripts and CI must notice


def _print_result(result) -> None:
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}", highlight=False)
    if result.up_to_date:
        console.print(result.summary())
        return
    rows = [(step, state) for step, state in result.steps.items()]
    console.print(table("Steps", ["step", "state"], rows))
    trouble = result.failures() + result.skipped()
    if trouble:
        console.print(
            table(
                "Segments not trained",
                ["segment", "status", "why"],
                [(o.segment_key or "(all rows)", o.status, o.reason) for o in trouble],
            )
        )
    gated = [o for o in result.segments if o.promotion == "gate failed"]
    if gated:
        console.print(
            table(
                "Versions the gate held back",
                ["segment", "version", "failed checks"],
                [(o.segment_key or "(all rows)", o.version, o.gate) for o in gated[:50]],
            )
        )
    console.print(result.summary())
    console.print(f"Pipeline run {result.run_id} took {duration(result.wall_seconds)}.")
