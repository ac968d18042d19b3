"""How much of a model's importance the drifted features carry.

The importance is the champion's global explanation (mean |contribution| per
feature, ``loopml.explain_version``): a drift of features the model barely uses
matters less than one of the features its answers rest on.
"""

from __future__ import annotations

from collections.abc import Sequence


def champion_importances(
    store, model: str, segments: Sequence[str]
) -> dict[str, dict[str, float] | None]:
    """The importance per feature of the champion answering each segment (None where
    unknown), read in a few queries for all the segments of a monitor's pass."""
    from loopml.errors import NotFound
    from loopml.registry import reports, service

    if store is None:
        return dict.fromkeys(segments)
    try:
        champions = service.resolve_aliases(store, model, "champion", segments)
    except NotFound:
        return dict.fromkeys(segments)
    found = reports.latest_reports(store, list(champions.values()), "explanation")
    out: dict[str, dict[str, float] | None] = dict.fromkeys(segments)
    for segment, version in champions.items():
        report = found.get(version.id)
        out[segment] = None if report is None else report.payload.get("importance")
    return out


def shares(importance: dict[str, float], columns: Sequence[str]) -> dict[str, float]:
    """Each compared column's share of the importance of all compared columns."""
    total = sum(importance.get(c, 0.0) for c in columns)
    return {c: (importance.get(c, 0.0) / total if total else 0.0) for c in columns}
