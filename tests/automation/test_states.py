"""The closed loop's action states: every arrow of the state machine, and every missing one."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import select

from loopml.automation import actions
from loopml.automation.states import (
    ACTIVE,
    FINAL,
    TRANSITIONS,
    ActionState,
    IllegalTransition,
    check_transition,
)
from loopml.pipeline.policy import PolicySpec
from loopml.store.tables.audit import AuditEventRow
from loopml.store.tables.automation import PolicyActionRow

S = ActionState
LEGAL = [(a, b) for a, moves in TRANSITIONS.items() for b in sorted(moves)]
ILLEGAL = [
    (a, b) for a, b in itertools.product(ActionState, ActionState) if b not in TRANSITIONS[a]
]
# How an action reaches each state from the start, by legal moves only.
PATHS = {
    S.RETRAINING: [],
    S.AWAITING_APPROVAL: [S.AWAITING_APPROVAL],
    S.WATCHING: [S.WATCHING],
    S.PROMOTED: [S.WATCHING, S.PROMOTED],
    S.ROLLED_BACK: [S.WATCHING, S.ROLLED_BACK],
    S.REJECTED: [S.AWAITING_APPROVAL, S.REJECTED],
    S.FAILED: [S.FAILED],
    S.KEPT_CHAMPION: [S.KEPT_CHAMPION],
}


def test_the_machine_is_the_one_drawn_in_the_docs():
    assert len(LEGAL) == 8 and len(ILLEGAL) == 56
    assert set(ACTIVE) == {S.RETRAINING, S.AWAITING_APPROVAL, S.WATCHING}
    assert set(FINAL) == set(ActionState) - set(ACTIVE)
    every_state_reachable = {b for _, b in LEGAL} | {S.RETRAINING}
    assert every_state_reachable == set(ActionState)


def test_the_database_index_holds_exactly_the_active_states():
    index = next(
        i for i in PolicyActionRow.__table__.indexes if i.name == "uq_policy_actions_in_flight"
    )
    where = str(index.dialect_options["sqlite"]["where"])
    assert set(re.findall(r"'(\w+)'", where)) == {s.value for s in ACTIVE}


@pytest.mark.parametrize(("before", "after"), LEGAL)
def test_each_legal_move_is_stored_and_audited(store, before, after):
    action = _action_in(store, before)
    moved = actions.advance(store, action.id, after, actor="tester", reason="a test")
    assert moved.state is after
    assert (moved.finished_at is not None) == (after in FINAL)
    with store.read() as session:
        events = session.scalars(select(AuditEventRow.action).order_by(AuditEventRow.id)).all()
    assert events[-1] == f"policy.{after.value}"


@pytest.mark.parametrize(("before", "after"), ILLEGAL)
def test_each_illegal_move_raises(before, after):
    with pytest.raises(IllegalTransition, match=f"cannot move from {before} to {after}"):
        check_transition(before, after)


@pytest.mark.parametrize(
    ("before", "after"), [next(m for m in ILLEGAL if m[0] is state) for state in ActionState]
)
def test_a_stored_action_refuses_an_illegal_move_and_keeps_its_state(store, before, after):
    action = _action_in(store, before)
    with pytest.raises(IllegalTransition, match=f"cannot move from {before} to {after}"):
        actions.advance(store, action.id, after, actor="tester")
    [unchanged] = actions.list_actions(store, model="demand")
    assert unchanged.state is before and unchanged.updated_at == action.updated_at


def test_an_unknown_state_is_refused_with_the_known_ones():
    with pytest.raises(IllegalTransition, match="not a policy action state") as error:
        check_transition("retraining", "deployed")
    assert "kept_champion" in error.value.hint and error.value.status_code == 409


def _action_in(store, state: ActionState) -> actions.PolicyAction:
    spec = PolicySpec(name="p", model="demand", triggers=[{"when": "schedule", "every": "1d"}])
    action = actions.begin(store, spec, "", "schedule", actor="tester")
    for step in PATHS[state]:
        action = actions.advance(store, action.id, step, actor="tester")
    return action
