"""Why something waits for a person, in the words of someone who runs the business, not the
model: "Demand at store north: actual values have run above what the model predicts
since 12 Nov". Numbers are rounded, dates are days, and no internal name (a metric's
code, a test statistic, a detector) is shown; the alert's page keeps those."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from loopml.metrics import lower_is_better
from loopml.monitoring.spec import MonitorSpec
from loopml.registry.segments import parse_segment
from loopml.store import utcnow

# What each metric measures, said plainly.
METRIC_WORDS = {
    "mae": "the average error",
    "rmse": "the typical error",
    "mape": "the average error relative to the actual values",
    "wape": "the error relative to the volume",
    "r2": "the share of the ups and downs it explains",
    "accuracy": "the share of right answers",
    "f1": "the share of right answers, balanced over the classes",
    "roc_auc": "how well it ranks the likely cases first",
    "log_loss": "how wrong its confident answers are",
    "calibration_error": "how far its probabilities are from what happens",
}
SHARES = {"accuracy", "r2", "f1", "roc_auc", "mape", "wape"}  # fractions, read as percentages
FAIRNESS_WORDS = {
    "demographic_parity": "the rate of positive answers",
    "equalized_odds": "the rates of right and wrong positive answers",
    "error": "the size of its errors",
}


def alert_reason(
    alert, spec: MonitorSpec | None = None, details: Mapping[str, Any] | None = None
) -> str:
    """One sentence for an alert: where, then what happened (``what_happened``)."""
    return f"{place(alert.model, alert.segment)}: {what_happened(alert, spec, details)}"


def what_happened(
    alert, spec: MonitorSpec | None = None, details: Mapping[str, Any] | None = None
) -> str:
    """What an alert says happened; ``spec`` and ``details`` (its monitor's and its
    newest result's) let it say what changed, else it says how far past the limit."""
    since = day(alert.opened_at)
    details = details or {}
    kind = spec.kind if spec is not None else None
    if kind == "drift" and any(c.get("drifted") for c in details.get("columns") or ()):
        return f"{_drift(details)}, since {since}"
    if kind == "error_drift" and details.get("side") in ("up", "down"):
        return _shift(details, since)
    if kind == "error_drift" and "changes" in details:
        changes = len(details["changes"] or ())
        return f"the model's errors changed {_times(changes)} in the latest window, since {since}"
    measured = alert.value is not None and alert.threshold is not None
    if kind == "fairness" and measured:
        return f"{_fairness(spec, alert.value, alert.threshold)}, since {since}"
    if kind in ("performance", "estimated_performance") and spec.metric and measured:
        if not _past(spec.metric, alert.value, alert.threshold):  # healthy again since
            return _went_past(spec, alert.value, alert.threshold, since)
        return f"{_metric(spec, alert.value, alert.threshold)}, since {since}"
    what = alert.message.split(": ", 1)[-1]  # an external monitor's own words
    return f"{what} since {since}"


def approval_reason(approval) -> str:
    where = place(approval.name, approval.segment_key)
    champion = f"v{approval.champion_version}" if approval.champion_version else "no champion yet"
    head = (
        f"{where}: a new version (v{approval.version}) waits for your decision to become "
        f"{approval.alias}, in place of {champion}"
    )
    checks = (approval.gate_report or {}).get("checks", [])
    better = next((_better(c) for c in checks if (c.get("values") or {}).get("champion")), None)
    if better:
        return f"{head}: {better}"
    failed = [c for c in checks if not c.get("passed")]
    if failed:
        return f"{head}: {len(failed)} of {len(checks)} checks did not pass"
    return f"{head}: it passed every check" if checks else head


def place(model: str, segment: str) -> str:
    """``demand at store north, sku A7``: a segment's key as words."""
    name = model[:1].upper() + model[1:]
    if not segment:
        return name
    parts = ", ".join(f"{key} {value}" for key, value in parse_segment(segment).items())
    return f"{name} at {parts}"


def day(moment: datetime | str | None, now: datetime | None = None) -> str:
    """``12 Nov``; ``12 Nov 2025`` in another year than this one."""
    if moment is None:
        return "recently"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    now = now or utcnow()
    return f"{moment.day} {moment:%b}" + ("" if moment.year == now.year else f" {moment.year}")


def amount(value: float) -> str:
    """Rounded to what a person reads: 41.2, 1,234, 0.071."""
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1 or size == 0:
        return f"{value:.3g}"
    return f"{value:.2g}"


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def metric_words(metric: str | None) -> str:
    """What a metric measures, in words ("the average error" for ``mae``)."""
    return METRIC_WORDS.get(metric or "", "the model's score")


def _terms(spec: MonitorSpec, threshold: float):
    """What the metric is called, how its values read, and its limit in words."""
    words = metric_words(spec.metric)
    if spec.kind == "estimated_performance":
        words = f"{words} (estimated: the real outcomes are not in yet)"
    shown = _percent if spec.metric in SHARES else amount
    lower = lower_is_better(spec.metric)
    return words, shown, lower, f"the {shown(threshold)} {'allowed' if lower else 'required'}"


def _metric(spec: MonitorSpec, value: float, threshold: float) -> str:
    words, shown, lower, limit = _terms(spec, threshold)
    if not threshold or spec.metric in SHARES:
        return f"{words} is {shown(value)}, {'above' if lower else 'below'} {limit}"
    off = abs(value - threshold) / abs(threshold)
    return f"{words} is {shown(value)}, {off:.0%} {'above' if lower else 'below'} {limit}"


def _past(metric: str, value: float, threshold: float) -> bool:
    """The value is on the wrong side of the threshold."""
    return value > threshold if lower_is_better(metric) else value < threshold


def _went_past(spec: MonitorSpec, value: float, threshold: float, since: str) -> str:
    """An alert whose latest value is back within its limit: it went past it, and is
    now where it is (the monitor closes it, or a person does)."""
    words, shown, lower, limit = _terms(spec, threshold)
    return (
        f"{words} went {'above' if lower else 'below'} {limit} on {since}; it is {shown(value)} now"
    )


def _drift(details: Mapping[str, Any]) -> str:
    columns = details["columns"]
    drifted = [c["name"] for c in columns if c.get("drifted")]
    share = details.get("importance_share") or {}
    if share:
        drifted.sort(key=lambda name: -share.get(name, 0.0))
    named = _listed(drifted)
    verb = "no longer looks" if len(drifted) == 1 else "no longer look"
    text = (
        f"the data it is asked about has changed: {named} {verb} like the data it was "
        f"trained on ({len(drifted)} of {len(columns)} inputs)"
    )
    carried = sum(share.get(name, 0.0) for name in drifted)
    if share and carried > 0:
        text += f", and they carry {carried:.0%} of what the model relies on"
    return text


def _shift(details: Mapping[str, Any], since: str) -> str:
    direction = "above" if details["side"] == "up" else "below"
    when = day(details.get("change_at")) if details.get("change_at") else since
    rows = details.get("rows_since_change") or 0
    after = f" ({rows:,} predictions since it began)" if rows else ""
    return (
        f"actual values have run {direction} what the model predicts since "
        f"{when}, a lasting shift, not a blip{after}"
    )


def _fairness(spec: MonitorSpec, value: float, threshold: float) -> str:
    metric = spec.metric or ""
    base = next((w for key, w in FAIRNESS_WORDS.items() if metric.startswith(key)), None)
    words = base or "how it treats each group"
    group = f"{spec.sensitive} groups" if spec.sensitive else "groups"
    if metric.endswith("_ratio"):
        return (
            f"{words} differs between {group}: the lowest is {_percent(value)} of the "
            f"highest, below the {_percent(threshold)} required"
        )
    return (
        f"{words} differs between {group} by {amount(value)}, more than the "
        f"{amount(threshold)} allowed"
    )


def _better(check: Mapping[str, Any]) -> str | None:
    values = check.get("values") or {}
    metric, mine, theirs = values.get("metric"), values.get("candidate"), values.get("champion")
    if metric is None or mine is None or theirs is None or not math.isfinite(theirs):
        return None
    words = METRIC_WORDS.get(metric, "its score")
    words = words.replace("the ", "its ", 1) if words.startswith("the ") else words
    shown = _percent if metric in SHARES else amount
    if not theirs:
        return f"{words} is {shown(mine)}, against {shown(theirs)} for the champion"
    change = (mine - theirs) / abs(theirs)
    lower = lower_is_better(metric)
    if abs(change) < 0.005:
        return f"{words} is about the same as the champion's ({shown(mine)})"
    side = "lower" if change < 0 else "higher"
    verdict = "better" if (change < 0) == lower else "worse"
    return (
        f"{words} is {abs(change):.0%} {side} ({verdict}): {shown(mine)} against "
        f"{shown(theirs)} for the champion"
    )


def _listed(names: list[str], shown: int = 3) -> str:
    if not names:
        return "no input"
    if len(names) > shown:
        return ", ".join(names[:shown]) + f" and {len(names) - shown} more"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _times(count: int) -> str:
    return {0: "no times", 1: "once", 2: "twice"}.get(count, f"{count} times")
