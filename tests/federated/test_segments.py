"""Per-segment federations: one global model for each segment every participant holds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from organisations import federate, organisations
from sklearn.datasets import load_diabetes
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

import loopml
from loopml.federated import linear
from loopml.federated.coordinator import FederationFailed
from loopml.federated.local import split

CLINICS = ["clinic-a", "clinic-b", "clinic-c"]


def _diabetes():
    """Real data: scikit-learn's diabetes, a binary target, and the clinics
    split by age (so they differ in feature ranges and label balance), each with both sexes."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["high"] = (frame["target"] > frame["target"].median()).astype(int)
    features = [c for c in frame.columns if c not in ("target", "high", "sex")]
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["high"])
    train = train.sort_values("age", kind="stable")
    return dict(zip(CLINICS, _thirds(train), strict=True)), test, features


def _thirds(frame):
    size = len(frame) // 3
    return [frame.iloc[:size], frame.iloc[size : 2 * size], frame.iloc[2 * size :]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data, test, features = _diabetes()
    orgs = organisations(tmp_path_factory.mktemp("segments"), CLINICS)
    federate(orgs, "diabetes", data, features, "high", rounds=4, segment_by=["sex"])
    result = loopml.run_federation("diabetes")
    return {"orgs": orgs, "result": result, "data": data, "test": test, "features": features}


def test_each_segment_has_its_own_global_version_near_its_pooled_model(trained):
    trained["orgs"].at()
    result, test, features = trained["result"], trained["test"], trained["features"]
    assert sorted(result.versions) == ["sex=1.0", "sex=2.0"]
    for key, number in result.versions.items():
        version = loopml.get_model_version("diabetes", number)
        assert version.segment_key == key
        sex = float(key.split("=")[1])
        rows = test[test["sex"] == sex]
        model = loopml.load_model(f"models:/diabetes/{number}")
        federated = log_loss(rows["high"], model.predict_proba(rows[features])[:, 1])
        # The anchors: the same model on the rows the clinics trained on, pooled or alone.
        own = [
            _training_rows(frame[frame["sex"] == sex], features)
            for frame in trained["data"].values()
        ]
        pooled = linear.pooled_estimator(
            np.vstack([x for x, _ in own]), np.concatenate([y for _, y in own])
        )
        assert federated - _loss(pooled, rows, features) < 0.05, key
        assert all(
            _loss(linear.pooled_estimator(x, y), rows, features) > federated for x, y in own
        ), key


def _training_rows(frame, features):
    data = split(frame[features].to_numpy(float), frame["high"].to_numpy(float), 0.25)
    return data.x_train, data.y_train


def _loss(model, rows, features) -> float:
    return log_loss(rows["high"], model.predict_proba(rows[features].to_numpy())[:, 1])


def test_the_lineage_names_every_segments_rounds_and_the_participants_segments(trained):
    trained["orgs"].at()
    result = trained["result"]
    lineage = json.loads(loopml.load_artifact(result.run_id, "federation/lineage.json"))
    assert sorted(lineage["segments"]) == ["sex=1.0", "sex=2.0"]
    for key, entry in lineage["segments"].items():
        assert entry["version"] == result.versions[key] and len(entry["rounds"]) == 5
        assert loopml.get_run(entry["rounds"][0]).tags["loopml.segment"] == key
    for member in CLINICS:
        assert lineage["participants"][member]["segments"] == ["sex=1.0", "sex=2.0"]


def test_participants_with_different_segments_are_refused_before_training(tmp_path):
    data, _, features = _diabetes()
    data["clinic-c"] = data["clinic-c"][data["clinic-c"]["sex"] == 1.0]
    orgs = organisations(tmp_path, CLINICS)
    federate(orgs, "diabetes", data, features, "high", rounds=2, segment_by=["sex"])
    with pytest.raises(FederationFailed, match=r"segments differ: clinic-c lacks sex=2\.0"):
        loopml.run_federation("diabetes")
    assert not (orgs.coordinator.home_path / "federations" / "diabetes" / "engine").exists()
    with pytest.raises(loopml.NotFound):
        loopml.list_model_versions("diabetes")


def test_a_participant_without_the_segment_column_cannot_join(tmp_path):
    data, _, features = _diabetes()
    data = {"clinic-a": data["clinic-a"].drop(columns=["sex"])}
    orgs = organisations(tmp_path, ["clinic-a"])
    with pytest.raises(loopml.InvalidInput, match="has no segment column sex"):
        federate(orgs, "diabetes", data, features, "high", segment_by=["sex"])
