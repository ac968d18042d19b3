"""``loopml models``, ``loopml promote``, ``loopml approvals``, ``loopml audit``: the registry."""

from __future__ import annotations

from datetime import datetime, timezone

import typer

from loopml.cli.output import COLUMNS, JSON, console, print_list, show, table

app = typer.Typer(help="Registered models, their versions and segments.", no_args_is_help=True)
approvals = typer.Typer(help="Promotions waiting for a person.", no_args_is_help=True)


@app.command("list")
def list_(columns: str = COLUMNS, as_json: bool = JSON) -> None:
    """Models with their version and segment counts and unsegmented aliases."""
    from loopml._context import get_context
    from loopml.registry import service

    rows = [
        {
            "model": m.name,
            "versions": m.version_count,
            "segments": m.segment_count,
            "aliases": _aliases(m.aliases),
            "created": m.created_at,
            "description": m.description,
        }
        for m in service.list_models(get_context().store)
    ]
    print_list(
        rows,
        default=["model", "versions", "segments", "aliases", "created"],
        columns=columns,
        as_json=as_json,
        empty="No models yet. Log one with loopml.log_model(model, 'name').",
    )


def _aliases(aliases: dict[str, int]) -> str:
    return ", ".join(f"{alias}→v{version}" for alias, version in sorted(aliases.items()))


@app.command("show")
def show_model(name: str) -> None:
    """A model's gate, segments and aliases."""
    from loopml._context import get_context
    from loopml.registry import service

    store = get_context().store
    model = service.get_model(store, name)
    console.print(
        f"[bold]{model.name}[/]  {model.version_count} versions in {model.segment_count} segments"
    )
    console.print(f"gate: {model.gate or 'none (any version may be promoted)'}")
    segments = service.list_segments(store, name)
    rows = [
        (
            s["segment"] or "(none)",
            s["versions"],
            s["latest"],
            ", ".join(f"{a}→v{v}" for a, v in sorted(s["aliases"].items())),
        )
        for s in segments[:200]
    ]
    console.print(table("Segments", ["segment", "versions", "latest", "aliases"], rows))


@app.command("versions")
def versions(
    name: str,
    segment: str = typer.Option(None, help='Only this segment, e.g. "sku=A7,store=12".'),
    limit: int = typer.Option(30, "--limit", "-n"),
    columns: str = COLUMNS,
    as_json: bool = JSON,
) -> None:
    """Versions of a model, newest first."""
    from loopml._context import get_context
    from loopml.registry import service

    found = service.list_versions(get_context().store, name, segment=segment, limit=limit)
    rows = [
        {
            "version": v.version,
            "segment": v.segment_key or None,
            "flavor": v.flavor,
            "runtime": v.runtime,
            "aliases": "archived" if v.archived else ", ".join(v.aliases),
            "metrics": v.metrics,
            "run": v.run_id,
            "created": v.created_at,
            "created_by": v.created_by,
        }
        for v in found
    ]
    default = ["version", "segment", "flavor", "runtime", "aliases", "metrics", "run", "created"]
    print_list(
        rows,
        default=default,
        columns=columns,
        as_json=as_json,
        cells={"metrics": _metrics, "run": _short_id},
        empty=f"{name!r} has no versions.",
    )


def _short_id(run_id: str | None) -> str | None:
    return run_id[:12] if run_id else None


@app.command("archive")
def archive(
    name: str,
    version: int = typer.Option(..., "--version", "-v", help="The version to retire."),
    reason: str = typer.Option(..., help="Why it must never serve again (required, audited)."),
) -> None:
    """Retire a version for good: its aliases go, and it never serves or is promoted again."""
    from loopml._context import get_context
    from loopml.registry.archive import archive_version

    context = get_context()
    _, aliases = archive_version(
        context.store, name, version, actor=context.settings.actor, reason=reason
    )
    removed = f"; aliases removed: {', '.join(aliases)}" if aliases else ""
    console.print(f"[green]✓[/] {name} v{version} archived{removed}.")


@app.command("runtime")
def runtime(
    name: str,
    runtime: str = typer.Argument(..., help="onnx (onnxruntime) or native (its own library)."),
    version: int = typer.Option(..., "--version", "-v", help="The version to serve so."),
) -> None:
    """Serve a version through onnxruntime from its verified ONNX export, or natively again."""
    from loopml._context import get_context
    from loopml.registry.export import set_runtime

    context = get_context()
    done = set_runtime(
        context.store, context.artifacts, name, version, runtime, actor=context.settings.actor
    )
    how = "through onnxruntime" if done.runtime == "onnx" else "with its own library"
    console.print(
        f"[green]✓[/] {name} v{version} is served {how}; servers reload it within a poll."
    )


@app.command("card")
def card(
    name: str,
    version: int = typer.Option(..., "--version", "-v"),
    as_html: bool = typer.Option(False, "--html", help="Self-contained HTML instead of Markdown."),
    out: str = typer.Option(None, "--out", help="Write to this file instead of printing."),
) -> None:
    """The model card of a version: data, metrics, gate results, lineage."""
    from pathlib import Path

    from loopml._context import get_context
    from loopml.registry.card import model_card

    text = model_card(get_context().store, name, version, format="html" if as_html else "markdown")
    if out:
        Path(out).write_text(text)
        console.print(f"card written to {out}")
    else:
        console.print(text, markup=False, highlight=False)


def _metrics(metrics: dict) -> str:
    return ", ".join(f"{k}={show(v)}" for k, v in sorted(metrics.items())[:4])


def promote(
    name: str,
    version: int = typer.Option(..., "--version", "-v", help="The version to promote."),
    alias: str = typer.Option("champion", help="The alias to move."),
    reason: str = typer.Option(None, help="Why; kept in the audit trail (required with --force)."),
    allow_breaking_signature: bool = typer.Option(False, help="Accept an incompatible signature."),
    force: bool = typer.Option(
        False, "--force", help="Promote although gate checks fail (audited as an override)."
    ),
) -> None:
    """Point an alias at a version, if it passes the model's gate."""
    from loopml._context import get_context
    from loopml.registry import promotion
    from loopml.registry.entities import Approval

    context = get_context()
    result = promotion.promote(
        context.store,
        name,
        version,
        alias=alias,
        actor=context.settings.actor,
        reason=reason,
        allow_breaking_signature=allow_breaking_signature,
        force=force,
    )
    if isinstance(result, Approval):
        console.print(
            f"[yellow]Approval request {result.id}[/] opened: {name} v{version} → {alias}. "
            f"An operator runs `loopml approvals approve {result.id}`."
        )
    else:
        console.print(
            f"[green]✓[/] {name} {alias}: v{result.from_version or '—'} → v{result.to_version}"
        )


@approvals.command("list")
def approvals_list(
    all_: bool = typer.Option(False, "--all", help="Decided ones too."),
    columns: str = COLUMNS,
    as_json: bool = JSON,
) -> None:
    """Pending promotion requests (or all of them)."""
    from loopml._context import get_context
    from loopml.registry import approvals as requests

    found = requests.list_approvals(get_context().store, state=None if all_ else "pending")
    rows = [
        {
            "id": a.id,
            "model": a.name,
            "version": a.version,
            "segment": a.segment_key or None,
            "alias": a.alias,
            "state": a.state,
            "by": a.requested_by,
            "reason": a.request_reason,
            "requested": a.requested_at,
            "decided_by": a.decided_by,
            "decision": a.decision_reason,
        }
        for a in found
    ]
    default = ["id", "model", "version", "segment", "alias", "state", "by", "reason", "requested"]
    print_list(
        rows,
        default=default,
        columns=columns,
        as_json=as_json,
        empty="No approval requests." if all_ else "Nothing waits for approval.",
    )


@approvals.command("approve")
def approvals_approve(approval_id: int, reason: str = typer.Option(None, help="Why.")) -> None:
    """Approve someone else's request: the gate runs again, then the alias moves."""
    done = _decide(approval_id, approve=True, reason=reason)
    console.print(f"[green]✓[/] approved: {done.name} {done.alias} → v{done.version}")


@approvals.command("reject")
def approvals_reject(
    approval_id: int, reason: str = typer.Option(..., help="Why (required).")
) -> None:
    """Reject a request with a reason; the alias stays where it is."""
    done = _decide(approval_id, approve=False, reason=reason)
    console.print(f"rejected: {done.name} v{done.version} stays out of {done.alias}")


def _decide(approval_id: int, *, approve: bool, reason: str | None):
    from loopml._context import get_context
    from loopml.registry import approvals as requests

    context = get_context()
    return requests.decide(
        context.store,
        approval_id,
        approve=approve,
        reason=reason,
        actor=context.settings.actor,
        max_age=context.settings.approval_max_age,
    )


def audit(
    model: str = typer.Option(None, "--model", "-m", help="Only events of this model."),
    at: datetime = typer.Option(None, help="With --model: who was champion at this time (UTC)."),
    segment: str = typer.Option(None, help="With --at: the segment."),
    limit: int = typer.Option(50, "--limit", "-n"),
) -> None:
    """Who did what, when and why; or which version was champion at a time."""
    from loopml import audit as audit_events
    from loopml._context import get_context
    from loopml.registry import service

    context = get_context()
    if at is not None:
        if model is None:
            raise typer.BadParameter("--at needs --model")
        when = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        move = service.champion_at(context.store, model, when, segment=segment or "")
        if move is None:
            console.print(f"{model} had no champion at {show(when)}.")
        else:
            console.print(
                f"At {show(when)} the champion of {model}{' ' + segment if segment else ''} was "
                f"[bold]v{move.to_version}[/], put there by {move.actor} on {show(move.time)} "
                f"({move.kind}{': ' + move.reason if move.reason else ''})."
            )
        return
    events = audit_events.list_events(context.store, entity_id=model, limit=limit)
    rows = [
        (
            e.time,
            e.actor,
            e.action,
            f"{e.entity_type}:{e.entity_id}",
            e.reason,
            _change(e.before, e.after),
        )
        for e in events
    ]
    console.print(table(None, ["time", "actor", "action", "entity", "reason", "change"], rows))


def _change(before, after) -> str:
    if before and after:
        return f"{before} → {after}"
    return str(after or before or "")


def export(
    name: str,
    version: int = typer.Option(..., "--version", "-v", help="The version to export."),
    format: str = typer.Option("onnx", "--format", help="onnx"),
    out: str = typer.Option(None, "--out", help="Also write the file here."),
) -> None:
    """Export a version for edge scoring, verified against the native model."""
    from pathlib import Path

    from loopml._context import get_context
    from loopml.registry.export import export_version

    context = get_context()
    done = export_version(
        context.store, context.artifacts, name, version, format=format, actor=context.settings.actor
    )
    console.print(
        f"[green]✓[/] {name} v{version} exported as {done.format} ({done.size:,} bytes), "
        f"max difference {done.max_difference:.2g} on {done.rows_checked} rows; "
        f"stored as {done.artifact_path} of its run"
    )
    if out:
        Path(out).write_bytes(context.artifacts.get_bytes(done.digest))
        console.print(f"written to {out}")
