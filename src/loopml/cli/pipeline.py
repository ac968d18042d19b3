"""``loopml init`` and ``loopml run``: the project file and its pipeline."""

from __future__ import annotations

from pathlib import Path

import typer

from loopml.cli.output import ProgressBar, console, duration, table


def init(
    file: Path = typer.Option(Path("loopml.yaml"), "--file", "-f", help="Where to write it."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented project file to start from."""
    from loopml.pipeline.template import write_template

    path = write_template(file, force=force)
    console.print(f"Wrote {path}. Point data.path at your file, then run `loopml run`.")


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


def _print_result(result) -> None:
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
