"""The timeline of one segment is read from that segment's events, newest first from the
store, and tells the same story as the model's whole history would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from loopml import audit
from loopml.automation.timeline import timeline
from loopml.monitoring import service as monitoring
from loopml.monitoring.spec import MonitorSpec
from loopml.registry import promotion
from loopml.store import utcnow


@pytest.fixture
def by_sex(ctx):
    """Diabetes progression, one segment per sex, three versions each, promoted in turn;
    then one segment is rolled back and the other is alerted."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X = X.assign(group=(X["sex"] > 0).map({True: "m", False: "f"}))
    for round_ in range(3):
        for group, rows in X.groupby("group"):
            features = rows.drop(columns="group")
            model = Ridge(alpha=1.0 + round_).fit(features, y[rows.index])
            version = loopml.log_model(
                model,
                "progression",
                input_example=features.head(),
                segment={"sex": group},
                metrics={"mae": 45.0 - round_},
            )
            loopml.set_alias("progression", "champion", version.version, segment={"sex": group})
    promotion.rollback(
        ctx.store,
        "progression",
        segment="sex=f",
        actor="olive",
        reason="worse than before on the clinic's last month",
    )
    spec = MonitorSpec(
        name="progression-mae",
        model="progression",
        kind="performance",
        metric="mae",
        threshold=50.0,
        per_segment=True,
    )
    monitor = monitoring.create_monitor(ctx.store, spec, actor="tester")
    now = utcnow()
    outcomes = [
        monitoring.Outcome("sex=m", "alert", 61.0, 40, "progression-mae: mae 61", {}, 50.0),
        monitoring.Outcome("sex=f", "ok", 44.0, 40, "fine", {}, 50.0),
    ]
    monitoring.record_outcomes(
        ctx.store, monitor, outcomes, window=(now - timedelta(days=1), now), now=now, actor="tester"
    )
    return ctx


def test_a_segments_timeline_has_its_own_story_only(by_sex):
    female = timeline(by_sex.store, "progression", segment={"sex": "f"})
    assert {e.segment for e in female} == {"sex=f"}
    assert [e.kind for e in female].count("registration") == 3
    assert female[-1].kind == "rollback" and female[-1].actor == "olive"
    assert female[-1].reason == "worse than before on the clinic's last month"
    assert "alert" not in {e.kind for e in female}  # the other segment's alert
    male = timeline(by_sex.store, "progression", segment="sex=m")
    assert male[-1].kind == "alert" and male[-1].reason == "progression-mae: mae 61"


def test_the_limit_keeps_the_newest_entries_in_time_order(by_sex):
    whole = timeline(by_sex.store, "progression")
    assert {e.segment for e in whole} == {"sex=f", "sex=m"}
    newest = timeline(by_sex.store, "progression", limit=4)
    assert newest == whole[-4:]
    assert [e.time for e in newest] == sorted(e.time for e in newest)
    assert (
        timeline(by_sex.store, "progression", segment="sex=f", limit=2)
        == [e for e in whole if e.segment == "sex=f"][-2:]
    )


def test_audit_events_are_found_by_segment_and_by_kinds_of_action(by_sex):
    store = by_sex.store
    female = audit.list_events(store, entity_type="model", entity_id="progression", segment="sex=f")
    assert female and all(audit.segment_of(e.before, e.after) == "sex=f" for e in female)
    moves = audit.list_events(
        store, entity_type="model", entity_id="progression", segment="sex=f", actions=["alias.*"]
    )
    assert moves[0].action == "alias.rollback"
    assert {e.action for e in moves} == {"alias.set", "alias.rollback"}
    registered = audit.list_events(
        store, entity_type="model", entity_id="progression", actions=["model.register", "nothing.*"]
    )
    assert len(registered) == 6
    assert audit.list_events(store, entity_id="progression", segment="sex=x") == []


def test_an_unsegmented_models_timeline_asks_for_the_empty_segment(ctx):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    version = loopml.log_model(Ridge().fit(X, y), "whole", input_example=X.head())
    loopml.set_alias("whole", "champion", version.version)
    story = timeline(ctx.store, "whole", segment="")
    assert [e.kind for e in story] == ["registration", "alias"]
    assert story == timeline(ctx.store, "whole")
