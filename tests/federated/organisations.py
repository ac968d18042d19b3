"""Organisations for federation tests (a helper module, imported by name): each a loopml home of its own with its own store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import loopml
from loopml.config import Settings


@dataclass
class Organisations:
    root: Path
    coordinator: Settings
    participants: dict[str, Settings] = field(default_factory=dict)

    def at(self, name: str | None = None):
        """Point the fluent API at the coordinator (no name) or at participant ``name``."""
        return loopml.configure(self.participants[name] if name else self.coordinator)


def organisations(root: Path, names: list[str]) -> Organisations:
    def settings(name: str) -> Settings:
        home = root / name
        return Settings(home=home, store_url=f"sqlite:///{home}/loopml.db", actor=f"{name}-admin")

    return Organisations(root, settings("coordinator"), {n: settings(n) for n in names})


def breast_cancer() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """scikit-learn's breast cancer data: a stratified pooled holdout, and the training rows
    sorted by mean radius so that consecutive shares differ in feature range and label balance."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    frame = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    features = [c for c in frame.columns if c != "target"]
    return train.sort_values("mean_radius", kind="stable"), test, features


def diabetes() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """scikit-learn's diabetes data (a numeric target): a pooled holdout, and the training rows
    sorted by body mass index so that consecutive shares differ in feature range and target level."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    frame = load_diabetes(as_frame=True, scaled=False).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0)
    features = [c for c in frame.columns if c != "target"]
    return train.sort_values("bmi", kind="stable"), test, features


# A large budget, which buys little privacy, so that a private model still tells people apart
# (at 100 to 300 rows a participant, one that means much costs most of the accuracy:
# benchmarks/federated.py measures how much).
PRIVATE = {"epsilon": 50.0, "release_epsilon": 50.0, "clip": 1e-4, "fraction": 0.3}


def shares(frame: pd.DataFrame, names: list[str]) -> dict[str, pd.DataFrame]:
    parts = np.array_split(np.arange(len(frame)), len(names))
    return {name: frame.iloc[part] for name, part in zip(names, parts, strict=True)}


def training_rows(data: dict[str, pd.DataFrame], features, target: str = "target"):
    """Each member's training rows as (x, y): its share less the quarter it keeps as its
    local holdout, exactly what it trains on."""
    from loopml.federated.local import split

    own = [
        split(f[features].to_numpy(float), f[target].to_numpy(float), 0.25) for f in data.values()
    ]
    return [(o.x_train, o.y_train) for o in own]


def objective(vector, rows) -> float:
    """The pooled objective (what the pooled model minimises: log loss and the L2 penalty)
    on the members' training ``rows`` at a federated vector."""
    from loopml.federated import linear

    parts = linear.split(vector)
    count = sum(len(y) for _, y in rows)
    loss = sum(linear.log_loss(parts, x, y) * len(y) for x, y in rows) / count
    return loss + linear.ALPHA / 2 * float(parts.coef @ parts.coef)


def pooled_optimum(rows) -> float:
    """``objective`` at the pooled model's coefficients (scikit-learn on the pooled rows)."""
    from loopml.federated import linear

    x, y = np.vstack([x for x, _ in rows]), np.concatenate([y for _, y in rows])
    scaler, model = linear.pooled_estimator(x, y)
    moments = [scaler.mean_, scaler.mean_**2 + scaler.scale_**2]
    return objective(np.concatenate([*moments, model.coef_[0], model.intercept_]), rows)


def pooled_gap(vector, rows) -> float:
    """How far above the pooled optimum a federated vector ends on the training ``rows``."""
    return objective(vector, rows) - pooled_optimum(rows)


def federate(
    orgs: Organisations, name: str, data: dict[str, pd.DataFrame], features, target, **options
) -> None:
    """Create ``name`` at the coordinator; every participant logs its share and joins."""
    orgs.at()
    loopml.create_federation(name, features, target, **options)
    invitations = {member: loopml.invite_to_federation(name, member) for member in data}
    for member, frame in data.items():
        orgs.at(member)
        version = loopml.log_dataset(frame, f"{member}-records")
        loopml.join_federation(invitations[member], version.ref)
    orgs.at()


def pooled_training_rows(
    data: dict[str, pd.DataFrame], features, target, holdout: float = 0.25, stratify: bool = True
):
    """The union of what the participants train on (each keeps ``holdout`` of its rows back,
    ``stratify``: by class, as a classifier's participants do): the rows a pooled anchor must
    see to be compared fairly."""
    from loopml.federated.local import split

    own = [
        split(f[features].to_numpy(float), f[target].to_numpy(float), holdout, stratify)
        for f in data.values()
    ]
    return np.concatenate([o.x_train for o in own]), np.concatenate([o.y_train for o in own])


def breast_cancer_forest(root: Path, names: list[str], **options) -> dict:
    """Breast cancer clinics (``shares`` of ``breast_cancer``) train one federation "forest"
    of trees with ``options``; what the tests read: organisations, result, rows."""
    train, test, features = breast_cancer()
    orgs = organisations(root, names)
    data = shares(train, names)
    federate(orgs, "forest", data, features, "target", **options)
    result = loopml.run_federation("forest")
    return {
        "orgs": orgs,
        "result": result,
        "train": train,
        "test": test,
        "data": data,
        "features": features,
    }


def holdout_auc(model, trained: dict) -> float:
    """``model``'s AUC on the pooled holdout of ``breast_cancer_forest``."""
    from sklearn.metrics import roc_auc_score

    test = trained["test"]
    return roc_auc_score(test["target"], model.predict_proba(test[trained["features"]])[:, 1])
