"""The health of every model family and segment, and alerts grouped by cause.

A row's status is the most urgent thing about it: **action needed** when an alert
nobody has taken is open or a challenger waits for approval; **watch** when an
alert is being handled, or the live error is more than ``WATCH_RATIO`` of the
training error; else **healthy**. Every status comes with its reason.

CPU seconds are the process CPU time measured around the work itself: for
training, the ``cpu_seconds`` of the runs that trained the segment's versions
(the thread time of each fit); for serving, the sum of the prediction log's
``cpu_ms`` for the segment (the thread time of each model call, shared among
its rows, shadow scoring included).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from loopml.monitoring import service as monitoring
from loopml.monitoring.spec import MonitorSpec
from loopml.predictions.reader import summarize as log_summary
from loopml.registry import approvals as approvals_service
from loopml.registry import service as registry
from loopml.store import Store, utcnow
from loopml.ui.reasons import amount, metric_words, what_happened

WATCH_RATIO = 1.25  # live error this much above the training error: watch
STATUSES = ("action", "watch", "healthy")
SORTS = ("status", "model", "segment", "alerts", "retrained", "live", "cpu")


@dataclass
class Row:
    model: str
    segment: str
    champion: int | None = None
    retrained: datetime | None = None
    metric: str | None = None
    live: float | None = None
    training: float | None = None
    alerts: list = field(default_factory=list)
    approvals: list = field(default_factory=list)
    status: str = "healthy"
    reason: str = ""
    training_cpu: float | None = None  # seconds, over every version of the segment
    serving_cpu: float | None = None  # seconds, over the prediction log of the segment


@dataclass(frozen=True)
class Incident:
    """Alerts of one monitor that share a cause: the same drifted features, the same day."""

    monitor: str
    model: str
    cause: str
    day: str
    alerts: list

    @property
    def segments(self) -> list[str]:
        return sorted(a.segment for a in self.alerts)


def health_rows(store: Store, log_root: str, active: list) -> list[Row]:
    """Every segment's row, from a handful of queries grouped once (not one per segment),
    and one read of each model's prediction log (four of its columns). ``active`` is
    ``monitoring.list_alerts(store, state="active")``, read once for the rows and the
    incidents alike."""
    now = utcnow()
    alerts, pending = defaultdict(list), defaultdict(list)
    for alert in active:
        alerts[(alert.model, alert.segment)].append(alert)
    for approval in approvals_service.list_approvals(store):
        pending[(approval.name, approval.segment_key)].append(approval)
    live = _live_errors(store)
    specs = {monitor.name: monitor.spec for monitor in monitoring.list_monitors(store)}
    rows = []
    watched = {model for model, _segment in live}
    for name in registry.model_names(store):
        # The champions' training metrics, beside a live error: none to read without one.
        trained = registry.alias_metrics(store, name) if name in watched else {}
        training_cpu = registry.training_cpu(store, name)
        serving_cpu = defaultdict(float)
        for part in log_summary(log_root, name):
            if part.cpu_seconds is not None:
                serving_cpu[part.segment] += part.cpu_seconds
        for segment in registry.list_segments(store, name):
            key = (name, segment["segment"])
            row = Row(*key, segment["aliases"].get("champion"), segment["trained_at"])
            row.metric, row.live = live.get(key, (None, None))
            if row.metric:
                row.training = trained.get(key[1], {}).get(row.metric)
            row.alerts, row.approvals = alerts.get(key, []), pending.get(key, [])
            row.training_cpu = training_cpu.get(key[1])
            row.serving_cpu = serving_cpu.get(key[1])
            row.status, row.reason = _status(row, now, specs)
            rows.append(row)
    return rows


def _status(row: Row, now: datetime, specs: dict[str, MonitorSpec]) -> tuple[str, str]:
    untaken = [a for a in row.alerts if a.state == "open" and not a.snoozed(now)]
    if untaken:
        return "action", what_happened(untaken[0], specs.get(untaken[0].monitor))
    if row.approvals:
        return "action", f"challenger v{row.approvals[0].version} waits for approval"
    if row.alerts:
        alert = row.alerts[0]
        who = alert.acknowledged_by or "someone"
        return "watch", f"{who} is on it: {what_happened(alert, specs.get(alert.monitor))}"
    if row.live is not None and row.training and row.live > WATCH_RATIO * row.training:
        return "watch", (
            f"the live {_words(row.metric)} is {amount(row.live)}, "
            f"{row.live / row.training - 1:.0%} above its {amount(row.training)} in training"
        )
    return "healthy", "no open alert" + (
        f"; the live {_words(row.metric)} is {amount(row.live)}, near training"
        if row.live is not None
        else ""
    )


def _words(metric: str | None) -> str:
    return metric_words(metric).removeprefix("the ")


def _live_errors(store: Store) -> dict[tuple[str, str], tuple[str, float]]:
    """The newest value of each monitor of a metric (performance, or one a policy keeps),
    per (model, segment)."""
    found = {}
    for monitor, segment, value in monitoring.latest_values(store):
        spec = monitor.spec
        if spec.metric and spec.kind != "estimated_performance" and value is not None:
            found[(spec.model, segment)] = (spec.metric, value)
    return found


def select_rows(
    rows: list[Row],
    *,
    q: str = "",
    status: str = "",
    sort: str = "status",
    descending: bool = False,
) -> list[Row]:
    """Search (model or segment contains ``q``), filter by status, sort."""
    q = q.strip().lower()
    if q:
        rows = [r for r in rows if q in r.model.lower() or q in r.segment.lower()]
    if status in STATUSES:
        rows = [r for r in rows if r.status == status]
    keys = {
        "status": lambda r: (STATUSES.index(r.status), r.model, r.segment),
        "model": lambda r: (r.model, r.segment),
        "segment": lambda r: (r.segment, r.model),
        "alerts": lambda r: (len(r.alerts), r.model, r.segment),
        "retrained": lambda r: (r.retrained is None, r.retrained or utcnow()),
        "live": lambda r: (r.live is None, r.live or 0.0),
        "cpu": lambda r: ((r.training_cpu or 0.0) + (r.serving_cpu or 0.0), r.model, r.segment),
    }
    return sorted(rows, key=keys.get(sort, keys["status"]), reverse=descending)


def incidents(store: Store, alerts: list) -> list[Incident]:
    """Active alerts grouped by monitor, cause and day: forty segments hit by one upstream
    change read as one incident. A drift alert's cause is its drifted features."""
    causes = _drift_causes(store, alerts)
    groups: dict[tuple, list] = defaultdict(list)
    for alert in alerts:
        cause = causes.get((alert.monitor, alert.segment)) or _metric_cause(alert)
        groups[(alert.monitor, alert.model, cause, f"{alert.opened_at:%Y-%m-%d}")].append(alert)
    found = [Incident(*key, alerts) for key, alerts in groups.items()]
    return sorted(found, key=lambda i: (-len(i.alerts), i.day, i.monitor))


def _drift_causes(store: Store, alerts: list) -> dict[tuple[str, str], str]:
    """The drifted features behind each alert, from the details of its monitor's newest
    result for its segment (only the alerted segments' details are read)."""
    alerted = defaultdict(set)
    for alert in alerts:
        alerted[alert.monitor].add(alert.segment)
    causes = {}
    for name, segments in alerted.items():
        for monitor, result in monitoring.latest_results(
            store, monitor=name, segments=sorted(segments)
        ):
            columns = (result.details or {}).get("columns") or []
            drifted = sorted(c["name"] for c in columns if c.get("drifted"))
            if drifted:
                causes[(monitor.name, result.segment)] = "drift in " + ", ".join(drifted)
    return causes


def _metric_cause(alert) -> str:
    what = alert.message.split(": ", 1)[-1]
    return (
        what.split(" ", 1)[0] + " worse than its threshold" if alert.threshold is not None else what
    )
