"""Episodes: alerts a person resolved as a real change or a false alarm.

Each monitor's precision is the share of its labelled episodes that were real
changes. From the values its alerts had, a stricter threshold is suggested when
one would have silenced false alarms without missing a single real change — and
only with enough episodes of both kinds (``MIN_EACH``); with fewer it waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopml.monitoring.service import Monitor, list_alerts, list_monitors
from loopml.monitoring.spec import MonitorSpec
from loopml.store import Store

MIN_EACH = 3  # real changes and false alarms each, before a threshold is suggested


@dataclass(frozen=True)
class Suggestion:
    threshold: float | None  # None: no suggestion, see ``why``
    why: str


@dataclass(frozen=True)
class MonitorPrecision:
    monitor: str
    model: str
    real: int
    false: int
    threshold: float | None
    suggestion: Suggestion

    @property
    def labelled(self) -> int:
        return self.real + self.false

    @property
    def precision(self) -> float | None:
        """Real changes among labelled episodes; None before the first one."""
        return self.real / self.labelled if self.labelled else None


def precision_report(store: Store, *, model: str | None = None) -> list[MonitorPrecision]:
    """One line per monitor: its labelled episodes, precision and suggested threshold."""
    episodes: dict[str, list] = {}
    for alert in list_alerts(store, state="resolved", model=model):
        if alert.resolution is not None and alert.value is not None:
            episodes.setdefault(alert.monitor, []).append(alert)
    return [_line(m, episodes.get(m.name, [])) for m in list_monitors(store, model=model)]


def monitor_precision(store: Store, name: str) -> MonitorPrecision:
    found = [p for p in precision_report(store) if p.monitor == name]
    if not found:
        from loopml.monitoring.service import get_monitor

        get_monitor(store, name)  # the NotFound naming the monitors
    return found[0]


def _line(monitor: Monitor, alerts: list) -> MonitorPrecision:
    real = [a.value for a in alerts if a.resolution == "real_change"]
    false = [a.value for a in alerts if a.resolution == "false_alarm"]
    spec = monitor.spec
    threshold = spec.threshold if spec.threshold is not None else _drift_threshold(spec)
    return MonitorPrecision(
        monitor.name,
        spec.model,
        len(real),
        len(false),
        threshold,
        suggest(real, false, higher_is_worse(spec)),
    )


def higher_is_worse(spec: MonitorSpec) -> bool:
    """Drift shares and error-change counts alert upwards; metrics by their direction."""
    return spec.metric is None or spec.lower_is_better


def suggest(real: list[float], false: list[float], worse_up: bool) -> Suggestion:
    """Rule: move the threshold to halfway between the mildest real change and the
    worst false alarm milder than it — every real change still alerts, and each false
    alarm milder than all real changes is silenced."""
    if len(real) < MIN_EACH or len(false) < MIN_EACH:
        return Suggestion(
            None,
            f"Waiting for evidence: {len(real)} real changes and {len(false)} false alarms "
            f"resolved; a threshold is suggested from {MIN_EACH} of each.",
        )
    sign = 1.0 if worse_up else -1.0
    mildest_real = min(sign * v for v in real)
    milder = [sign * v for v in false if sign * v < mildest_real]
    if not milder:
        return Suggestion(
            None,
            "Keep the threshold: every false alarm was at least as severe as a real change, "
            "so a stricter threshold would miss real changes.",
        )
    threshold = sign * (max(milder) + mildest_real) / 2
    return Suggestion(
        threshold,
        f"A threshold of {threshold:.4g} would have silenced {len(milder)} of {len(false)} "
        f"false alarms and still raised all {len(real)} real changes.",
    )


def _drift_threshold(spec: MonitorSpec) -> float | None:
    return spec.drift_share if spec.kind == "drift" else None
