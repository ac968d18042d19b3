"""Episodes: resolved alerts labelled by a person measure their monitor's precision and,
with enough of them, suggest a stricter threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loopml.errors import InvalidInput
from loopml.monitoring import episodes
from loopml.monitoring import service as monitoring
from loopml.monitoring.spec import MonitorSpec
from loopml.store import utcnow


def test_a_threshold_is_suggested_only_with_enough_episodes_of_both_kinds():
    waiting = episodes.suggest([5.0, 6.0], [3.1, 3.2, 3.3], worse_up=True)
    assert waiting.threshold is None and "2 real changes and 3 false alarms" in waiting.why
    found = episodes.suggest([5.0, 6.0, 7.0], [3.1, 3.4, 5.5], worse_up=True)
    assert found.threshold == pytest.approx((3.4 + 5.0) / 2)
    assert "silenced 2 of 3 false alarms and still raised all 3 real changes" in found.why


def test_a_metric_where_lower_is_worse_moves_its_threshold_down():
    found = episodes.suggest([0.50, 0.55, 0.60], [0.78, 0.80, 0.70], worse_up=False)
    assert found.threshold == pytest.approx((0.70 + 0.60) / 2)


def test_no_stricter_threshold_when_false_alarms_are_as_severe_as_real_changes():
    kept = episodes.suggest([5.0, 6.0, 7.0], [8.0, 9.0, 5.0], worse_up=True)
    assert kept.threshold is None and "Keep the threshold" in kept.why


def test_resolutions_feed_the_monitors_precision(store):
    spec = MonitorSpec(
        name="mae", model="m", kind="performance", metric="mae", threshold=3.0, per_segment=True
    )
    monitor = monitoring.create_monitor(store, spec, actor="setup")
    now = utcnow()
    outcomes = [
        monitoring.Outcome(f"s={i}", "alert", 3.0 + i, 50, f"mae {3 + i}", {}, 3.0)
        for i in range(1, 5)
    ]
    monitoring.record_outcomes(
        store, monitor, outcomes, window=(now - timedelta(hours=1), now), now=now, actor="monitor"
    )
    alerts = {a.segment: a.id for a in monitoring.list_alerts(store)}
    assert episodes.monitor_precision(store, "mae").precision is None
    monitoring.resolve_alert(store, alerts["s=1"], actor="olive", resolution="false_alarm")
    monitoring.resolve_alert(store, alerts["s=3"], actor="olive", resolution="real_change")
    monitoring.resolve_alert(store, alerts["s=4"], actor="olive", resolution="real_change")
    monitoring.resolve_alert(store, alerts["s=2"], actor="olive")  # no verdict: no episode
    line = episodes.monitor_precision(store, "mae")
    assert (line.real, line.false, line.precision) == (2, 1, pytest.approx(2 / 3))
    with pytest.raises(InvalidInput, match="real_change, false_alarm"):
        monitoring.resolve_alert(store, alerts["s=1"], actor="olive", resolution="maybe")


def test_a_snoozed_alert_stays_active_but_says_until_when(store):
    spec = MonitorSpec(name="mae", model="m", kind="performance", metric="mae", threshold=3.0)
    monitor = monitoring.create_monitor(store, spec, actor="setup")
    now = utcnow()
    monitoring.record_outcomes(
        store,
        monitor,
        [monitoring.Outcome("", "alert", 4.0, 50, "mae 4", {}, 3.0)],
        window=(now - timedelta(hours=1), now),
        now=now,
        actor="monitor",
    )
    alert = monitoring.list_alerts(store)[0]
    snoozed = monitoring.snooze_alert(
        store, alert.id, until=now + timedelta(hours=1), actor="olive"
    )
    assert snoozed.snoozed(now) and not snoozed.snoozed(now + timedelta(hours=2))
    assert snoozed.state == "open"


def test_an_alert_the_monitor_closed_may_be_labelled_afterwards(store):
    spec = MonitorSpec(name="mae", model="m", kind="performance", metric="mae", threshold=3.0)
    monitor = monitoring.create_monitor(store, spec, actor="setup")
    now = utcnow()
    window = (now - timedelta(hours=1), now)
    for status, value in (("alert", 4.0), ("ok", 2.0)):
        outcome = monitoring.Outcome("", status, value, 50, f"mae {value}", {}, 3.0)
        monitoring.record_outcomes(
            store, monitor, [outcome], window=window, now=now, actor="monitor"
        )
    alert = monitoring.list_alerts(store, state="resolved")[0]
    labelled = monitoring.label_alert(store, alert.id, resolution="real_change", actor="olive")
    assert labelled.resolution == "real_change" and labelled.resolved_by == "monitor"
    assert episodes.monitor_precision(store, "mae").precision == 1.0
    with pytest.raises(InvalidInput, match="real_change"):
        monitoring.label_alert(store, alert.id, resolution="false_alarm", actor="olive")
