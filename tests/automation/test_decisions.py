"""What a retrain learns from, and decisions that wait for evidence and say so."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from tests.automation.conftest import SEGMENTS, Traffic, day
from tests.automation.test_loop import champion, policy, tick

import loopml
from loopml.automation import actions
from loopml.automation.loop import run_policies
from loopml.automation.timeline import timeline
from loopml.data import service as data
from loopml.monitoring.service import get_alert, label_alert, monitor_results
from loopml.registry import service as registry


@pytest.fixture
def trained_on_data(ctx):
    """The family of conftest, but each version logged with its training dataset."""
    rng = np.random.default_rng(0)
    parts = []
    for segment in SEGMENTS:
        x = rng.uniform(0, 10, 200)
        parts.append(pd.DataFrame({"store": segment, "x": x, "y": 2 * x + rng.normal(0, 0.5, 200)}))
    table = pd.concat(parts, ignore_index=True)
    dataset = loopml.log_dataset(table, "demand-training")
    for segment, part in table.groupby("store"):
        model = LinearRegression().fit(part[["x"]], part["y"])
        version = loopml.log_model(
            model,
            "demand",
            input_example=part[["x"]].head(3),
            segment={"store": segment},
            datasets=[dataset],
        )
        loopml.set_alias("demand", "champion", version.version, segment={"store": segment})
    loopml.create_monitor(
        loopml.MonitorSpec(
            name="demand-mae",
            model="demand",
            kind="performance",
            metric="mae",
            threshold=5.0,
            window="2d",
            schedule="1d",
            per_segment=True,
            min_rows=10,
        )
    )
    return ctx, dataset


def test_a_retrain_learns_the_training_rows_and_the_traffic_since_as_a_new_dataset_version(
    trained_on_data,
):
    ctx, training = trained_on_data
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    tick(ctx, day(4), policy(history="all"))
    traffic.replay(4, 6)
    [action] = tick(ctx, day(6), policy(history="all")).started
    learned = action.details["history"]
    assert (learned["training_rows"], learned["traffic_rows"]) == (200, 6 * 20)
    assert action.details["train_rows"] == 320
    version = registry.resolve(
        ctx.store, "demand", version=action.challenger_version, segment={"store": "a"}
    )
    [made] = version.dataset_version_ids
    history = data.get_version_by_id(ctx.store, made)
    assert history.num_rows == 320 and history.run_id == version.run_id
    assert [d.id for d in data.datasets_of_run(ctx.store, version.run_id)] == [training.id, made]
    rows = data.load_table(ctx.artifacts, history).to_pandas()
    assert list(rows.columns) == ["store", "x", "y", "time"] and set(rows["store"]) == {"a"}


def test_a_decision_with_too_few_rows_waits_and_the_timeline_says_for_what(family):
    ctx, spec = family, policy()
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    report = tick(ctx, day(4), spec)
    assert not report.started
    tick(ctx, day(4.1), spec)  # the same count again: said once
    [waiting] = [e for e in timeline(ctx.store, "demand", segment="store=a") if e.kind == "wait"]
    assert "0 of 30 rows" in waiting.summary
    assert "0 of 30 labelled rows since the trigger" in waiting.reason


def test_a_rollout_is_not_rolled_back_on_a_handful_of_rows(family):
    """Two live rows of a worse version are no evidence: the decision waits for 30."""
    ctx, spec = family, policy()
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    tick(ctx, day(4), spec)
    traffic.replay(4, 6)
    [started] = tick(ctx, day(6), spec).started
    assert started.state == "watching"
    traffic.replay(6, 7, broken={"a"})  # one day: 20 rows of the new version, fewer than 30
    report = tick(ctx, day(7), spec)
    assert report.advanced == [] and champion(ctx, "a") == started.challenger_version
    waits = [e for e in timeline(ctx.store, "demand", segment="store=a") if e.kind == "wait"]
    assert "20 of 30 labelled rows answered by" in waits[-1].reason
    traffic.replay(7, 8, broken={"a"})
    [rolled] = tick(ctx, day(8), spec).advanced
    assert rolled.state == "rolled_back" and "on the same 40 rows" in rolled.reason
    assert "p = " in rolled.reason


def test_a_recovered_segment_is_not_retrained_again_without_new_evidence(family):
    ctx, spec = family, policy(cooldown="1h", watch="12h", min_labels=20)
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    tick(ctx, day(4), spec)
    traffic.replay(4, 6)
    [started] = tick(ctx, day(6), spec).started
    traffic.replay(6, 7)
    [done] = tick(ctx, day(6.9), spec).advanced  # 20 rows of the new version: enough
    assert done.state == "promoted"
    # The monitor's 2-day window holds day 5 (the old version, wrong by 30) and day 6
    # (the new one, right): only the new version's rows count, so the alert closes ...
    report = loopml.run_monitors(now=day(6.95), names=["demand-mae"])
    [outcome] = [o for o in report.outcomes["demand-mae"] if o.segment == "store=a"]
    assert outcome.status == "ok" and outcome.details["version"] == started.challenger_version
    assert not loopml.list_alerts(state="active", monitor="demand-mae")
    # ... and no second retrain starts
    assert not tick(ctx, day(7), spec).started
    assert len(actions.list_actions(ctx.store, model="demand")) == 1


def _cusum_family(ctx, until=None, rmse=0.5):
    """Versions that logged their backtest error (the CUSUM's scale; the noise is 0.5)
    and a CUSUM monitor; segment a's labels jump by 30 on day 2 (back on ``until``)."""
    for segment in SEGMENTS:
        x = np.linspace(0, 10, 50)
        model = LinearRegression().fit(pd.DataFrame({"x": x}), 2 * x)
        version = loopml.log_model(
            model,
            "demand",
            input_example=pd.DataFrame({"x": x[:3]}),
            segment={"store": segment},
            metrics={"rmse": rmse, "test_rows": 50},
        )
        loopml.set_alias("demand", "champion", version.version, segment={"store": segment})
    loopml.create_monitor(
        loopml.MonitorSpec(
            name="demand-shift",
            model="demand",
            kind="error_drift",
            detector="cusum",
            window="30d",
            schedule="1d",
            per_segment=True,
            min_rows=1,
        )
    )
    return Traffic(ctx, shock={"a": 2}, until={"a": until} if until else None)


def test_evidence_counts_from_the_change_a_cusum_dated_not_from_its_alarm(family):
    """The CUSUM alarms at its first run after the shift (day 4) and dates the change at
    its first shifted row (day 2). The retrain waits for the rows after the alarm to
    confirm it (day 4's), then judges every row since the change: days 2, 3 and 4, where
    counting from the alarm would wait for 30 rows after it."""
    ctx = family
    traffic = _cusum_family(ctx)
    spec = policy(triggers=[{"when": "alert", "monitor": "demand-shift"}], history="all")
    traffic.replay(0, 4)
    report = tick(ctx, day(4), spec)
    assert not report.started
    assert report.waiting == [
        "demand store=a: 0 of 3 labelled rows since the alarm to confirm it (rows its CUSUM "
        "had not seen), against champion v4"
    ]
    [alert] = loopml.list_alerts(state="active", monitor="demand-shift")
    assert alert.segment == "store=a" and alert.opened_at == day(4)
    [result] = monitor_results(ctx.store, "demand-shift", segment="store=a", limit=1)
    assert result.details["change_at"] == day(2).isoformat()
    traffic.replay(4, 5)
    [started] = tick(ctx, day(5), spec).started
    assert started.segment == "store=a" and started.state == "watching"
    assert "the 3 labelled rows since the alarm confirm a change of the residuals' mean" in (
        started.trigger
    )
    assert started.details["evidence"]["rows"] == 60  # days 2, 3 and 4, 20 rows each


def test_an_alarm_the_rows_after_it_do_not_confirm_is_closed_and_retrains_nothing(family):
    """Segment a's labels jump on days 2 and 3 only: the CUSUM alarms on day 4, and day
    4's rows, back to normal, do not confirm it (the backtest rmse 2 overstates the noise
    of 0.5, so a chance confirmation is rare: p of one 0.5%). The alert is resolved as not_confirmed,
    the timeline says why, and no retrain starts."""
    ctx = family
    traffic = _cusum_family(ctx, until=4, rmse=2.0)
    spec = policy(triggers=[{"when": "alert", "monitor": "demand-shift"}], history="all")
    traffic.replay(0, 4)
    assert not tick(ctx, day(4), spec).started
    [alert] = loopml.list_alerts(state="active", monitor="demand-shift")
    traffic.replay(4, 5)
    report = tick(ctx, day(5), spec)
    assert not report.started and not report.waiting
    [closed] = report.not_confirmed
    assert closed.startswith(f"demand store=a: alert {alert.id} not confirmed: the 3 labelled")
    assert "do not confirm a change of the residuals' mean" in closed
    resolved = get_alert(ctx.store, alert.id)
    assert resolved.state == "resolved" and resolved.resolution == "not_confirmed"
    [entry] = [
        e
        for e in timeline(ctx.store, "demand", segment="store=a")
        if e.kind == "alert" and "not_confirmed" in e.summary
    ]
    assert entry.reason == closed.removeprefix("demand store=a: ")
    assert not actions.list_actions(ctx.store, model="demand")


def _closed_before_enough_rows(ctx, spec):
    """Segment a's labels jump on days 3 and 4 only: the mae monitor alerts on day 4, the
    policy waits for 50 rows since then (20 by day 5), and on day 7 the monitor's 2-day
    window is healthy again and closes the alert, with 60 rows since it opened."""
    traffic = Traffic(ctx, shock={"a": 3}, until={"a": 5})
    traffic.replay(0, 4)
    assert not tick(ctx, day(4), spec).started
    [alert] = loopml.list_alerts(state="active", monitor="demand-mae")
    traffic.replay(4, 5)
    assert not tick(ctx, day(5), spec).started
    traffic.replay(5, 7)
    loopml.run_monitors(now=day(7))
    assert not loopml.list_alerts(state="active", monitor="demand-mae")
    return alert


def test_the_evidence_of_an_alert_that_closed_before_enough_rows_still_decides(family):
    ctx, spec = family, policy(min_labels=50, history="all")
    alert = _closed_before_enough_rows(ctx, spec)
    [started] = run_policies(
        ctx.store, ctx.artifacts, ctx.settings.resolved_artifact_uri, [spec], now=day(7)
    ).started
    assert started.segment == "store=a" and started.trigger.startswith(f"alert {alert.id} of")
    assert started.details["evidence"]["rows"] == 60  # days 4, 5 and 6, counted from day 4
    # a decision was taken: the same trigger does not start another
    traffic = Traffic(ctx, shock={})
    traffic.replay(7, 10)
    assert not tick(ctx, day(10), spec.model_copy(update={"cooldown": timedelta(0)})).started


def test_an_alert_a_person_called_a_false_alarm_starts_nothing_later(family):
    ctx, spec = family, policy(min_labels=50)
    alert = _closed_before_enough_rows(ctx, spec)
    label_alert(ctx.store, alert.id, resolution="false_alarm", actor="ops", reason="a test feed")
    report = run_policies(
        ctx.store, ctx.artifacts, ctx.settings.resolved_artifact_uri, [spec], now=day(7)
    )
    assert not report.started and not report.waiting


def test_after_a_kept_champion_the_next_decision_counts_every_row_since_the_change(family):
    """Segment a's labels jump on day 3 alone, and a 4-day mae window keeps the alert up
    through day 6. The first decision (day 5, on the 20 rows of day 4) keeps the
    champion; the next (day 6) judges the same champion on all 40 rows since the alert,
    not on the 20 after the first decision: handfuls of rows tested one by one never add
    up to evidence; and each look waits for 20 rows more than the last."""
    ctx = family
    loopml.create_monitor(
        loopml.MonitorSpec(
            name="demand-mae-4d",
            model="demand",
            kind="performance",
            metric="mae",
            threshold=3.0,
            window="4d",
            schedule="1d",
            per_segment=True,
            min_rows=10,
        )
    )
    triggers = [{"when": "alert", "monitor": "demand-mae-4d"}]
    spec = policy(triggers=triggers, min_labels=20, cooldown="1h", history="all")
    traffic = Traffic(ctx, shock={"a": 3}, until={"a": 4})
    traffic.replay(0, 5)
    assert not tick(ctx, day(4), spec).started
    [first] = tick(ctx, day(5), spec).started
    assert first.state == "kept_champion" and first.details["evidence"]["rows"] == 20
    # the next look waits for min_labels new rows: looks at 20, 40, 60 rows, not every pass
    loopml.run_monitors(now=day(5.5), force=True)  # the alert confirmed, no new rows
    root = ctx.settings.resolved_artifact_uri
    waiting = run_policies(ctx.store, ctx.artifacts, root, [spec], now=day(5.5))
    assert not waiting.started
    assert (
        f"0 of 20 labelled rows since champion v{first.champion_version} was kept"
        in (waiting.waiting[0])
    )
    traffic.replay(5, 6)
    [second] = tick(ctx, day(6), spec).started
    assert second.champion_version == first.champion_version
    assert second.details["evidence"]["rows"] == 40


def test_the_command_line_says_what_waits_and_which_alarm_was_not_confirmed(
    family, tmp_path, capsys
):
    """``loopml policies run`` at the log's event clock: the same decisions as a pass
    in Python, each line with its reason."""
    from tests.cli.test_commands import run_cli

    project = tmp_path / "loopml.yaml"
    project.write_text(
        "name: demand\ndata: demand.csv\ntarget: y\npolicies:\n"
        "  - name: recover\n    model: demand\n    history: all\n    min_labels: 30\n"
        "    triggers: [{when: alert, monitor: demand-shift}]\n"
    )
    traffic = _cusum_family(family, until=4, rmse=2.0)
    traffic.replay(0, 4)
    loopml.run_monitors(now=day(4))
    code, out, _ = run_cli(capsys, "policies", "run", "--file", str(project))
    assert code == 0
    assert "waiting for labels: demand store=a: 0 of 3 labelled rows since the alarm" in out
    [alert] = loopml.list_alerts(state="active", monitor="demand-shift")
    traffic.replay(4, 5)
    loopml.run_monitors(now=day(5))
    code, out, _ = run_cli(capsys, "policies", "run", "--file", str(project))
    assert code == 0 and "Nothing to do" not in out
    assert f"nothing retrained: demand store=a: alert {alert.id} not confirmed: the 3" in out
    assert get_alert(family.store, alert.id).resolution == "not_confirmed"
    assert not actions.list_actions(family.store, model="demand")
