"""Approvals judged at the moment of decision, by someone other than who asked,
on ridge models of scikit-learn's diabetes data (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

import loopml
from loopml import audit
from loopml.automation.scheduler import Scheduler
from loopml.errors import Conflict, Forbidden, InvalidInput
from loopml.registry import approvals, promotion, service
from loopml.registry.approvals import ApprovalRefused
from loopml.registry.gates import GateFailed
from loopml.store import utcnow
from loopml.store.tables import ApprovalRow


@pytest.fixture
def ridges(ctx):
    """demand v1..v3: ridge models of falling test MAE (alpha 10, 1, 0.3), with a gate
    that needs a person and a 2% better MAE than the champion."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    maes = []
    for alpha in (10.0, 1.0, 0.3):
        model = Ridge(alpha=alpha).fit(X_train, y_train)
        maes.append(mean_absolute_error(y_test, model.predict(X_test)))
        loopml.log_model(model, "demand", metrics={"mae": maes[-1]}, input_example=X_test.head())
    assert maes[0] > maes[1] > maes[2]  # what the story below relies on
    loopml.set_gate("demand", beat_champion="mae", margin=0.02, require_approval=True)
    return maes


def _approve(ctx, approval_id, actor, reason="ok"):
    return approvals.decide(ctx.store, approval_id, approve=True, actor=actor, reason=reason)


def test_a_stale_request_is_refused_when_it_no_longer_beats_todays_champion(ctx, ridges):
    store = ctx.store
    first = promotion.promote(store, "demand", 1, actor="alice", reason="first model")
    _approve(ctx, first.id, "bob")
    stale = promotion.promote(store, "demand", 2, actor="alice", reason="beats v1")
    assert stale.champion_version == 1 and stale.gate_report["passed"]
    newer = promotion.promote(store, "demand", 3, actor="carol", reason="beats v1 more")
    _approve(ctx, newer.id, "bob")
    assert service.resolve(store, "demand", alias="champion").version == 3

    with pytest.raises(GateFailed):  # what a fresh promotion of v2 says now
        promotion.promote(store, "demand", 2, actor="alice")
    with pytest.raises(ApprovalRefused) as refused:
        _approve(ctx, stale.id, "bob", reason="was fine last week")
    message = refused.value.message
    assert "champion changed from v1 to v3 since it was requested" in message
    assert f"{ridges[1]:.6g} vs champion v3 {ridges[2]:.6g}" in message

    assert service.resolve(store, "demand", alias="champion").version == 3
    closed = approvals.get_approval(store, stale.id)
    assert (closed.state, closed.decided_by) == ("refused", "bob")
    event = audit.list_events(store, action="approval.refuse")[0]
    assert (event.actor, event.reason) == ("bob", "was fine last week")
    assert event.after["gate"]["passed"] is False


def test_who_asked_cannot_approve_but_may_withdraw_with_a_reason(ctx, ridges):
    request = promotion.promote(ctx.store, "demand", 1, actor="alice", reason="mine")
    with pytest.raises(Forbidden, match="alice asked for approval request"):
        _approve(ctx, request.id, "alice")
    assert approvals.get_approval(ctx.store, request.id).state == "pending"
    with pytest.raises(InvalidInput, match="needs a reason"):
        approvals.decide(ctx.store, request.id, approve=False, actor="alice", reason="  ")
    withdrawn = approvals.decide(
        ctx.store, request.id, approve=False, actor="alice", reason="wrong data"
    )
    assert (withdrawn.state, withdrawn.decision_reason) == ("rejected", "wrong data")
    event = audit.list_events(ctx.store, action="approval.reject")[0]
    assert (event.actor, event.reason) == ("alice", "wrong data")


def test_the_gate_as_it_is_now_decides(ctx, ridges):
    request = promotion.promote(ctx.store, "demand", 2, actor="alice")
    loopml.set_gate("demand", thresholds={"mae": "<= 40"}, require_approval=True)
    with pytest.raises(ApprovalRefused) as refused:
        _approve(ctx, request.id, "bob")
    assert "changed" not in refused.value.message and "mae <= 40" in refused.value.message


def test_an_old_request_expires_instead_of_being_approved(ctx, ridges):
    request = promotion.promote(ctx.store, "demand", 1, actor="alice")
    with ctx.store.write() as session:  # a request made eight days ago
        session.get(ApprovalRow, request.id).requested_at = utcnow() - timedelta(days=8)
    with pytest.raises(Conflict, match="expired: it was pending for more than 168 hours"):
        loopml.approve(
            request.id, reason="finally"
        )  # the default age: LOOPML_APPROVAL_MAX_AGE_HOURS
    assert approvals.get_approval(ctx.store, request.id).state == "expired"
    event = audit.list_events(ctx.store, action="approval.expire")[0]
    assert event.actor == "tester" and "pending for more than" in event.reason
    with pytest.raises(Conflict, match="already expired"):
        _approve(ctx, request.id, "bob")


def test_expire_stale_closes_every_old_request(ctx, ridges):
    promotion.promote(ctx.store, "demand", 1, actor="alice")
    promotion.promote(ctx.store, "demand", 2, actor="alice")
    assert approvals.expire_stale(ctx.store, actor="loopml", max_age=timedelta(days=1)) == []
    closed = approvals.expire_stale(ctx.store, actor="loopml", max_age=timedelta(0))
    assert [a.state for a in closed] == ["expired", "expired"]
    assert approvals.list_approvals(ctx.store) == []


def test_the_scheduler_expires_requests_older_than_the_configured_age(ctx, ridges):
    old = promotion.promote(ctx.store, "demand", 1, actor="alice")
    fresh = promotion.promote(ctx.store, "demand", 2, actor="alice")
    with ctx.store.write() as session:  # requested eight days ago; the default age is 7 days
        session.get(ApprovalRow, old.id).requested_at = utcnow() - timedelta(days=8)
    Scheduler(ctx).tick()
    assert approvals.get_approval(ctx.store, old.id).state == "expired"
    assert approvals.get_approval(ctx.store, fresh.id).state == "pending"
    (event,) = audit.list_events(ctx.store, action="approval.expire")
    assert event.actor == "scheduler" and "pending for more than 168 hours" in event.reason


def test_an_unchanged_champion_is_judged_on_the_requests_own_evaluation(ctx, ridges):
    _approve(ctx, promotion.promote(ctx.store, "demand", 1, actor="alice").id, "bob")
    # Both measured on the same fresh data: v3 loses there, though its logged MAE is lower.
    evaluation = {"candidate": {"mae": 50.0}, "champion": {"mae": 60.0}}
    request = promotion.promote(ctx.store, "demand", 3, actor="alice", evaluation=evaluation)
    assert request.gate_report["evaluation"] == evaluation
    approved = _approve(ctx, request.id, "bob")
    assert approved.state == "approved"
    assert service.resolve(ctx.store, "demand", alias="champion").version == 3
