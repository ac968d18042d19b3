"""The states of a policy action and the only moves between them.

::

    retraining ──► awaiting_approval ──► watching ──► promoted
        │                 │                  │
        │                 └──► rejected      └──► rolled_back
        ├──► watching
        ├──► kept_champion   (the challenger was not better, or failed the gate)
        └──► failed          (the retrain broke, or never finished)

An action in flight (``ACTIVE``) holds its segment: no second action starts
there until it reaches a final state. ``check_transition`` is called on every
change of state, so a move not drawn above raises instead of being stored.
"""

from __future__ import annotations

from enum import StrEnum

from loopml.errors import Conflict


class ActionState(StrEnum):
    RETRAINING = "retraining"
    AWAITING_APPROVAL = "awaiting_approval"
    WATCHING = "watching"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    REJECTED = "rejected"
    FAILED = "failed"
    KEPT_CHAMPION = "kept_champion"


S = ActionState
TRANSITIONS: dict[ActionState, frozenset[ActionState]] = {
    S.RETRAINING: frozenset({S.AWAITING_APPROVAL, S.WATCHING, S.KEPT_CHAMPION, S.FAILED}),
    S.AWAITING_APPROVAL: frozenset({S.WATCHING, S.REJECTED}),
    S.WATCHING: frozenset({S.PROMOTED, S.ROLLED_BACK}),
    S.PROMOTED: frozenset(),
    S.ROLLED_BACK: frozenset(),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
    S.KEPT_CHAMPION: frozenset(),
}
INITIAL = S.RETRAINING
ACTIVE = tuple(state for state, moves in TRANSITIONS.items() if moves)
FINAL = tuple(state for state, moves in TRANSITIONS.items() if not moves)


class IllegalTransition(Conflict):
    """A policy action was asked to move where its state machine has no arrow."""


def check_transition(current: str, new: str) -> ActionState:
    """``new`` as an ``ActionState`` if an action in ``current`` may move there; else raise."""
    try:
        before, after = ActionState(current), ActionState(new)
    except ValueError:
        raise IllegalTransition(
            f"{new!r} or {current!r} is not a policy action state.",
            hint=f"States: {', '.join(ActionState)}.",
        ) from None
    if after not in TRANSITIONS[before]:
        allowed = ", ".join(sorted(TRANSITIONS[before])) or "none: it is final"
        raise IllegalTransition(
            f"A policy action cannot move from {before} to {after}.",
            hint=f"From {before} it may move to: {allowed}.",
        )
    return after
