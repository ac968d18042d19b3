"""``python -m loopml.demo``: a short tracking session on the embedded store.

It trains a small demand model for a few learning rates, tracks each run, then
shows what the store knows: the best run by MAE and its metric history. It runs
against ``LOOPML_HOME`` (default ``~/.loopml``), so the CLI can look at the same
runs afterwards.
"""

from __future__ import annotations

import numpy as np

import loopml
from loopml.cli.output import console, table

EXPERIMENT = "demo-demand"


def _demand(rng: np.random.Generator, days: int = 365) -> tuple[np.ndarray, np.ndarray]:
    day = np.arange(days)
    features = np.column_stack(
        [
            day / days,
            np.sin(2 * np.pi * day / 7),
            np.cos(2 * np.pi * day / 7),
            rng.random(days) < 0.1,
        ]
    )
    demand = (
        40 + 12 * features[:, 0] + 6 * features[:, 1] + 15 * features[:, 3] + rng.normal(0, 2, days)
    )
    return features, demand


def _train(features, demand, learning_rate: float, epochs: int = 200) -> None:
    """Plain gradient descent, so each epoch's loss is a metric point."""
    weights = np.zeros(features.shape[1] + 1)
    design = np.column_stack([np.ones(len(features)), features])
    for epoch in range(epochs):
        error = design @ weights - demand
        weights -= learning_rate * design.T @ error / len(demand)
        loopml.log_metric("train_mse", float(np.mean(error**2)), step=epoch)
    loopml.log_metric("mae", float(np.mean(np.abs(design @ weights - demand))))


def main() -> None:
    rng = np.random.default_rng(7)
    features, demand = _demand(rng)
    console.rule("[bold]loopml demo: tracking")
    for learning_rate in (0.01, 0.05, 0.2, 0.5):
        with loopml.start_run(experiment=EXPERIMENT, name=f"gd-lr{learning_rate}") as run:
            loopml.log_params({"learning_rate": learning_rate, "epochs": 200, "model": "linear"})
            _train(features, demand, learning_rate)
        console.print(f"tracked run {run.id[:12]}  learning_rate={learning_rate}")

    runs = loopml.search_runs(EXPERIMENT, order_by=["metrics.mae asc"], max_results=4)
    console.print(
        table(
            "Runs of this demo, best first",
            ["run", "learning rate", "MAE"],
            runs[["run_id", "params.learning_rate", "metrics.mae"]].itertuples(index=False),
        )
    )
    best = runs.iloc[0]
    history = loopml.get_metric_history(best["run_id"], "train_mse")
    console.print(
        f"Best run {best['run_id'][:12]}: MAE {best['metrics.mae']:.2f}; "
        f"training MSE went from {history[0].value:.1f} to {history[-1].value:.2f} "
        f"over {len(history)} epochs."
    )
    console.print("\nLook further with:")
    console.print("  .venv/bin/loopml experiments list")
    console.print(f"  .venv/bin/loopml runs list -e {EXPERIMENT} -o 'metrics.mae asc'")
    console.print(f"  .venv/bin/loopml runs show {best['run_id']}")


if __name__ == "__main__":
    main()
