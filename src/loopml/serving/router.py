"""Send each row to the version that should answer it.

Rows carry their segment's key fields (``store``, ``sku`` …); the router groups
rows by segment, picks the champion of each (or the fallback), splits off the
canary's share and adds shadow routes. Real-time serving and batch scoring
both route through ``plan``, so a row lands on the same version either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loopml.errors import InvalidInput, NotFound
from loopml.serving.rows import Rows
from loopml.serving.scoring import Served
from loopml.serving.source import AliasKey
from loopml.serving.traffic import Deployment

Lookup = Callable[[AliasKey], "Served | None"]


@dataclass(frozen=True)
class Route:
    served: Served
    indices: Sequence[int]
    role: str  # champion, challenger, fallback or shadow


def segment_keys(rows: Rows, fields: tuple[str, ...]) -> list[str]:
    """The canonical segment key of every row: ``"sku=A7,store=12"`` (fields sorted)."""
    if not fields:
        return [""] * rows.length
    missing = [name for name in fields if name not in rows.columns]
    if missing:
        problem = f"missing segment field {', '.join(missing)}"
        error = InvalidInput(
            f"body.records: {problem}.",
            hint=f"Each row names its segment with {', '.join(fields)}.",
        )
        error.fields = [{"field": f"body.records.{name}", "problem": problem} for name in missing]
        raise error
    columns = [(name, rows.columns[name]) for name in fields]
    return [
        ",".join(f"{name}={_text(values[i])}" for name, values in columns)
        for i in range(rows.length)
    ]


def plan(
    name: str,
    rows: Rows,
    fields: tuple[str, ...],
    deployment: Deployment,
    lookup: Lookup,
    draw: float,
) -> tuple[list[Route], list[Route]]:
    """The routes that answer ``rows`` and the shadow routes that only log."""
    groups: dict[str, Sequence[int]] = {}
    if not fields:
        groups[""] = range(rows.length)
    else:
        for index, key in enumerate(segment_keys(rows, fields)):
            groups.setdefault(key, []).append(index)  # type: ignore[union-attr]
    routes: list[Route] = []
    shadows: list[Route] = []
    unknown: list[str] = []
    for segment, indices in groups.items():
        champion, role = _champion(name, segment, deployment, lookup)
        if champion is None:
            unknown.append(segment)
            continue
        challenger = None
        if deployment.canary_percent or deployment.shadow:
            challenger = lookup((name, segment, deployment.challenger))
        if challenger is not None and deployment.shadow:
            shadows.append(Route(challenger, indices, "shadow"))
        if challenger is not None and deployment.canary_percent:
            picked = [i for i in indices if deployment.takes_challenger(rows, i, draw)]
            if picked:
                routes.append(Route(challenger, picked, "challenger"))
                chosen = set(picked)
                indices = [i for i in indices if i not in chosen]
        if indices:
            routes.append(Route(champion, indices, role))
    if unknown:
        raise no_version(name, unknown, deployment)
    return routes, shadows


def _champion(name: str, segment: str, deployment: Deployment, lookup: Lookup):
    served = lookup((name, segment, deployment.alias))
    if served is not None:
        return served, deployment.alias
    if segment:
        served = lookup((name, "", deployment.alias))
        if served is not None:
            return served, "fallback"
    if deployment.fallback:
        served = lookup((deployment.fallback, "", deployment.alias))
        if served is not None:
            return served, "fallback"
    return None, ""


def no_version(name: str, segments: list[str], deployment: Deployment) -> NotFound:
    alias = deployment.alias
    if segments == [""]:
        return NotFound(
            f"Model {name!r} has no version under alias {alias!r}.",
            hint=f"Register a version and set its alias: loopml.set_alias({name!r}, {alias!r}, VERSION).",
        )
    shown = ", ".join(repr(s) for s in segments[:5]) + (" …" if len(segments) > 5 else "")
    return NotFound(
        f"Model {name!r} has no {alias!r} for segment{'s' if len(segments) > 1 else ''} {shown}.",
        hint="Promote a version for that segment, or configure a fallback model for the deployment.",
    )


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
