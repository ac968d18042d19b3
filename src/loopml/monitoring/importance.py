"""How much of a model's importance the drifted features carry.

The importance is the champion's global explanation (mean |contribution| per
feature, ``loopml.explain_version``): a drift of features the model barely uses
matters less than one of the features its answers rest on.
"""

from __future__ import annotations

from collections.abc import Sequence


def champion_importance(store, model: str, segment: str) -> dict[str, float] | None:
    """The importance per feature of the champion answering ``segment``; None if unknown."""
    from loopml.errors import NotFound
    from loopml.registry import reports, service

    if store is None:
        return None
    try:
        version = service.resolve(store, model, alias="champion", segment=segment or None)
    except NotFound:
        return None
    found = reports.latest_report(store, version, "explanation")
    return None if found is None else found.payload.get("importance")


def shares(importance: dict[str, float], columns: Sequence[str]) -> dict[str, float]:
    """Each compared column's share of the importance of all compared columns."""
    total = sum(importance.get(c, 0.0) for c in columns)
    return {c: (importance.get(c, 0.0) / total if total else 0.0) for c in columns}
