"""``loopml policies run`` and ``loopml timeline``: the closed loop from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from loopml.cli.output import console, table

app = typer.Typer(
    help="Policies of the closed loop: retrain, gate, promote, watch, roll back.",
    no_args_is_help=True,
)


@app.command("run")
def run(
    file: Path = typer.Option(
        Path("loopml.yaml"), "--file", "-f", help="Project file with a policies section."
    ),
) -> None:
    """One pass of every policy: advance rollouts, start retrains where triggers fired."""
    from loopml._context import get_context
    from loopml.automation.loop import run_policies
    from loopml.pipeline.project import load_project

    context = get_context()
    report = run_policies(
        context.store,
        context.artifacts,
        context.settings.resolved_artifact_uri,
        load_project(file).policies,
        actor=context.settings.actor,
        project=context.settings.project,
    )
    rows = [
        (a.model, a.segment or "—", a.state, a.reason) for a in report.started + report.advanced
    ]
    rows += [("", r.segment or "—", "refused", r.reason) for r in report.refused]
    if not rows and not report.waiting and not report.not_confirmed:
        console.print("Nothing to do: no trigger fired and no rollout is due.")
    if rows:
        console.print(table(None, ["model", "segment", "state", "why"], rows))
    for line in report.waiting:
        console.print(f"waiting for labels: {line}")
    for line in report.not_confirmed:
        console.print(f"alarm not confirmed, nothing retrained: {line}")


def timeline(
    model: str,
    segment: str = typer.Option(None, help='Only this segment, e.g. "sku=A7,store=12".'),
    limit: int = typer.Option(100, "--limit", "-n"),
) -> None:
    """Alerts, retrains, gate results, promotions and rollbacks of a model, with reasons."""
    from loopml._context import get_context
    from loopml.automation.timeline import timeline as story

    entries = story(get_context().store, model, segment=segment, limit=limit)
    if not entries:
        console.print(f"Nothing has happened to {model} yet.")
        return
    rows = [(e.time, e.kind, e.segment or "—", e.summary, e.actor, e.reason) for e in entries]
    console.print(
        table(f"Timeline of {model}", ["time", "kind", "segment", "what", "who", "why"], rows)
    )
