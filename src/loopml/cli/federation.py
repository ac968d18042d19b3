"""``loopml federation``: organisations train one model together, each keeping its data."""

from __future__ import annotations

from pathlib import Path

import typer

from loopml.cli.output import console, table
from loopml.federated import fluent, service

app = typer.Typer(help="Federations: train one model across organisations.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The federation's name."),
    features: str = typer.Option(..., "--features", help="Feature columns, comma-separated."),
    target: str = typer.Option(
        ..., "--target", help="The target column: two classes, or numbers for ridge_regression."
    ),
    strategy: str = typer.Option(
        "fedavg",
        "--strategy",
        help="fedavg, fedprox, newton (linear models), histogram or bagging (XGBoost).",
    ),
    model_family: str = typer.Option(
        None,
        "--model-family",
        help="logistic_regression (default) or ridge_regression for the linear strategies.",
    ),
    min_participants: int = typer.Option(2, "--min-participants", help="Updates a round needs."),
    rounds: int = typer.Option(10, "--rounds", help="Training rounds."),
    mu: float = typer.Option(0.1, "--mu", help="FedProx's proximal weight."),
    model: str = typer.Option(None, "--model", help="Registered model name (default: NAME)."),
    learning_rate: float = typer.Option(None, "--learning-rate", help="Trees' learning rate."),
    max_depth: int = typer.Option(None, "--max-depth", help="Trees' depth."),
    privacy: str = typer.Option(
        None, "--privacy", help="Differential privacy: epsilon=1,release_epsilon=1,clip=,fraction="
    ),
    segment_by: str = typer.Option(None, "--segment-by", help="One model per segment of these."),
    round_timeout: int = typer.Option(
        service.ROUND_TIMEOUT,
        "--round-timeout",
        help="Seconds each round waits for the participants' updates.",
    ),
    secure_aggregation: bool = typer.Option(
        False,
        "--secure-aggregation",
        help="Participants encrypt their updates (CKKS); this store adds what it cannot read.",
    ),
) -> None:
    """Create a federation at its coordinator (this store)."""
    found = fluent.create_federation(
        name,
        _names(features),
        target,
        strategy=strategy,
        model_family=model_family,
        mu=mu,
        model=model,
        min_participants=min_participants,
        rounds=rounds,
        learning_rate=learning_rate,
        max_depth=max_depth,
        privacy=_privacy(privacy) if privacy is not None else None,
        segment_by=_names(segment_by) if segment_by is not None else None,
        round_timeout=round_timeout,
        secure_aggregation=secure_aggregation,
    )
    console.print(
        f"Federation {found.name}: {found.strategy} ({found.model_family}), "
        f"{len(found.features)} features, "
        f"target {found.target}, {found.min_participants} per round, {found.rounds} rounds"
    )


@app.command("invite")
def invite(
    name: str = typer.Argument(..., help="The federation."),
    member: str = typer.Argument(..., help="The organisation invited."),
) -> None:
    """Invite an organisation; prints the invitation file to hand it."""
    path = fluent.invite_to_federation(name, member)
    console.print(f"Invited {member}; its invitation: {path}")


@app.command("join")
def join(
    invitation: Path = typer.Argument(..., help="The invitation file."),
    dataset: str = typer.Option(..., "--dataset", help="This store's dataset, NAME@VERSION."),
) -> None:
    """Join a federation with a dataset of this store (refused if it does not fit)."""
    found = fluent.join_federation(invitation, dataset)
    console.print(f"Joined {found.name} as {found.members[0].name} with {found.members[0].dataset}")


@app.command("run")
def run(name: str = typer.Argument(..., help="The federation.")) -> None:
    """Run every round on the engine and register the global model."""
    with console.status(f"Training federation {name} …"):
        result = fluent.run_federation(name)
    last = result.rounds[-1]
    shown = "rmse" if service.task(result.federation.model_family) == "regression" else "accuracy"
    rows = [
        (m, f"{v.get('holdout_' + shown, float('nan')):.4f}", int(v.get("train_rows", 0)))
        for m, v in sorted(last.metrics.items())
    ]
    console.print(table(f"Round {last.number}", ["participant", f"holdout {shown}", "rows"], rows))
    if result.version is None:  # secure aggregation: the global model is a ciphertext here
        console.print(
            f"Trained {result.model} encrypted (run {result.run_id}): its participants "
            "decrypt it with loopml federation evaluate and register it on approve"
        )
    else:
        console.print(f"Registered {result.model} version {result.version} (run {result.run_id})")


@app.command("status")
def status(name: str = typer.Argument(None, help="A federation; all when omitted.")) -> None:
    """A federation's state and its members (fingerprints, never data)."""
    if name is None:
        rows = [
            (f.name, f.role, f.strategy, f.state, len(f.joined)) for f in fluent.list_federations()
        ]
        console.print(table("Federations", ["name", "role", "strategy", "state", "members"], rows))
        return
    found = fluent.get_federation(name)
    console.print(
        f"[bold]{found.name}[/] ({found.role}) {found.strategy}: {found.state}"
        + (f" — {found.reason}" if found.reason else "")
    )
    rows = [
        (
            m.name,
            m.state,
            (m.fingerprint or {}).get("num_rows"),
            ((m.fingerprint or {}).get("digest") or "")[:12],
            m.reason or "",
        )
        for m in found.members
    ]
    console.print(table("Members", ["member", "state", "rows", "digest", "reason"], rows))
    if found.role == "coordinator":
        decisions = [
            (d["member"], d["alias"], d["local_version"], d["actor"])
            for d in fluent.federation_decisions(name)
        ]
        if decisions:
            console.print(table("Approvals", ["member", "alias", "its version", "by"], decisions))


@app.command("evaluate")
def evaluate(name: str = typer.Argument(..., help="The federation.")) -> None:
    """At a participant: the global model and the local champion on the local holdout."""
    report = fluent.evaluate_federated_model(name)
    champion = report["champion"] or {}
    rows = [
        (key, f"{value:.4f}", f"{champion[key]:.4f}" if key in champion else "—")
        for key, value in report["candidate"].items()
    ]
    console.print(
        table(
            f"{report['member']}: {report['holdout_rows']} holdout rows",
            ["metric", "global model", "champion"],
            rows,
        )
    )


@app.command("gate")
def gate(
    name: str = typer.Argument(..., help="The federation."),
    metric: str = typer.Option(
        None, "--metric", help="The metric compared (accuracy, or rmse for a regression)."
    ),
    margin: float = typer.Option(0.01, "--margin", help="Largest regression allowed."),
) -> None:
    """At the coordinator: pass only if no participant regresses beyond the margin."""
    report = fluent.decide_federation_gate(name, metric=metric, margin=margin)
    console.print(
        "[green]passed[/]" if report["passed"] else f"[red]not passed[/]: {report['reason']}"
    )


@app.command("approve")
def approve(
    name: str = typer.Argument(..., help="The federation."),
    alias: str = typer.Option("champion", "--alias", help="This registry's alias to move."),
    reason: str = typer.Option(None, "--reason", help="Why, for the audit trail."),
) -> None:
    """At a participant: register the global model here and promote it under the alias."""
    moved = fluent.approve_federated_model(name, alias=alias, reason=reason)
    console.print(f"{moved.name}@{moved.alias} → version {getattr(moved, 'to_version', None)}")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _privacy(text: str) -> dict[str, float]:
    from loopml.errors import InvalidInput
    from loopml.registry.segments import parse_segment

    try:  # the same key=value,key=value form as a segment
        return {key: float(value) for key, value in parse_segment(text).items()}
    except ValueError:
        raise InvalidInput(
            f"--privacy {text!r} is not key=number pairs.",
            hint="Write it like epsilon=1,clip=0.0001.",
        ) from None
