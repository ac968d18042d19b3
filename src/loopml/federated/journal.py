"""The controller's journal read back: rounds with each participant's numbers, or why it failed,
and whether running the engine once more is safe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopml.federated.controller import REJECTED, ROUND_FAILED, quorum_lost


@dataclass(frozen=True)
class Round:
    number: int
    sites: tuple[str, ...]  # whose updates the average holds
    metrics: dict[str, dict[str, float]]  # participant -> its metrics for this round
    params: dict[str, np.ndarray | str | dict] = field(repr=False)  # arrays, a forest, {"ckks"}


def rounds(journal: list[dict[str, Any]]) -> list[Round]:
    replies: dict[int, dict[str, dict[str, float]]] = {}
    found = []
    for line in journal:
        if line["kind"] == "reply" and line["accepted"]:
            replies.setdefault(line["round"], {})[line["site"]] = dict(line["metrics"] or {})
        elif line["kind"] == "round":
            params = {
                # a forest's JSON or a ciphertext as they are; arrays as arrays
                key: value if isinstance(value, str | dict) else np.asarray(value)
                for key, value in line["params"].items()
            }
            found.append(
                Round(line["round"], tuple(line["sites"]), replies.get(line["round"], {}), params)
            )
    return found


def failure(
    journal: list[dict[str, Any]],
    returncode: int,
    *,
    members: list[str],
    num_rounds: int,
    min_participants: int,
) -> str | None:
    """Why the run did not finish every round, in words; None when it did."""
    done = rounds(journal)
    if returncode == 0 and len(done) == num_rounds:
        return None
    failed = next((line["reason"] for line in journal if line["kind"] == ROUND_FAILED), None)
    if failed:
        return failed
    number = len(done)
    answered = sorted(
        {line["site"] for line in journal if line["kind"] == "reply" and line["round"] == number}
    )
    missing = sorted(set(members) - set(answered))
    if len(answered) >= min_participants:
        return (
            f"the engine stopped in round {number} although {len(answered)} update(s) arrived "
            f"({', '.join(answered)}); {', '.join(missing) or 'no participant'} failed while "
            "sending its update"
        )
    errors = {
        line["site"]: line["code"]
        for line in journal
        if line["kind"] == REJECTED and line["round"] == number
    }
    return quorum_lost(number, answered, members, min_participants, errors)


def may_start_again(journal: list[dict[str, Any]]) -> bool:
    """Whether a failed run may be started once more: only if no round finished, so nothing
    was averaged and no privacy budget spent (the first round of linear models sends feature
    moments, trees carry no noise); starting again after a round finished would count its
    updates twice."""
    return not any(line["kind"] == "round" for line in journal)
