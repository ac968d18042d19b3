"""Chart data for Plotly.js, built from the services' records (the page draws it)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from starlette.requests import Request

from loopml.errors import LoopmlError

log = logging.getLogger("loopml.ui")


def error_over_time(alert, results, moves) -> dict:
    """The monitor's value over time for the alert's segment, its threshold, and the
    champion's version changes as markers."""
    points = sorted((r.time, r.value) for r in results if r.value is not None)
    first = points[0][0] if points else None
    shown = [m for m in moves if m.to_version is not None and (first is None or m.time >= first)]
    return {
        "name": alert.monitor,
        "times": [_utc(t) for t, _ in points],
        "values": [v for _, v in points],
        "threshold": alert.threshold,
        "versions": [{"time": _utc(m.time), "label": f"v{m.to_version} ({m.kind})"} for m in shown],
        "opened": _utc(alert.opened_at),
    }


def worst_while_open(alert, results) -> float | None:
    """The value farthest past the threshold since the alert opened: a closed alert's own
    value is the healthy one that closed it, which does not say why it opened."""
    if alert.threshold is None:
        return None
    opened = _utc(alert.opened_at)
    seen = [r.value for r in results if r.value is not None and _utc(r.time) >= opened]
    if not seen:
        return None
    above = max(seen) > alert.threshold  # an alert of a value too high; else of one too low
    return max(seen) if above else min(seen)


def _utc(moment: datetime) -> str:
    """An ISO time with its offset, so the page can show it in the viewer's zone (the
    store keeps UTC; SQLite hands it back without a zone)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.isoformat()


def distributions(request: Request, alert, columns: list[str]) -> list[dict]:
    """Reference vs current shares of the drifted features (empty when not a drift alert
    or the window has gone)."""
    if not columns:
        return []
    from loopml.monitoring.evidence import drift_distributions

    context = request.app.state.context
    try:
        found = drift_distributions(
            context.store,
            context.artifacts,
            context.settings.resolved_artifact_uri,
            alert.monitor,
            alert.segment,
            columns=columns[:6],
            now=alert.updated_at,
        )
    except LoopmlError as error:  # evidence is a help; the page stands without it
        log.info("no distributions for alert %s: %s", alert.id, error.message)
        return []
    return [vars(d) for d in found]
