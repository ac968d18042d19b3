"""The module-level federation API: ``loopml.create_federation``, ``loopml.join_federation`` …

Each function acts on the store of the current context: the coordinator's for
create, invite, run and the gate; a participant's for join, evaluate, approve.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loopml._context import get_context
from loopml.federated import coordinator, gate, participant, secure, service
from loopml.federated import privacy as dp
from loopml.federated.entities import Federation


def create_federation(
    name: str,
    features: Sequence[str | dict[str, str]],
    target: str,
    *,
    strategy: str = "fedavg",
    model_family: str | None = None,
    min_participants: int = 2,
    rounds: int = 10,
    mu: float = 0.1,
    classes: Sequence[Any] = (0, 1),
    holdout: float = 0.25,
    model: str | None = None,
    learning_rate: float | None = None,
    max_depth: int | None = None,
    privacy: dict[str, float] | None = None,
    segment_by: Sequence[str] | None = None,
    round_timeout: int = service.ROUND_TIMEOUT,
    secure_aggregation: bool = False,
) -> Federation:
    """A federation training one model on ``features`` to predict ``target``.

    ``strategy`` is ``"fedavg"`` or ``"fedprox"`` (logistic regression through its
    coefficients: participants run gradient steps on their own rows, the coordinator
    averages the coefficients), ``"newton"`` (logistic regression by federated Newton
    steps: participants also send the gradient and Hessian of their objective, which
    reveals more of their feature correlations, and the model reaches the pooled one; at
    least 2 rounds, no privacy), ``"histogram"`` (XGBoost trees grown together over XGBoost's
    collective from every participant's gradient histograms: the pooled model's trees,
    ``rounds`` of them; every member must take part) or ``"bagging"`` (XGBoost trees:
    every round each participant adds trees grown on its own rows). ``learning_rate``
    and ``max_depth`` are the trees'. ``model_family`` of the linear strategies is
    ``"logistic_regression"`` (the default: a target of two ``classes``) or
    ``"ridge_regression"`` (a numeric target, squared error; registered as a scikit-learn
    ``Ridge``); the tree strategies train ``"boosted_trees"``.
    ``features`` are column names (numbers) or ``{"name", "type"}`` dicts; ``mu`` is
    FedProx's proximal weight (used with ``strategy="fedprox"``); ``model`` names the
    registered model (the federation's name by default). ``privacy`` turns on the
    engine's differential privacy for linear models: ``{"epsilon", "release_epsilon",
    "clip", "fraction"}``, each optional (see ``loopml.federated.privacy``).
    ``segment_by`` names columns every participant has: one global model is trained
    and registered for each of their segments (all participants must hold the same).
    ``round_timeout`` is how many seconds each round waits for the participants' updates;
    a round that has fewer than ``min_participants`` by then fails the federation, naming
    the participants that did not answer.
    ``secure_aggregation`` (linear models) has the participants encrypt their updates
    (CKKS): the coordinator adds ciphertexts and never holds a key to read them, nor
    the global model, which only the participants decrypt (see
    ``loopml.federated.secure``). Its invitations then carry the participants' key.
    """
    if not 0 < holdout < 1:
        from loopml.errors import InvalidInput

        raise InvalidInput(f"holdout must be a share between 0 and 1, not {holdout!r}.")
    context = get_context()
    columns = [f if isinstance(f, dict) else {"name": f, "type": "float"} for f in features]
    options = {
        "mu": mu,
        "classes": list(classes) if model_family != "ridge_regression" else None,
        "holdout": holdout,
        "model": model or name,
        "learning_rate": learning_rate,
        "max_depth": max_depth,
        "privacy": dp.settings(privacy, strategy),
        "segment_by": _columns(segment_by),
        "round_timeout": _seconds(round_timeout),
        "secure_aggregation": secure.check(secure_aggregation, strategy, privacy),
    }
    federation = service.create(
        context.store,
        name,
        features=columns,
        target=target,
        strategy=strategy,
        model_family=model_family,
        min_participants=min_participants,
        rounds=rounds,
        options=options,
        actor=context.settings.actor,
    )
    if secure_aggregation:
        secure.provision(coordinator.exchange_folder(name))
    return federation


def invite_to_federation(name: str, member: str) -> Path:
    """Invite ``member``; returns the invitation file to hand it (no data in it; with secure
    aggregation the participants' key, so it is written owner-only)."""
    context = get_context()
    folder = coordinator.exchange_folder(name)
    sealed = get_federation(name).options.get("secure_aggregation")
    key = secure.for_invitation(folder) if sealed else None  # refused before anything is recorded
    invitation = service.invite(context.store, name, member, actor=context.settings.actor)
    path = folder / f"{member}.invitation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if key:
        invitation[secure.INVITATION_FIELD] = key
    participant.write(path, invitation, private=bool(key))
    return path


def join_federation(invitation: str | Path, dataset: str) -> Federation:
    """At a participant: join with dataset ``name@version`` of this store (refused if it does not fit)."""
    return participant.join(invitation, dataset)


def run_federation(name: str) -> coordinator.Result:
    """Admit the acceptances, run every round on the engine, register the global model."""
    return coordinator.run(name)


def get_federation(name: str) -> Federation:
    return service.get(get_context().store, name)


def list_federations() -> list[Federation]:
    return service.list_all(get_context().store)


def evaluate_federated_model(name: str) -> dict[str, Any]:
    """At a participant: the global model and the local champion on the local holdout."""
    return participant.evaluate(name)


def decide_federation_gate(
    name: str, *, metric: str | None = None, margin: float = 0.01
) -> dict[str, Any]:
    """At the coordinator: pass only if no participant's metric regresses beyond ``margin``
    (``metric``: accuracy for classifiers, rmse for regressions unless named)."""
    return gate.decide(name, metric=metric, margin=margin)


def federation_decisions(name: str) -> list[dict[str, Any]]:
    """At the coordinator: each participant's approval, audited here as it arrives."""
    return coordinator.record_decisions(name)


def approve_federated_model(name: str, *, alias: str = "champion", reason: str | None = None):
    """At a participant: register the global model here and promote it under ``alias``."""
    return participant.approve(name, alias=alias, reason=reason)


def _columns(names: Sequence[str] | None) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str) or not names or not all(isinstance(n, str) and n for n in names):
        from loopml.errors import InvalidInput

        raise InvalidInput(
            f"segment_by is a list of column names, not {names!r}.",
            hint='Pass segment_by=["region"].',
        )
    return list(names)


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        from loopml.errors import InvalidInput

        raise InvalidInput(
            f"round_timeout is a whole number of seconds, at least 1, not {value!r}.",
            hint=f"Pass round_timeout={service.ROUND_TIMEOUT} (the default) or another count.",
        )
    return value
