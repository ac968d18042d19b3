"""The closed loop on replayed traffic: detect, retrain only what broke, promote, watch,
and roll back or refuse when it should."""

from datetime import timedelta

import pytest
from tests.automation.conftest import Traffic, day

import loopml
from loopml import audit
from loopml.automation import actions
from loopml.automation.loop import run_policies
from loopml.pipeline.policy import PolicySpec
from loopml.registry import service as registry


def policy(**overrides) -> PolicySpec:
    fields = dict(
        name="recover",
        model="demand",
        triggers=[{"when": "alert", "monitor": "demand-mae"}],
        history="since_change",
        min_labels=30,
        watch="1d",
        cooldown="2d",
    )
    return PolicySpec(**(fields | overrides))


def tick(ctx, when, spec):
    loopml.run_monitors(now=when)
    return run_policies(
        ctx.store, ctx.artifacts, ctx.settings.resolved_artifact_uri, [spec], now=when
    )


def champion(ctx, segment):
    return registry.resolve(
        ctx.store, "demand", alias="champion", segment={"store": segment}
    ).version


def test_a_shocked_segment_is_retrained_promoted_and_watched(family):
    ctx, spec = family, policy()
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    report = tick(ctx, day(4), spec)  # the alert opens now; no labels since then yet
    assert not report.started and report.waiting
    traffic.replay(4, 6)
    report = tick(ctx, day(6), spec)
    [started] = report.started
    assert (started.segment, started.state) == ("store=a", "watching")
    assert started.details["expected_error"] < 2 < started.details["champion_error"]
    assert champion(ctx, "a") == started.challenger_version
    assert {champion(ctx, s) for s in "bc"} == {2, 3}  # untouched

    traffic.replay(6, 8)
    report = tick(ctx, day(8), spec)
    [finished] = report.advanced
    assert finished.state == "promoted" and finished.details["live"]["error"] < 2
    assert [a.segment for a in actions.list_actions(ctx.store, model="demand")] == ["store=a"]
    events = [e.action for e in audit.list_events(ctx.store, entity_id="demand")]
    assert {"policy.retraining", "policy.watching", "policy.promoted", "alias.promote"} <= set(
        events
    )


def test_a_worse_live_error_rolls_back_with_an_alert(family):
    ctx, spec = family, policy()
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    tick(ctx, day(4), spec)
    traffic.replay(4, 6)
    [started] = tick(ctx, day(6), spec).started
    traffic.replay(6, 8, broken={"a"})  # the new champion answers badly live
    [rolled] = tick(ctx, day(8), spec).advanced
    assert rolled.state == "rolled_back" and "live mae" in rolled.reason
    assert champion(ctx, "a") == started.champion_version
    alerts = loopml.list_alerts(state="active", monitor="policy.recover")
    assert [a.segment for a in alerts] == ["store=a"] and "Rolled back" in alerts[0].message


def test_guard_rails_refuse_with_reasons(family):
    ctx = family
    spec = policy(max_retrains_per_day=1)
    traffic = Traffic(ctx, shock={"a": 0, "b": 0})
    traffic.replay(0, 3)
    loopml.run_monitors(now=day(1))
    traffic.replay(3, 5)
    report = tick(ctx, day(5), spec)
    assert len(report.started) == 1 and "cap of 1" in report.refused[0].reason
    again = actions.begin(
        ctx.store, spec, report.started[0].segment, "test", actor="t", now=day(5.5)
    )
    assert "cooling down" in again.reason or "in flight" in again.reason


def test_a_broken_retrain_keeps_the_champion_and_alerts(family):
    ctx = family
    spec = policy(estimator="sklearn.no_such.Model")
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    tick(ctx, day(4), spec)
    traffic.replay(4, 6)
    before = champion(ctx, "a")
    [failed] = tick(ctx, day(6), spec).started
    assert failed.state == "failed" and "cannot be imported" in failed.reason
    assert champion(ctx, "a") == before
    assert loopml.list_alerts(state="active", monitor="policy.recover")


def test_approval_mode_waits_for_a_person(family):
    ctx, spec = family, policy(promotion="approval")
    traffic = Traffic(ctx, shock={"a": 3})
    traffic.replay(0, 4)
    tick(ctx, day(4), spec)
    traffic.replay(4, 6)
    [waiting] = tick(ctx, day(6), spec).started
    assert waiting.state == "awaiting_approval"
    [request] = loopml.list_approvals()
    loopml.approve(request.id, reason="checked the numbers")
    [watching] = tick(ctx, day(6) + timedelta(hours=1), spec).advanced
    assert watching.state == "watching" and champion(ctx, "a") == waiting.challenger_version


@pytest.mark.parametrize(
    "bad", [{"triggers": []}, {"triggers": [{"when": "alert"}]}, {"retrain_window": "soon"}]
)
def test_bad_policies_are_refused_with_the_field(bad):
    with pytest.raises(ValueError):
        policy(**bad)


def test_a_policy_acts_only_on_alerts_of_the_segments_it_covers(family):
    ctx = family
    by_hand, automatic = (
        policy(name="by-hand", segments=["store=a"], promotion="approval"),
        policy(name="automatic", segments=["store=b", "store=c"]),
    )
    traffic = Traffic(ctx, shock={"a": 3, "b": 3})
    traffic.replay(0, 4)
    tick(ctx, day(4), by_hand)
    traffic.replay(4, 6)
    loopml.run_monitors(now=day(6))
    assert {a.segment for a in loopml.list_alerts(state="active", monitor="demand-mae")} == {
        "store=a",
        "store=b",
    }
    root = ctx.settings.resolved_artifact_uri
    report = run_policies(ctx.store, ctx.artifacts, root, [by_hand, automatic], now=day(6))
    started = {(a.policy, a.segment, a.state) for a in report.started}
    assert started == {
        ("by-hand", "store=a", "awaiting_approval"),
        ("automatic", "store=b", "watching"),
    }
    none = policy(name="elsewhere", segments=["store=c"])
    again = run_policies(ctx.store, ctx.artifacts, root, [none], now=day(6) + timedelta(hours=1))
    assert not again.started and not again.waiting  # store=c has no alert; a and b are not its
