"""A per-segment drift monitor compares each segment with its own training rows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_wine
from sklearn.linear_model import Ridge

import loopml
from loopml import PredictionLog
from loopml.registry import service as registry

KEY = "cultivar"
TARGET = "alcohol"


@pytest.fixture
def wine(tmp_path):
    """scikit-learn's wine table, one segment per cultivar: 60% to train, 40% as traffic."""
    frame = load_wine(as_frame=True).frame.rename(columns={"target": KEY})
    frame[KEY] = "c" + frame[KEY].astype(str)
    frame.columns = [c.replace("/", "_") for c in frame.columns]
    rng = np.random.default_rng(0)
    held = rng.random(len(frame)) < 0.4
    train, traffic = frame[~held], frame[held]
    features = [c for c in frame.columns if c not in (KEY, TARGET)]
    return tmp_path, train, traffic, features


def _train(folder, train: pd.DataFrame) -> None:
    train.to_csv(folder / "wine.csv", index=False)
    settings = {
        "name": "wine",
        "data": {"path": "wine.csv"},
        "target": TARGET,
        "segment_by": [KEY],
        "task": "regression",
        "model": "ridge",
        "split": {"method": "random", "min_rows": 20},
        "execution": {"max_workers": 1},
    }
    (folder / "loopml.yaml").write_text(yaml.safe_dump(settings))
    result = loopml.Pipeline(folder / "loopml.yaml").run(force=True)
    assert all(o.status in ("trained", "cached") for o in result.segments), result.segments


def _serve(ctx, traffic: pd.DataFrame, features: list[str], when: datetime) -> None:
    """The traffic as clients send it: the segment key among the inputs."""
    with PredictionLog(ctx.settings.resolved_artifact_uri) as log:
        for _, row in traffic.iterrows():
            version = registry.resolve(ctx.store, "wine", alias="champion", segment={KEY: row[KEY]})
            log.append(
                [
                    {
                        "prediction_id": uuid.uuid4().hex,
                        "time": when,
                        "model": "wine",
                        "version": version.version,
                        "segment": version.segment_key,
                        "inputs": {c: row[c] for c in [*features, KEY]},
                        "prediction": 13.0,
                    }
                ]
            )


def _drift(ctx, traffic, features, when) -> dict[str, list[str]]:
    _serve(ctx, traffic, features, when)
    report = loopml.run_monitors(now=when + timedelta(minutes=1), force=True)
    outcomes = report.outcomes["wine-drift"]
    assert {o.status for o in outcomes} <= {"ok", "alert"}, [o.message for o in outcomes]
    for outcome in outcomes:
        compared = [c["name"] for c in outcome.details["columns"]]
        assert sorted(compared) == sorted(features)  # the key is never a drift feature
    return {o.segment: [c["name"] for c in o.details["columns"] if c["drifted"]] for o in outcomes}


def _monitor() -> None:
    loopml.create_monitor(
        name="wine-drift", model="wine", kind="drift", per_segment=True, window="1h"
    )


def test_in_distribution_traffic_of_each_segment_does_not_drift(ctx, wine):
    folder, train, traffic, features = wine
    _train(folder, train)
    _monitor()
    drifted = _drift(ctx, traffic, features, datetime.now(timezone.utc) - timedelta(minutes=5))
    assert set(drifted) == {f"{KEY}=c0", f"{KEY}=c1", f"{KEY}=c2"}
    flagged = sum(len(columns) for columns in drifted.values())
    assert flagged <= 0.1 * 3 * len(features), drifted  # about 5% by chance, at p < 0.05


def test_a_shift_in_one_segment_is_flagged_there_only(ctx, wine):
    folder, train, traffic, features = wine
    _train(folder, train)
    _monitor()
    shifted = ["malic_acid", "ash", "magnesium", "flavanoids", "hue", "proline"]
    moved = traffic.copy()
    mask = moved[KEY] == "c1"
    for column in shifted:  # two of the segment's own standard deviations
        moved.loc[mask, column] += 2 * train.loc[train[KEY] == "c1", column].std()
    drifted = _drift(ctx, moved, features, datetime.now(timezone.utc) - timedelta(minutes=5))
    assert set(shifted) <= set(drifted[f"{KEY}=c1"])
    assert len(drifted[f"{KEY}=c0"]) + len(drifted[f"{KEY}=c2"]) <= 2, drifted


def test_a_retrained_segment_is_compared_with_its_new_rows(ctx, wine):
    folder, train, traffic, features = wine
    _train(folder, train)
    _monitor()
    before = registry.resolve(ctx.store, "wine", alias="champion", segment={KEY: "c1"})
    moved_train, moved_traffic = train.copy(), traffic.copy()
    for frame in (moved_train, moved_traffic):  # the segment's world moved, and was relearned
        mask = frame[KEY] == "c1"
        frame.loc[mask, "proline"] += 300.0
        frame.loc[mask, "color_intensity"] += 3.0
    now = datetime.now(timezone.utc)
    moved = {"proline", "color_intensity"}
    assert moved <= set(_drift(ctx, moved_traffic, features, now - timedelta(hours=3))[f"{KEY}=c1"])
    _train(folder, moved_train)
    after = registry.resolve(ctx.store, "wine", alias="champion", segment={KEY: "c1"})
    assert after.version != before.version and after.reference_digest != before.reference_digest
    drifted = _drift(ctx, moved_traffic, features, now - timedelta(minutes=5))
    assert not moved & set(drifted[f"{KEY}=c1"]), drifted


def test_an_explicit_reference_never_compares_the_segment_key(ctx, wine):
    _, train, traffic, features = wine
    digest = loopml.save_reference(loopml.make_reference(train))  # the key is a column of it
    for cultivar, rows in train.groupby(KEY):
        model = Ridge().fit(rows[features], rows[TARGET])
        version = loopml.log_model(
            model, "wine", input_example=rows[features].head(), segment={KEY: cultivar}
        )
        loopml.set_alias("wine", "champion", version.version, segment={KEY: cultivar})
    loopml.create_monitor(
        name="wine-drift",
        model="wine",
        kind="drift",
        per_segment=True,
        window="1h",
        reference=digest,
        columns=[*features, KEY],
    )
    _drift(ctx, traffic, features, datetime.now(timezone.utc) - timedelta(minutes=5))
