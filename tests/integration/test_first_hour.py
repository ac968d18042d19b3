"""The first hour on a user's own table, as a user lives it: the installed ``loopml``
command on scikit-learn's diabetes data (442 patients, one model per sex), through
``init --data``, ``run`` and ``serve`` (a real server process on loopback), then
predictions and feedback over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.servers import serving

from loopml.registry import service as registry

LOOPML = str(Path(sys.executable).parent / "loopml")
SEGMENTS = ("sex=female", "sex=male")


@pytest.fixture
def diabetes_csv(tmp_path) -> Path:
    """The table as an R user exports it: a row-names column, the sex as text."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"})
    frame.insert(0, "rownames", range(1, len(frame) + 1))
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def loopml(*args: str, env, cwd) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [LOOPML, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def server(process_env, tmp_path):
    with serving(process_env, tmp_path) as base:
        yield base


def test_own_table_to_served_predictions_and_feedback(
    ctx, process_env, tmp_path, diabetes_csv, request
):
    init = loopml(
        "init",
        "--data",
        diabetes_csv.name,
        "--target",
        "target",
        "--segment-by",
        "sex",
        env=process_env,
        cwd=tmp_path,
    )
    assert "regression of 'target' from 9 feature(s), 2 segment(s)" in init.stdout
    assert "Left out 'rownames'" in init.stdout

    run = loopml("run", env=process_env, cwd=tmp_path)
    assert "2 trained" in run.stdout and "2 promoted" in run.stdout

    champions = {
        s: registry.resolve(ctx.store, "diabetes", alias="champion", segment=s) for s in SEGMENTS
    }
    assert {v.segment_key for v in champions.values()} == set(SEGMENTS)
    for version in champions.values():
        assert "rownames" not in version.signature.names
        assert 0.1 < version.metrics["r2"] < 0.8  # ridge explains part of the variance, honestly

    base = request.getfixturevalue("server")
    frame = pd.read_csv(diabetes_csv)
    rows = frame.drop(columns=["rownames", "target"]).to_dict(orient="records")
    response = httpx.post(f"{base}/v1/models/diabetes/predict", json={"records": rows}, timeout=120)
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert len(answers) == len(frame)
    by_segment = {s: [] for s in SEGMENTS}
    for row, answer in zip(frame.itertuples(), answers, strict=True):
        expected = champions[f"sex={row.sex}"]
        assert (answer["segment"], answer["version"], answer["role"]) == (
            expected.segment_key,
            expected.version,
            "champion",
        )
        by_segment[answer["segment"]].append((answer["prediction"], row.target))
    for segment, pairs in by_segment.items():
        predicted, actual = np.array(pairs).T
        mae = np.abs(predicted - actual).mean()
        # on all of its rows (mostly training rows) no worse than on the held-out test rows
        assert mae < 1.3 * champions[segment].metrics["mae"], (segment, mae)
        assert np.corrcoef(predicted, actual)[0, 1] > 0.5  # it tracks the disease progression
        assert abs(predicted.mean() - actual.mean()) < 0.1 * actual.mean()  # and is not biased

    feedback = [
        {"prediction_id": a["prediction_id"], "label": float(y)}
        for a, y in zip(answers[:50], frame["target"][:50], strict=True)
    ]
    response = httpx.post(f"{base}/v1/feedback", json={"feedback": feedback}, timeout=60)
    assert response.status_code == 202, response.text  # stored, joined to predictions later
    assert response.json()["accepted"] == 50
