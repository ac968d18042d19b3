"""A participant's side of the rounds: the script the engine runs in the participant's process.

It opens the participant's own store, loads and checks its own data (one
segment's rows in a per-segment federation), and then answers each round with
one array (for ``strategy="newton"`` three: the global vector after the round's Newton
step, and the gradient and Hessian of its own objective there; for trees, the round's
new trees, or with shared histograms the forest grown with the others over XGBoost's
collective), a row count and a few metrics — the only things that leave the participant
(``reply`` and ``reply_trees`` build exactly that; with privacy on, the engine's filter
noises the coefficients' change on its way, and with secure aggregation its filters
encrypt the arrays and decrypt the global ones).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import numpy as np

from loopml.federated import linear, secure, trees

MOMENTS_ROUND = 0


def reply(
    vector: Any, data, round_number: int, mu: float, pooled=None, newton: bool = False
) -> tuple[dict, dict, int]:
    """(params, metrics, rows) for one round: arrays, numbers and a count, nothing else.

    After the moments: the vector after local gradient descent (FedProx's ``mu`` keeping it
    near the global one), alone; or, with ``newton``, the global vector after the Newton
    step from the ``pooled`` gradient and Hessian (none in the first round), and this
    participant's own gradient and Hessian there."""
    vector = np.asarray(vector, dtype=float)
    rows = len(data.y_train)
    if round_number == MOMENTS_ROUND:
        moments = linear.with_moments(vector, data.x_train, data.y_train)
        return {"theta": moments}, {"train_rows": rows}, rows
    received = linear.split(vector)
    if newton:
        updated = vector if pooled is None else linear.newton_step(vector, *pooled)
        gradient, hessian = linear.curvature(updated, data.x_train, data.y_train)
        params = {"theta": updated, "gradient": gradient, "hessian": hessian}
        local_loss = linear.local_loss(linear.split(updated), data.x_train, data.y_train)
    else:
        updated, local_loss = linear.train(vector, data.x_train, data.y_train, mu)
        params = {"theta": updated}
    metrics = {
        "local_loss": local_loss,
        **_holdout_metrics(received, data),
        "train_rows": rows,
        "holdout_rows": len(data.y_holdout),
    }
    return params, metrics, rows


def _holdout_metrics(received, data) -> dict[str, float]:
    """The global model of this round on this participant's holdout."""
    if received.regression:  # loopml's regression metrics, in the target's units
        from loopml import metrics

        predicted = linear.predict(received, data.x_holdout)
        found = metrics.regression(data.y_holdout, predicted, metrics.DEFAULT_METRICS["regression"])
        return {f"holdout_{name}": value for name, value in found.items()}
    predicted = linear.predict_proba(received, data.x_holdout) >= 0.5
    return {
        "holdout_log_loss": linear.log_loss(received, data.x_holdout, data.y_holdout),
        "holdout_accuracy": float(np.mean(predicted == data.y_holdout)),
    }


def reply_trees(
    forest: bytes | None, data, participants: int, options: dict
) -> tuple[dict, dict, int]:
    """(params, metrics, rows) for one round of bagged trees: this participant's new trees."""
    added = trees.grow(forest, data.x_train, data.y_train, trees.params(options, participants))
    return {"model_data": added}, _forest_metrics(forest, data), len(data.y_train)


def reply_histogram(data, rounds: int, options: dict, collective: dict) -> tuple[dict, dict, int]:
    """(params, metrics, rows) for the one task of shared histograms: the forest grown with the
    other participants, and its metrics on this participant's holdout."""
    forest = trees.grow_together(
        data.x_train, data.y_train, trees.params(options), rounds, collective
    )
    return {"model_data": forest}, _forest_metrics(forest, data), len(data.y_train)


def _forest_metrics(forest: bytes | None, data) -> dict[str, float]:
    from sklearn.metrics import log_loss, roc_auc_score

    scores = trees.predict_proba(forest, data.x_holdout)
    metrics = {
        "holdout_log_loss": float(log_loss(data.y_holdout, scores, labels=[0, 1])),
        "holdout_accuracy": float(np.mean((scores >= 0.5) == data.y_holdout)),
        "train_rows": len(data.y_train),
        "holdout_rows": len(data.y_holdout),
    }
    if len(set(data.y_holdout.tolist())) == 2:  # AUC needs both classes in the holdout
        metrics["holdout_auc"] = float(roc_auc_score(data.y_holdout, scores))
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", required=True)
    parser.add_argument("--federation", required=True)
    parser.add_argument("--member", required=True)
    parser.add_argument("--participants", type=int, default=1)
    parser.add_argument("--segment", default="", help="Train on this segment's rows only.")
    parser.add_argument("--tracker", default="", help="host:port of XGBoost's collective.")
    args = parser.parse_args(argv)

    import nvflare.client as flare

    federation, data = _local_data(args)
    status = _status_writer(args)
    state: dict[str, Any] = {}
    if args.tracker:
        state["collective"] = trees.collective(args.tracker, args.member)
    flare.init()
    while flare.is_running():
        received = flare.receive()
        if received is None:
            break
        status(received.current_round, "training")
        flare.send(answer(federation, data, received, args.participants, state))
        status(received.current_round, "sent")


def answer(federation, data, received, participants: int, state: dict[str, Any]):
    """The reply to one round, as the engine's model: params, their kind, metrics, row count."""
    from nvflare.app_common.abstract.fl_model import FLModel, ParamsType
    from nvflare.app_common.app_constant import AlgorithmConstants

    kind = ParamsType.FULL
    if federation.strategy == "bagging":
        forest = (received.params or {}).get("model_data")
        params, metrics, rows = reply_trees(forest, data, participants, federation.options)
    elif federation.strategy == "histogram":
        params, metrics, rows = reply_histogram(
            data, federation.rounds, federation.options, state["collective"]
        )
    else:
        mu = float((received.meta or {}).get(AlgorithmConstants.FEDPROX_MU) or 0.0)
        params, metrics, rows, kind = _linear_answer(federation, data, received, mu, state)
    return FLModel(
        params=params, params_type=kind, metrics=metrics, meta={"NUM_STEPS_CURRENT_ROUND": rows}
    )


def _linear_answer(federation, data, received, mu: float, state: dict[str, Any]):
    """One linear round: the global arrays decrypted (or the first moments kept, with privacy),
    the reply, and that reply encrypted (or reduced to a change to noise)."""
    from nvflare.app_common.abstract.fl_model import ParamsType

    round_number, kind = received.current_round, ParamsType.FULL
    arrays = {key: np.asarray(value, dtype=float) for key, value in received.params.items()}
    encrypted = bool(federation.options.get("secure_aggregation"))
    if encrypted and round_number > MOMENTS_ROUND:
        # the engine's filter decrypted the weighted sums
        arrays = {key: secure.unpack(value) for key, value in arrays.items()}
    vector = arrays["theta"]
    private = bool(federation.options.get("privacy")) and round_number > MOMENTS_ROUND
    if private:
        # The privacy filter's noise may land on the moments' entries too: everyone keeps
        # the first pooled ones (the coordinator does the same with the global model).
        vector = linear.with_moments_of(vector, state.setdefault("moments", vector))
    pooled = (arrays["gradient"], arrays["hessian"]) if "hessian" in arrays else None
    newton = federation.strategy == "newton"  # privacy is refused for it when created
    params, metrics, rows = reply(vector, data, round_number, mu, pooled, newton=newton)
    if private:  # the engine's filter noises changes, not whole coefficients
        params, kind = {"theta": params["theta"] - vector}, ParamsType.DIFF
    if encrypted:  # the engine's filter weights each array by the row count and encrypts it
        params = {key: secure.pack(value) for key, value in params.items()}
    return params, metrics, rows, kind


def _local_data(args):
    from loopml._context import Context
    from loopml.federated import local, service

    context = Context(local.site_settings(args.home, args.federation))
    federation = service.get(context.store, args.federation)
    member = federation.member(args.member)
    data = local.load(context.store, context.artifacts, federation, member, segment=args.segment)
    context.close()
    return federation, data


def _status_writer(args):
    from loopml.federated.local import folder

    path = folder(args.home, args.federation) / f"{args.member}.status.json"

    def write(round_number: int, state: str) -> None:
        temporary = path.with_suffix(".tmp")
        found = {"pid": os.getpid(), "round": round_number, "state": state}
        temporary.write_text(json.dumps(found), encoding="utf-8")
        os.replace(temporary, path)

    return write


if __name__ == "__main__":
    main()
