"""The model card of a version, as Markdown or self-contained HTML.

A card is a list of sections, each a title and rows of (label, value), built
from the store: the version, its data, metrics, gate results and lineage. Later
parts (explanations, fairness) add a builder to ``SECTIONS``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from loopml import audit
from loopml.errors import InvalidInput, NotFound
from loopml.registry import service
from loopml.registry.entities import ModelVersion
from loopml.store import Store

Rows = list[tuple[str, str]]


@dataclass(frozen=True)
class Section:
    title: str
    rows: Rows
    figures: tuple[str, ...] = ()  # plots as inline SVG or HTML, every label escaped


def _summary(store: Store, version: ModelVersion) -> Rows:
    return [
        ("model", version.name),
        ("version", str(version.version)),
        ("segment", version.segment_key or "(none)"),
        ("flavor", version.flavor),
        ("aliases", ", ".join(version.aliases) or "none"),
        ("registered", f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by}"),
        (
            "inputs",
            ", ".join(f"{c.name} ({c.type})" for c in version.signature.inputs)
            if version.signature
            else "no signature",
        ),
        ("description", version.description or ""),
    ]


def _data(store: Store, version: ModelVersion) -> Rows:
    from loopml.data import service as data

    rows = []
    for dataset_id in version.dataset_version_ids:
        try:
            found = data.resolve_version(store, dataset_id)
            rows.append(
                (
                    f"{found.name} v{found.version}",
                    f"{found.num_rows:,} rows × {found.num_columns} columns, sha256 {found.digest[:12]}",
                )
            )
        except NotFound:
            rows.append((dataset_id, "no longer in the store"))
    return rows or [("training data", "not recorded (log the model with datasets=[...])")]


def _metrics(store: Store, version: ModelVersion) -> Rows:
    return [(k, "—" if v is None else f"{v:.6g}") for k, v in sorted(version.metrics.items())] or [
        ("metrics", "none logged")
    ]


def _gates(store: Store, version: ModelVersion) -> Rows:
    rows = []
    events = audit.list_events(
        store,
        entity_type="model",
        entity_id=version.name,
        segment=version.segment_key,
        actions=("gate.*",),
    )
    for event in reversed(events):
        after = event.after or {}
        if event.action.startswith("gate.") and after.get("version") == version.version:
            checks = "; ".join(
                f"{'✓' if c['passed'] else '✗'} {c['name']}: {c['detail']}"
                for c in after["gate"]["checks"]
            )
            rows.append(
                (f"{event.time:%Y-%m-%d %H:%M} {event.action}", checks or "no checks configured")
            )
    return rows or [("gate", "never evaluated for this version")]


def _lineage(store: Store, version: ModelVersion) -> Rows:
    from loopml.tracking import service as tracking

    if not version.run_id:
        return [("run", "none")]
    run = tracking.get_run(store, version.run_id)
    commit = (
        f"{run.git_commit[:12]}{' (dirty)' if run.git_dirty else ''}"
        if run.git_commit
        else "not in git"
    )
    rows = [
        ("run", f"{run.name} ({run.id}) in {run.experiment}"),
        ("code", commit),
        ("host", run.host),
        ("python", run.environment.get("python", "")),
        (
            "packages",
            ", ".join(f"{k} {v}" for k, v in sorted(run.environment.get("packages", {}).items())),
        ),
    ]
    rows += [
        (f"artifact {a.path}", f"{a.size:,} bytes, sha256 {a.digest[:12]}") for a in run.artifacts
    ]
    moves = service.alias_history(store, version.name, segment=version.segment_key)
    rows += [
        (
            f"{m.time:%Y-%m-%d %H:%M} {m.alias}",
            f"v{m.from_version or '—'} → v{m.to_version or '—'} by {m.actor} ({m.kind}{': ' + m.reason if m.reason else ''})",
        )
        for m in moves
        if version.version in (m.from_version, m.to_version)
    ]
    return rows


def _explanation(store: Store, version: ModelVersion) -> Rows:
    from loopml.explain.card import explanation_rows

    return explanation_rows(store, version)


def _evaluation(store: Store, version: ModelVersion) -> Rows:
    from loopml.explain.card import evaluation_rows

    return evaluation_rows(store, version)


def _evaluation_figures(store: Store, version: ModelVersion) -> list[str]:
    from loopml.explain.card import evaluation_figures

    return evaluation_figures(store, version)


def _explanation_figures(store: Store, version: ModelVersion) -> list[str]:
    from loopml.explain.card import explanation_figures

    return explanation_figures(store, version)


def _family(store: Store, version: ModelVersion) -> Rows:
    from loopml.explain.card import family_rows

    return family_rows(store, version)


def _fairness(store: Store, version: ModelVersion) -> Rows:
    from loopml.explain.card import fairness_rows

    return fairness_rows(store, version)


SECTIONS: list[tuple[str, Callable[[Store, ModelVersion], Rows]]] = [
    ("Summary", _summary),
    ("Data", _data),
    ("Metrics", _metrics),
    ("Evaluation", _evaluation),
    ("Explanation", _explanation),
    ("Segment family", _family),
    ("Fairness", _fairness),
    ("Gate results", _gates),
    ("Lineage", _lineage),
]


# Sections with plots; a Markdown card shows their rows only.
FIGURES: dict[str, Callable[[Store, ModelVersion], list[str]]] = {
    "Evaluation": _evaluation_figures,
    "Explanation": _explanation_figures,
}


def card_sections(store: Store, name: str, version: int) -> tuple[str, list[Section]]:
    """The card's title and sections (the web UI shows them as they are)."""
    registered = service.resolve(store, name, version=version)
    sections = [
        Section(
            title,
            build(store, registered),
            tuple(FIGURES[title](store, registered)) if title in FIGURES else (),
        )
        for title, build in SECTIONS
    ]
    title = f"{name} v{version}" + (
        f" — {registered.segment_key}" if registered.segment_key else ""
    )
    return title, sections


def model_card(store: Store, name: str, version: int, *, format: str = "markdown") -> str:
    title, sections = card_sections(store, name, version)
    if format == "markdown":
        return _markdown(title, sections)
    if format == "html":
        return _html(title, sections)
    raise InvalidInput(f"Unknown card format {format!r}.", hint="Use markdown or html.")


def _markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# Model card: {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", "", "| | |", "|---|---|"]
        lines += [f"| {label} | {value.replace('|', '/')} |" for label, value in section.rows]
        lines.append("")
    return "\n".join(lines)


def _html(title: str, sections: list[Section]) -> str:
    body = "".join(
        f"<h2>{html.escape(s.title)}</h2><table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in s.rows)
        + "</table>"
        + "".join(s.figures)
        for s in sections
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;width:100%}th{text-align:left;width:16rem;color:#555}"
        "th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;vertical-align:top}"
        "table.confusion{width:auto;margin:1rem 0}table.confusion th{width:auto}caption{text-align:left;white-space:nowrap;color:#555}figure.plot{display:inline-block;margin:.5rem 1rem .5rem 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Model card: {html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>Model card: {html.escape(title)}</h1>{body}</body></html>"
    )
