"""Federated vs centralised vs local-only models, and the time per round.

Each scenario splits a training set into organisations with different feature
ranges and label balance; each organisation gets a loopml home of its own, and
the federation runs on NVIDIA FLARE with every participant in its own process.
The anchors, measured in the same run on the same pooled holdout: the same
model fitted on the pooled rows (what the federation tries to match) and on each
organisation's rows alone (what each would have without it).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from benchmarks.report import markdown_table, write_section

ROUNDS = 10
PRIVACY_REPEATS = 3


def generated() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Controlled skew: three organisations by the tercile of one informative feature."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=6000, n_features=10, n_informative=6, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(target=y)
    return _by_order(frame, "x0", 3)


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
    return _by_order(frame, "mean_radius", 3)


def diabetes_by_bmi():
    """scikit-learn's diabetes data, its numeric target: three organisations by terciles of
    body mass index (their mean progression differs by about 90)."""
    from sklearn.datasets import load_diabetes

    return _by_order(load_diabetes(as_frame=True, scaled=False).frame, "bmi", 3, stratify=False)


def _by_order(
    frame: pd.DataFrame, column: str, parts: int, target: str = "target", stratify: bool = True
):
    train, test = train_test_split(
        frame, test_size=0.3, random_state=0, stratify=frame[target] if stratify else None
    )
    ordered = train.sort_values(column, kind="stable")
    shares = np.array_split(np.arange(len(ordered)), parts)
    return train, test, {f"org-{i + 1}": ordered.iloc[s] for i, s in enumerate(shares)}


def _diabetes():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["target"] = (frame["target"] > frame["target"].median()).astype(int)
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    orgs = {f"sex-{int(code)}": group.drop(columns="sex") for code, group in train.groupby("sex")}
    return train.drop(columns="sex"), test.drop(columns="sex"), orgs


# Runs the engine lost and that were repeated, with why: on a loaded machine the simulator
# sometimes loses a participant's connection at the start, and the round waits for it.
REPEATED: list[str] = []


def federate(root: Path, name: str, orgs: dict[str, pd.DataFrame], features: list[str], **options):
    """One federation run; repeated once (in a fresh folder) if the engine failed."""
    from loopml.federated.coordinator import FederationFailed

    try:
        return _federate(root, name, orgs, features, **options)
    except FederationFailed as failed:
        REPEATED.append(f"{name}: {str(failed).split(' (engine log')[0]}")
        return _federate(root.with_name(root.name + "-again"), name, orgs, features, **options)


def _federate(root: Path, name: str, orgs: dict[str, pd.DataFrame], features: list[str], **options):
    import loopml

    loopml.configure(home=root / "coordinator")
    loopml.create_federation(
        name, features, "target", min_participants=len(orgs), rounds=ROUNDS, **options
    )
    invitations = {org: loopml.invite_to_federation(name, org) for org in orgs}
    for org, rows in orgs.items():
        loopml.configure(home=root / org)
        loopml.join_federation(invitations[org], loopml.log_dataset(rows, "rows").ref)
    loopml.configure(home=root / "coordinator")
    began = time.perf_counter()
    result = loopml.run_federation(name)
    wall = time.perf_counter() - began
    return result, wall


def scores(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    return accuracy_score(y, proba >= 0.5), roc_auc_score(y, proba)


class Strategy:
    """How one strategy fits its anchors and reads the federation's global model."""

    def __init__(self, name: str, options: dict, fit, federated) -> None:
        self.name, self.options, self.fit, self.federated = name, options, fit, federated


def _strategies() -> list[Strategy]:
    from loopml.federated import linear, trees

    return [
        Strategy("fedavg (logistic)", {}, linear.pooled_estimator, _linear_model),
        Strategy(
            "newton (logistic)", {"strategy": "newton"}, linear.pooled_estimator, _linear_model
        ),
        Strategy(
            "histogram (XGBoost)",
            {"strategy": "histogram"},
            lambda x, y: trees.pooled_estimator(x, y, ROUNDS),
            lambda result: trees.to_estimator(result.rounds[-1].params["model_data"]),
        ),
        Strategy(
            "bagging (XGBoost)",
            {"strategy": "bagging"},
            lambda x, y: trees.pooled_estimator(x, y, ROUNDS),
            lambda result: trees.to_estimator(result.rounds[-1].params["model_data"]),
        ),
    ]


def _anchor_rows(train, test, orgs, stratify: bool = True):
    """The features, the pooled holdout, and each organisation's own training split (the rest
    is its local holdout, split as the participant splits it): the centralised and local-only
    anchors train on exactly those rows."""
    from loopml.federated.local import split

    features = [c for c in train.columns if c != "target"]
    x_test, y_test = test[features].to_numpy(float), test["target"].to_numpy()
    own = [
        split(r[features].to_numpy(float), r["target"].to_numpy(float), 0.25, stratify)
        for r in orgs.values()
    ]
    return features, x_test, y_test, own


def _pooled(fit, own):
    return fit(np.concatenate([o.x_train for o in own]), np.concatenate([o.y_train for o in own]))


def _linear_model(result):
    from loopml.federated import linear

    return linear.to_estimator(result.rounds[-1].params["theta"], [0, 1])


def scenario(root: Path, name: str, train, test, orgs, strategy: Strategy) -> list[object]:
    features, x_test, y_test, own = _anchor_rows(train, test, orgs)
    pooled = _pooled(strategy.fit, own)
    folder = f"{name}-{strategy.options.get('strategy', 'fedavg')}"
    result, wall = federate(root / folder, name, orgs, features, **strategy.options)
    engine = _engine_folder(root, folder, name)
    federated = strategy.federated(result)
    fed = scores(federated.predict_proba(x_test)[:, 1], y_test)
    central = scores(pooled.predict_proba(x_test)[:, 1], y_test)
    locals_ = [
        scores(strategy.fit(o.x_train, o.y_train).predict_proba(x_test)[:, 1], y_test) for o in own
    ]
    accuracy, auc = zip(*locals_, strict=True)
    per_round = _per_round(engine)
    return [
        name,
        strategy.name,
        f"{len(orgs)} ({', '.join(str(len(r)) for r in orgs.values())} rows)",
        f"{fed[0]:.4f} / {fed[1]:.4f}",
        f"{central[0]:.4f} / {central[1]:.4f}",
        f"{fed[0] - central[0]:+.4f} / {fed[1] - central[1]:+.4f}",
        f"{min(accuracy):.4f} … {max(accuracy):.4f} / {min(auc):.4f} … {max(auc):.4f}",
        f"{_trees(federated)} / {_trees(pooled)}" if hasattr(pooled, "get_booster") else "—",
        "one task" if per_round is None else f"{per_round:.2f} s",
        f"{wall:.0f} s",
    ]


def regression_row(root: Path, name: str, train, test, orgs, strategy: str) -> list[object]:
    """Federated ridge regression with ``strategy`` against the pooled and local-only ridges."""
    from loopml import metrics
    from loopml.federated import linear

    def fit(x, y):
        return linear.pooled_estimator(x, y, linear.RIDGE)

    def quality(model) -> tuple[float, float]:
        found = metrics.regression(y_test, model.predict(x_test), ("rmse", "r2"))
        return found["rmse"], found["r2"]

    features, x_test, y_test, own = _anchor_rows(train, test, orgs, stratify=False)
    folder = f"{name}-{strategy}"
    result, wall = federate(
        root / folder, name, orgs, features, strategy=strategy, model_family=linear.RIDGE
    )
    fed = quality(linear.to_estimator(result.rounds[-1].params["theta"], None))
    central = quality(_pooled(fit, own))
    rmse, r2 = zip(*(quality(fit(o.x_train, o.y_train)) for o in own), strict=True)
    per_round = _per_round(_engine_folder(root, folder, name))
    return [
        name,
        f"{strategy} (ridge)",
        f"{len(orgs)} ({', '.join(str(len(r)) for r in orgs.values())} rows)",
        f"{fed[0]:.2f} / {fed[1]:.4f}",
        f"{central[0]:.2f} / {central[1]:.4f}",
        f"{fed[0] / central[0] - 1:+.2%} / {fed[1] - central[1]:+.4f}",
        f"{min(rmse):.2f} … {max(rmse):.2f} / {min(r2):.4f} … {max(r2):.4f}",
        f"{per_round:.2f} s",
        f"{wall:.0f} s",
    ]


def _trees(model) -> int:
    return len(model.get_booster().get_dump())


def _engine_folder(root: Path, folder: str, name: str) -> Path:
    """Where the run that succeeded (the first, or its repetition) left the engine's journal."""
    for home in (root / f"{folder}-again", root / folder):
        engine = home / "coordinator" / "federations" / name / "engine"
        if (engine / "journal.jsonl").exists():
            return engine
    raise FileNotFoundError(f"no journal of {name} under {root}")


def _per_round(engine: Path) -> float | None:
    """Seconds between consecutive rounds' ends; None when the engine ran one task (histogram)."""
    from loopml.federated.engine import read_journal

    journal = read_journal(engine / "journal.jsonl")
    ends = [line["time"] for line in journal if line["kind"] == "round"]
    return (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else None


def secure_rows(root: Path, train, test, orgs) -> list[list[object]]:
    """newton on breast cancer in the clear and with secure aggregation (CKKS: its three
    arrays encrypted), one after the other; the sealed global model read as a participant
    reads it, with its own key."""
    from loopml.federated import linear, local, secure

    features, x_test, y_test, own = _anchor_rows(train, test, orgs)
    pooled = _pooled(linear.pooled_estimator, own)
    central = scores(pooled.predict_proba(x_test)[:, 1], y_test)
    found = {}
    for label, sealed in (("plain", False), ("secure (CKKS)", True)):
        name = "sealed" if sealed else "clear"
        result, wall = federate(
            root / name, name, orgs, features, strategy="newton", secure_aggregation=sealed
        )
        theta = result.rounds[-1].params["theta"]
        if sealed:  # only a participant can read it: the first organisation, with its key
            home = _home_that_ran(root / name, next(iter(orgs)))
            theta = secure.decrypt(theta["ckks"], local.folder(home, name) / secure.PARTICIPANT_KEY)
        model = linear.to_estimator(theta, [0, 1])
        engine = _engine_folder(root, name, name)
        found[label] = (scores(model.predict_proba(x_test)[:, 1], y_test), _per_round(engine), wall)
    plain = found["plain"][0]
    return [
        [
            label,
            f"{fed[0]:.4f} / {fed[1]:.4f}",
            f"{central[0]:.4f} / {central[1]:.4f}",
            f"{fed[0] - plain[0]:+.4f} / {fed[1] - plain[1]:+.4f}",
            f"{per_round:.2f} s",
            f"{wall:.0f} s",
        ]
        for label, (fed, per_round, wall) in found.items()
    ]


def _home_that_ran(root: Path, org: str) -> Path:
    """``org``'s home in the run that succeeded (the first, or its repetition)."""
    again = root.with_name(root.name + "-again") / org
    return again if again.exists() else root / org


def privacy_row(root: Path, epsilon: float, train, test, orgs) -> list[object]:
    """Breast cancer with the engine's differential privacy at one budget, a few times over
    (the noise differs every run)."""
    import loopml

    features = [c for c in train.columns if c != "target"]
    options = {"epsilon": epsilon, "release_epsilon": epsilon, "clip": 1e-4, "fraction": 0.3}
    found, spent = [], set()
    for repeat in range(PRIVACY_REPEATS):
        name = f"dp-{epsilon:g}-{repeat}"
        result, _ = federate(root / name, name, orgs, features, privacy=options)
        model = loopml.load_model(f"models:/{name}/{result.version}")
        found.append(scores(model.predict_proba(test[features])[:, 1], test["target"].to_numpy()))
        spent.add(float(loopml.get_run(result.run_id).tags["loopml.privacy.epsilon"]))
    accuracy, auc = (np.array(column) for column in zip(*found, strict=True))
    return [
        f"{2 * epsilon:g}",
        ", ".join(f"{e:g}" for e in sorted(spent)),
        f"{accuracy.mean():.4f} ({accuracy.min():.4f} … {accuracy.max():.4f})",
        f"{auc.mean():.4f} ({auc.min():.4f} … {auc.max():.4f})",
    ]


def main() -> None:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rows = []
        for name, build in (
            ("generated", generated),
            ("breast-cancer", breast_cancer),
            ("diabetes-by-sex", _diabetes),
        ):
            data = build()
            rows += [scenario(root, name, *data, strategy) for strategy in _strategies()]
        regression = [
            regression_row(root, "diabetes-by-bmi", *diabetes_by_bmi(), strategy)
            for strategy in ("newton", "fedavg")
        ]
        sealed = secure_rows(root, *breast_cancer())
        private = [privacy_row(root, epsilon, *breast_cancer()) for epsilon in (1.0, 10.0, 50.0)]
    load = f"1-minute load {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    body = (
        "## Federated learning\n\n"
        f"NVIDIA FLARE 2.9 (simulator on loopback, each participant a process with its own "
        f"loopml store), {ROUNDS} training rounds. *fedavg*: logistic regression, weighted FedAvg "
        "of every organisation's coefficients after 40 local gradient steps, after one round of "
        "feature moments. *newton*: logistic regression, weighted FedAvg of every organisation's "
        "coefficients and the gradient and Hessian of its objective there, so that each round "
        "takes one Newton step on the pooled objective (the Hessian discloses more than "
        "coefficients). *histogram*: XGBoost trees (depth 3, learning rate "
        f"0.6) grown by all organisations together over XGBoost's collective from their summed "
        f"gradient histograms, {ROUNDS} boosting rounds in one engine task, so no time per round "
        "of its own; its centralised anchor is the same XGBoost on the pooled rows. *bagging*: "
        "XGBoost trees, NVFLARE's tree-based bagging (each round every organisation adds one "
        "depth-3 tree grown from the global forest, learning rate 0.6 shared out, so it ends "
        "with one tree per organisation and round); its centralised anchor is XGBoost with as "
        f"many boosting rounds ({ROUNDS}) on the pooled rows. Anchors in the same run: the same model "
        "fitted on the pooled training rows, the union of what the organisations trained on "
        "(75% of each; the rest is its local holdout) (centralised), and on each organisation's "
        "training rows alone (local-only); all scored on one pooled holdout (30%, stratified). *generated*: "
        "`make_classification`, 6,000 rows, split by terciles of `x0`; *breast-cancer*: "
        "scikit-learn's data split by terciles of mean radius (label balance 0.97 / 0.80 / "
        "0.11); *diabetes-by-sex*: scikit-learn's diabetes data (progression above the median), "
        "split by the categorical column `sex`. Targets: newton within 0.01 of centralised "
        "accuracy (fedavg shown beside it), trees within 0.01 of centralised AUC with as many "
        "trees, every local-only model below the "
        f"federated one. Measured under a {load} (two cores shared with other work: the "
        "times are upper bounds). Engine runs that failed and were repeated: "
        f"{'; '.join(REPEATED) or 'none'}.\n\n"
        + markdown_table(
            [
                "data",
                "strategy",
                "organisations",
                "federated acc / AUC",
                "centralised acc / AUC",
                "federated − centralised (acc / AUC)",
                "local-only acc / AUC (worst … best)",
                "trees (federated / centralised)",
                "time per round",
                "whole run (engine start included)",
            ],
            rows,
        )
        + "\n\nRegression (ridge: squared error and the same L2 penalty per row, "
        '`model_family="ridge_regression"`; the target standardised with its pooled mean and '
        "variance from the first round, like the features). *diabetes-by-bmi*: scikit-learn's "
        "diabetes data, its numeric target (disease progression), split by terciles of `bmi`; "
        "the pooled holdout 30%, random. *newton*: one Newton step from the pooled gradient and "
        "Hessian reaches the pooled optimum (squared error is quadratic); *fedavg*: 40 local "
        "gradient steps per round (step one over the largest eigenvalue of the participant's "
        "own curvature) from the global coefficients. Anchors in the same run as above: "
        "scikit-learn's `Ridge` (alpha = 1e-3 per row, on standardised features) on the pooled "
        "training rows and on each organisation's alone. Targets: newton's RMSE within 1% of "
        "the centralised one, every local-only model above the federated one:\n\n"
        + markdown_table(
            [
                "data",
                "strategy",
                "organisations",
                "federated RMSE / R²",
                "centralised RMSE / R²",
                "federated vs centralised (RMSE / R²)",
                "local-only RMSE / R² (lowest … highest)",
                "time per round",
                "whole run (engine start included)",
            ],
            regression,
        )
        + "\n\nSecure aggregation (newton on breast-cancer, the same organisations, "
        "`secure_aggregation=True`: NVFLARE's HE filters encrypt every reply's three arrays "
        "with CKKS at the participant, the coordinator adds ciphertexts it cannot decrypt, each "
        "participant "
        "decrypts the sum; the sealed model read here with the first organisation's key). Both "
        "runs one after the other in this run, against the same centralised anchor:\n\n"
        + markdown_table(
            [
                "aggregation",
                "federated acc / AUC",
                "centralised acc / AUC",
                "secure − plain (acc / AUC)",
                "time per round",
                "whole run (engine start included)",
            ],
            sealed,
        )
        + "\n\nDifferential privacy (fedavg on breast-cancer, NVFLARE's SVT filter at every "
        "participant: 30% of each update's entries, clipped to 1e-4 per row, Laplace noise; "
        "epsilon split equally between selection and release; participants send their "
        "coefficients' change, after 40 local gradient steps). The budget is what the "
        "filter's accountant recorded with the version (pure DP, summed over rounds; the first "
        "round's feature moments are not covered); "
        f"{PRIVACY_REPEATS} runs each, as the noise differs every run. At about 130 rows an "
        "organisation, noise that buys a meaningful epsilon costs much of the accuracy "
        "(without privacy: the fedavg breast-cancer row above):\n\n"
        + markdown_table(
            [
                "epsilon per round",
                "epsilon recorded (per participant)",
                "federated acc, mean (min … max)",
                "federated AUC, mean (min … max)",
            ],
            private,
        )
    )
    write_section("federated", body)
    print(body)


if __name__ == "__main__":
    main()
