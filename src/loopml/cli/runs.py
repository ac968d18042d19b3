"""``loopml runs``: list, show and compare runs."""

from __future__ import annotations

import json

import typer

from loopml.cli.output import COLUMNS, JSON, console, duration, print_list, show, size, table

app = typer.Typer(help="List, show and compare runs.", no_args_is_help=True)

MAX_METRICS = 3  # more would wrap the table; --columns or --json show the rest


@app.command("list")
def list_(
    experiment: list[str] = typer.Option(
        None, "--experiment", "-e", help="Only these experiments."
    ),
    filter: str = typer.Option(
        None, "--filter", "-f", help="e.g. \"metrics.mae < 3 and params.alpha = '0.1'\""
    ),
    order_by: list[str] = typer.Option(None, "--order-by", "-o", help="e.g. 'metrics.mae asc'."),
    limit: int = typer.Option(20, "--limit", "-n", help="At most this many runs."),
    columns: str = COLUMNS,
    as_json: bool = JSON,
) -> None:
    """Runs, newest first, with their key metrics."""
    from loopml._context import get_context
    from loopml.tracking import liveness
    from loopml.tracking.query import search_runs

    context = get_context()
    liveness.reap_dead_runs(context.store, context.settings.run_heartbeat_timeout)
    frame = search_runs(
        context.store, context.settings.project, experiment or None, filter, order_by, limit
    )
    metrics = [c for c in frame.columns if c.startswith("metrics.")][:MAX_METRICS]
    rows = json.loads(frame.to_json(orient="records", date_format="iso"))  # NaN → null
    print_list(
        rows,
        default=[*DEFAULT_COLUMNS, *metrics],
        columns=columns,
        as_json=as_json,
        cells=CELLS,
        empty="No runs match.",
    )


DEFAULT_COLUMNS = ["run_id", "experiment", "name", "status", "start_time", "wall_seconds"]
# short ids (any unique prefix is accepted back) and durations, in the table only
CELLS = {
    "run_id": lambda v: v[:12],
    "parent_run_id": lambda v: v and v[:12],
    "wall_seconds": duration,
    "start_time": lambda v: v and v[:19].replace("T", " "),
}


@app.command("show")
def show_run(
    run_id: str = typer.Argument(..., help="The run's id, or a unique prefix of it."),
) -> None:
    """Everything about one run: status, code, environment, resources, params, metrics."""
    from rich.panel import Panel

    from loopml._context import get_context
    from loopml.tracking import liveness, service

    context = get_context()
    run = service.get_run(context.store, run_id)
    if run.status == "running" and liveness.reap_dead_runs(
        context.store, context.settings.run_heartbeat_timeout, run.id
    ):
        run = service.get_run(context.store, run.id)
    code = f"{run.git_commit[:12]}{' (dirty)' if run.git_dirty else ''}" if run.git_commit else "—"
    summary = "\n".join(
        [
            f"[bold]{run.name}[/]  [dim]{run.id}[/]",
            f"experiment {run.experiment}   status [bold]{run.status}[/]   user {run.user}",
            f"started {show(run.start_time)}   ended {show(run.end_time)}",
            f"code {code}   host {run.host}   python {run.environment.get('python', '—')}",
            f"wall {duration(run.wall_seconds)}   cpu {duration(run.cpu_seconds)}   "
            f"peak memory {size(run.peak_rss_bytes)}",
        ]
        + ([f"parent {run.parent_run_id}"] if run.parent_run_id else [])
    )
    console.print(Panel(summary, title="Run", title_align="left"))
    for title, values in (("Params", run.params), ("Metrics", run.metrics), ("Tags", run.tags)):
        if values:
            console.print(table(title, ["key", "value"], sorted(values.items())))
    if run.artifacts:
        console.print(
            table(
                "Artifacts",
                ["path", "size", "sha256"],
                [(a.path, size(a.size), a.digest[:16]) for a in run.artifacts],
            )
        )
    if run.error:
        console.print(Panel(run.error.strip(), title="Error", border_style="red"))


@app.command("compare")
def compare(run_ids: list[str] = typer.Argument(..., help="Two or more run ids.")) -> None:
    """Params and metrics of runs side by side; differing rows are highlighted."""
    from loopml._context import get_context
    from loopml.tracking import service

    store = get_context().store
    runs = [service.get_run(store, run_id) for run_id in run_ids]
    headers = ["", *(f"{r.name}\n{r.id[:8]}" for r in runs)]
    for title, attribute in (("Params", "params"), ("Metrics", "metrics")):
        keys = sorted({k for r in runs for k in getattr(r, attribute)})
        rows = []
        for key in keys:
            values = [getattr(r, attribute).get(key) for r in runs]
            differs = len({show(v) for v in values}) > 1
            rows.append([f"[yellow]{key}[/]" if differs else key, *values])
        if rows:
            console.print(table(title, headers, rows))
