"""``run_monitors``: one pass over each model's prediction log for all its due monitors.

The log of a model is read once, for the longest window among its monitors,
with labels joined once if any monitor needs them; each monitor then takes its
window and splits it by segment in one grouping, so 1,000 segments cost one
read and one sort, not 1,000 reports.

Monitors run in event time: a model's window ends where its log ends in event
time (``event_clock``), and a monitor is due when that clock has moved on by
its schedule, so a replay of years of old data is judged period by period at
its own dates, as fast as it is sent.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopml import metrics
from loopml.data.group_summary import summarize_groups
from loopml.errors import LoopmlError
from loopml.monitoring import performance as perf
from loopml.monitoring.drift import compare_many
from loopml.monitoring.reference import reference_for
from loopml.monitoring.service import (
    AlertChange,
    Monitor,
    Outcome,
    list_monitors,
    monitor_results,
    record_outcomes,
)
from loopml.monitoring.spec import SCHEDULED_KINDS
from loopml.predictions.labels import read_labelled
from loopml.predictions.reader import event_clock, read_predictions
from loopml.predictions.schema import TIME_TYPE, inputs
from loopml.registry.segments import parse_segment
from loopml.store import Store, utcnow

log = logging.getLogger("loopml.monitoring")
LOGGED_CHANGES = 20  # alert changes logged one by one in a pass, per monitor
LABELLED_KINDS = {
    "performance",
    "error_drift",
    "fairness",
}  # fairness: attributes may come with labels


@dataclass
class RunReport:
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)  # monitor -> outcomes
    changes: list[AlertChange] = field(default_factory=list)
    delivered: int = 0


def run_monitors(
    store: Store,
    artifacts,
    log_root: str,
    *,
    now: datetime | None = None,
    names: list[str] | None = None,
    force: bool = False,
    actor: str = "monitor",
    webhook: str | None = None,
) -> RunReport:
    """Run the due monitors (or ``names``, or all with ``force``) once; store results and alerts.

    ``now`` fixes the time windows end at; by default each model's event clock."""
    from loopml.monitoring.webhook import deliver

    clock = _EventClocks(log_root, now)
    monitors = [
        m
        for m in list_monitors(store)
        if m.spec.kind in SCHEDULED_KINDS
        and (names is None or m.name in names)
        and (names is not None or m.due(clock(m.spec.model)) or (force and m.spec.enabled))
    ]
    report = RunReport()
    by_model: dict[str, list[Monitor]] = {}
    for monitor in monitors:
        by_model.setdefault(monitor.spec.model, []).append(monitor)
    for model, group in by_model.items():
        now = clock(model)
        longest = max(m.spec.window for m in group)
        window = _read(log_root, model, now - longest, now, group)
        for monitor in group:
            start = now - monitor.spec.window
            rows = window.filter(
                pc.greater_equal(window["event_time"], pa.scalar(start, TIME_TYPE))
            )
            try:
                outcomes = evaluate(monitor, rows, artifacts, store)
            except LoopmlError as error:  # one broken monitor must not stop the others
                message = f"{monitor.name}: {error.message} {error.hint or ''}".strip()
                outcomes = [Outcome("", "error", None, rows.num_rows, message, {})]
            report.outcomes[monitor.name] = outcomes
            changes = record_outcomes(
                store, monitor, outcomes, window=(start, now), now=now, actor=actor
            )
            report.changes += changes
            _log_changes(monitor, changes)
            for change in changes:
                url = monitor.spec.webhook or webhook
                if url and deliver(url, change):
                    report.delivered += 1
    return report


def _log_changes(monitor: Monitor, changes: list[AlertChange]) -> None:
    """Each change up to LOGGED_CHANGES, then one line counting the rest: a pass that opens
    an alert in each of 10,000 segments reads as a summary, not 10,000 lines."""
    for change in changes[:LOGGED_CHANGES]:
        log.warning("alert %s %s: %s", change.event, change.alert.id, change.alert.message)
    if len(changes) > LOGGED_CHANGES:
        opened = sum(c.event == "opened" for c in changes[LOGGED_CHANGES:])
        log.warning(
            "%s: %d more alerts opened and %d resolved (`loopml alerts list` shows them)",
            monitor.name,
            opened,
            len(changes) - LOGGED_CHANGES - opened,
        )


class _EventClocks:
    """Each model's event clock, read once per pass (or the fixed ``now``)."""

    def __init__(self, log_root: str, now: datetime | None) -> None:
        self.log_root, self.now, self.wall = log_root, now, utcnow()
        self.clocks: dict[str, datetime] = {}

    def __call__(self, model: str) -> datetime:
        if self.now is not None:
            return self.now
        if model not in self.clocks:
            found = event_clock(self.log_root, model, now=self.wall)
            self.clocks[model] = found or self.wall
        return self.clocks[model]


def evaluate(monitor: Monitor, rows: pa.Table, artifacts, store=None) -> list[Outcome]:
    spec = monitor.spec
    if spec.kind == "drift":
        return _drift(monitor, rows, artifacts, store)
    if spec.kind == "error_drift" and spec.detector == "cusum":
        return _cusum(monitor, rows, store)
    if spec.kind == "error_drift":
        return [
            _error_drift(monitor, segment, part)
            for segment, part in perf._segments(rows, spec.per_segment)
        ]
    if spec.kind == "fairness":
        from loopml.monitoring.fairness import fairness_outcome

        return [
            fairness_outcome(monitor, segment, part, _where(spec.model, segment))
            for segment, part in perf._segments(rows, spec.per_segment)
        ]
    if spec.kind == "estimated_performance":
        windows = perf.estimated_window_performance(rows, by_segment=spec.per_segment)
        return [_metric_outcome(monitor, w, w.rows) for w in windows] or [_no_data()]
    serving = perf.serving_versions(store, spec.model) if store is not None else {}
    rows = perf.judged_rows(rows, serving)
    windows = perf.window_performance(rows, spec.task, by_segment=spec.per_segment)
    return [
        _metric_outcome(monitor, w, w.labelled, _threshold(monitor, w.segment, serving, store))
        for w in windows
    ] or [_no_data()]


def _threshold(monitor: Monitor, segment: str, serving: dict[str, int], store) -> perf.Threshold:
    """The segment's own threshold (the monitor's number when it is absolute)."""
    spec = monitor.spec
    if spec.threshold_from == "absolute" or store is None:
        return perf.threshold_for(spec, None, [])
    number = serving.get(segment)
    version = _serving(store, spec, serving, segment)
    past = [
        r.value
        for r in monitor_results(
            store, spec.name, segment=segment, limit=4 * spec.reference_windows * (spec.season or 1)
        )
        if r.status in ("ok", "alert") and (r.details or {}).get("version") == number
    ]
    return perf.threshold_for(spec, version, past)


def _cusum(monitor: Monitor, rows: pa.Table, store) -> list[Outcome]:
    """CUSUM per segment over the rows of the version serving it, scaled by its backtest."""
    from loopml.monitoring.cusum import cusum_outcome

    spec = monitor.spec
    serving = perf.serving_versions(store, spec.model) if store is not None else {}
    outcomes = []
    for segment, part in perf._segments(perf.judged_rows(rows, serving), spec.per_segment):
        outcomes.append(
            cusum_outcome(
                monitor,
                segment,
                part,
                _serving(store, spec, serving, segment),
                _where(spec.model, segment),
            )
        )
    return outcomes or [_no_data()]


def _serving(store, spec, serving: dict[str, int], segment: str):
    """The version serving ``segment`` (None without a champion or a store)."""
    from loopml.registry import service as registry

    number = serving.get(segment)
    if number is None or store is None:
        return None
    return registry.resolve(store, spec.model, version=number, segment=segment or None)


def _drift(monitor: Monitor, rows: pa.Table, artifacts, store) -> list[Outcome]:
    """Every segment's drift: the segments that share a reference (the monitor's own, say)
    are summarized in one sort and compared in one computation per column."""
    from loopml.monitoring.importance import champion_importances

    spec = monitor.spec
    features = _features(rows)
    grouped = (
        perf.group_rows(features, spec.per_segment)
        if rows.num_rows
        else perf.GroupedRows([""], features, np.array([0, 0]))
    )
    importances = champion_importances(store, spec.model, grouped.names)
    references = _references(spec, artifacts, store, grouped.names)
    batches: dict[tuple[int, tuple[str, ...]], list[int]] = {}
    outcomes: dict[int, Outcome] = {}
    for i, segment in enumerate(grouped.names):
        reference = references[segment]
        if isinstance(reference, LoopmlError):  # one segment without a reference: others run
            where = _where(spec.model, segment)
            message = f"{spec.name} on {where}: {reference.message} {reference.hint or ''}"
            size = int(grouped.bounds[i + 1] - grouped.bounds[i])
            outcomes[i] = Outcome(segment, "error", None, size, message.strip(), {})
            continue
        names = _drift_columns(spec.columns or list(reference.summary.columns), segment)
        batches.setdefault((id(reference), tuple(names)), []).append(i)
    for (_, names), members in batches.items():
        reference = references[grouped.names[members[0]]]
        currents = summarize_groups(*_rows_of(grouped, members), reference.summary, list(names))
        reports = compare_many(
            reference.summary,
            currents,
            names,
            spec.methods,
            spec.thresholds,
            reference.bounds,
            spec.drift_share,
        )
        for i, current, report in zip(members, currents, reports, strict=True):
            outcomes[i] = _drift_outcome(
                spec, grouped.names[i], current.rows, report, importances[grouped.names[i]]
            )
    return [outcomes[i] for i in range(len(grouped.names))]


def _references(spec, artifacts, store, segments: list[str]) -> dict:
    """Each segment's reference, or the error that says why it has none; the monitor's
    own reference is read once for all of them."""
    if spec.reference is not None:
        named = reference_for(artifacts, model=spec.model, segment="", digest=spec.reference)
        return dict.fromkeys(segments, named)
    found: dict = {}
    for segment in segments:
        try:
            found[segment] = reference_for(
                artifacts, model=spec.model, segment=segment, digest=None, store=store
            )
        except LoopmlError as error:
            found[segment] = error
    return found


def _rows_of(grouped: perf.GroupedRows, members: list[int]) -> tuple[pa.Table, np.ndarray]:
    """The rows of some of the segments, still grouped, and their groups' offsets."""
    if len(members) == len(grouped.names):
        return grouped.rows, grouped.bounds
    starts, stops = grouped.bounds[members], grouped.bounds[np.asarray(members) + 1]
    picked = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)])
    return grouped.rows.take(pa.array(picked, pa.int64())), np.concatenate(
        [[0], np.cumsum(stops - starts)]
    )


def _drift_outcome(spec, segment: str, size: int, report, importance) -> Outcome:
    details = report.to_dict()
    if not report.columns:
        status = "no_data" if size == 0 else "data_problem"
        message = "no column could be compared"
    else:
        status, message = _weighed(spec, importance, report, details)
    return Outcome(
        segment,
        status,
        report.share_drifted,
        size,
        f"{spec.name} on {_where(spec.model, segment)}: {message}",
        details,
        spec.drift_share,
    )


def _drift_columns(names: list[str], segment: str) -> list[str]:
    """A segment's key columns are constant within it: never a drift feature of its monitor."""
    keys = set(parse_segment(segment)) if segment else set()
    return [name for name in names if name not in keys]


def _weighed(spec, importance, report, details: dict) -> tuple[str, str]:
    """Alert on drift; with ``importance_share``, only if the drifted columns carry that much
    of the champion's importance (unknown importance alerts, and says so)."""
    from loopml.monitoring.importance import shares

    drifted = report.drifted_columns
    if importance is None:
        named = _named(drifted, lambda c: c)
        note = "; importance unknown (no explanation of the champion)" if drifted else ""
        return ("alert" if report.drifted else "ok"), (
            f"{len(drifted)} of {len(report.columns)} features drifted ({named}){note}"
        )
    share = shares(importance, [c.name for c in report.columns])
    details["importance_share"] = share
    carried = sum(share[c] for c in drifted)
    # the drifted features that matter most first: the ones an operator should look at
    ordered = sorted(drifted, key=lambda c: -share[c])
    named = _named(ordered, lambda c: f"{c} {share[c]:.0%} of importance")
    message = (
        f"{len(drifted)} of {len(report.columns)} features drifted ({named}), "
        f"carrying {carried:.0%} of the importance"
    )
    if spec.importance_share is None:
        return ("alert" if report.drifted else "ok"), message
    quiet = report.drifted and carried < spec.importance_share
    suffix = f"; alerts from {spec.importance_share:.0%}" if quiet else ""
    return ("alert" if report.drifted and not quiet else "ok"), message + suffix


def _named(columns: list[str], show, shown: int = 5) -> str:
    """The first ``shown`` columns, and how many more there are."""
    if not columns:
        return "none"
    more = f" and {len(columns) - shown} more" if len(columns) > shown else ""
    return ", ".join(show(c) for c in columns[:shown]) + more


def _metric_outcome(
    monitor: Monitor,
    window: perf.WindowPerformance,
    counted: int,
    limit: perf.Threshold | None = None,
) -> Outcome:
    spec = monitor.spec
    limit = limit or perf.threshold_for(spec, None, [])
    value = window.metrics.get(spec.metric)
    details = {
        "metrics": _finite(window.metrics),
        "rows": window.rows,
        "labelled": window.labelled,
        "label_coverage": window.label_coverage,
        "threshold_basis": limit.basis,
        "version": window.version,
    }
    where = _where(spec.model, window.segment)
    if counted < spec.min_rows or value is None or math.isnan(value):
        message = f"{spec.name} on {where}: {counted} usable rows, fewer than {spec.min_rows}"
        return Outcome(window.segment, "no_data", None, window.rows, message, details, limit.value)
    if limit.value is None:
        message = (
            f"{spec.name} on {where}: {spec.metric} {value:.4g}; no threshold yet: {limit.basis}"
        )
        return Outcome(window.segment, "no_data", value, window.rows, message, details, None)
    bad = spec.worse_than_threshold(value, limit.value)
    relation = "worse than" if bad else "within"
    basis = "" if spec.threshold_from == "absolute" else f" ({limit.basis})"
    message = (
        f"{spec.name} on {where}: {spec.metric} {value:.4g} is {relation} {limit.value:.4g}{basis}"
    )
    return Outcome(
        window.segment, "alert" if bad else "ok", value, window.rows, message, details, limit.value
    )


def _error_drift(monitor: Monitor, segment: str, rows: pa.Table) -> Outcome:
    spec = monitor.spec
    joined = perf.labelled_rows(rows)
    where = _where(spec.model, segment)
    if joined.num_rows < spec.min_rows:
        return Outcome(
            segment,
            "no_data",
            None,
            rows.num_rows,
            f"{spec.name} on {where}: {joined.num_rows} labelled rows",
            {},
            None,
        )
    joined = joined.sort_by("event_time")
    errors = metrics.errors(spec.task, joined["label"].to_numpy(), joined["prediction"].to_numpy())
    changes = perf.detect_error_drift(errors, spec.detector)
    status = "alert" if changes else "ok"
    message = (
        f"{spec.name} on {where}: {len(changes)} change(s) in the error stream ({spec.detector})"
    )
    details = {"changes": changes, "labelled": joined.num_rows}
    return Outcome(segment, status, float(len(changes)), rows.num_rows, message, details, 0.0)


def _read(
    log_root: str, model: str, start: datetime, end: datetime, monitors: list[Monitor]
) -> pa.Table:
    if any(m.spec.kind in LABELLED_KINDS for m in monitors):
        return read_labelled(log_root, model, start, end)
    return read_predictions(log_root, model, start, end)


def _features(rows: pa.Table) -> pa.Table:
    """The logged inputs under their own names, plus the prediction, for comparison with training data."""
    columns = inputs(rows)
    columns["prediction"] = rows["prediction"]
    if "segment" in rows.column_names:
        columns["segment"] = rows["segment"]
    return pa.table(columns)


def _no_data() -> Outcome:
    return Outcome("", "no_data", None, 0, "no predictions in the window", {})


def _where(model: str, segment: str) -> str:
    return f"{model} [{segment}]" if segment else model


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}
