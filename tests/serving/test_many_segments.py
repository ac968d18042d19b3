"""Many segment champions in one server: a memory budget of loaded versions (least
recently used dropped, loaded again when asked), and alias moves read one by one."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from tests.serving.conftest import serving_context

import loopml
from loopml.registry import service
from loopml.serving.pool import LOCK_STRIPES
from loopml.serving.source import RegistrySource

FEATURES = ["bmi", "bp", "s5"]


@pytest.fixture
def terciles(ctx):
    """One ridge per sex × age tercile of scikit-learn's diabetes data (6 champions)."""
    data = load_diabetes(as_frame=True).frame
    data["sex"] = (data["sex"] > 0).astype(int)
    data["tercile"] = pd.qcut(data["age"], 3, labels=False)
    models = {}
    for (sex, tercile), rows in data.groupby(["sex", "tercile"]):
        model = Ridge().fit(rows[FEATURES], rows["target"])
        segment = {"sex": int(sex), "tercile": int(tercile)}
        version = loopml.log_model(
            model, "diabetes", input_example=rows[FEATURES].head(3), segment=segment
        )
        loopml.set_alias("diabetes", "champion", version.version, segment=segment)
        models[(int(sex), int(tercile))] = (model, rows[FEATURES].iloc[[0]])
    return models


def _predict(client, sex, tercile, row):
    record = {"sex": sex, "tercile": tercile, **row.iloc[0].to_dict()}
    answer = client.post("/v1/models/diabetes/predict", json={"records": [record]})
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"][0]["prediction"]


def _metric(text: str, name: str) -> float:
    return float(next(line for line in text.splitlines() if line.startswith(name)).split()[-1])


def test_a_server_keeps_at_most_its_budget_loaded_and_answers_every_segment(ctx, terciles):
    context = serving_context(ctx, scheduler=False, serving_max_models=2)
    with TestClient(create_app(context)) as client:
        _wait_preloaded(client)
        assert _metric(client.get("/metrics").text, "loopml_models_loaded") == 2
        for _round in range(2):  # the second round reloads what the first dropped
            for (sex, tercile), (model, row) in terciles.items():
                expected = float(model.predict(row)[0])
                assert _predict(client, sex, tercile, row) == pytest.approx(expected)
        text = client.get("/metrics").text
        assert _metric(text, "loopml_models_loaded") == 2
        assert _metric(text, "loopml_model_evictions_total") >= 2 * len(terciles) - 2
        assert _metric(text, "loopml_server_resident_bytes") > 50 * 2**20
        served = [line for line in text.splitlines() if line.startswith("loopml_served_version{")]
        assert len(served) == 2  # /metrics names what is loaded, not every segment
    context.close()


def test_an_alias_move_of_one_segment_is_read_alone_and_served(ctx, terciles):
    (sex, tercile), (model, row) = next(iter(terciles.items()))
    source = RegistrySource(ctx.store, ctx.artifacts)
    before = dict(source.aliases())
    counter = service.alias_state(ctx.store)
    replacement = Ridge(alpha=50.0).fit(row.assign(bmi=row["bmi"] + 1), [1.0])
    segment = {"sex": sex, "tercile": tercile}
    version = loopml.log_model(replacement, "diabetes", input_example=row, segment=segment)
    context = serving_context(ctx, scheduler=False)
    with TestClient(create_app(context)) as client:
        _wait(client)
        assert _predict(client, sex, tercile, row) == pytest.approx(float(model.predict(row)[0]))
        loopml.set_alias("diabetes", "champion", version.version, segment=segment)
        _, changes = service.alias_changes(ctx.store, counter, ["diabetes"])
        assert list(changes) == [("diabetes", f"sex={sex},tercile={tercile}", "champion")]
        assert source.alias_moves() == changes
        after = source.aliases()
        assert {k for k in after if after[k] != before.get(k)} == set(changes)
        expected = float(replacement.predict(row)[0])
        deadline = time.monotonic() + 10
        while not np.isclose(_predict(client, sex, tercile, row), expected):
            assert time.monotonic() < deadline, "the server never served the moved alias"
            time.sleep(0.05)
    context.close()


def test_readiness_waits_for_one_model_not_for_the_rest(ctx, terciles, tmp_path):
    """The second champion's artifact is a pipe nobody writes yet: preloading stalls on it,
    and yet the server is ready, answers the first segment and loads a third on demand."""
    keys = sorted(source_keys(ctx))
    blocked, cold = keys[1], next(k for k in keys[2:] if _stripe(k) != _stripe(keys[1]))
    version = service.resolve(ctx.store, "diabetes", alias="champion", segment=blocked[1])
    path = ctx.artifacts.local_path(version.artifact_digest)
    content = path.read_bytes()
    path.unlink()
    os.mkfifo(path)
    context = serving_context(ctx, scheduler=False)
    try:
        with TestClient(create_app(context)) as client:
            ready = _wait(client)
            assert ready["models_loaded"] == 1 and ready["models_preloading"] is True
            for key in (keys[0], cold):
                sex, tercile = (int(v.split("=")[1]) for v in key[1].split(","))
                model, row = terciles[(sex, tercile)]
                assert _predict(client, sex, tercile, row) == pytest.approx(model.predict(row)[0])
            assert client.get("/readyz").json()["models_loaded"] == 2
            with open(path, "wb") as pipe:  # the stalled load fails (a pipe cannot seek)
                pipe.write(content)
            answer = _wait_preloaded(client)  # and preloading goes on past it
            assert answer["models_loaded"] == len(terciles) - 1
            assert answer["status"] == "degraded"
            assert [f"[{blocked[1]}]" in label for label in answer["unavailable"]] == [True]
            engine = client.app.state.serving
            assert engine.ready_after < engine.preloaded_after
    finally:
        if path.is_fifo():
            path.unlink()
            path.write_bytes(content)
    context.close()


def test_an_alias_move_reloads_only_its_segment(ctx, terciles):
    (sex, tercile), (_model, row) = next(iter(terciles.items()))
    segment = {"sex": sex, "tercile": tercile}
    replacement = Ridge(alpha=50.0).fit(row.assign(bmi=row["bmi"] + 1), [1.0])
    version = loopml.log_model(replacement, "diabetes", input_example=row, segment=segment)
    context = serving_context(ctx, scheduler=False)
    with TestClient(create_app(context)) as client:
        _wait_preloaded(client)
        engine = client.app.state.serving
        before = dict(engine.pool.items())
        assert len(before) == len(terciles)
        loopml.set_alias("diabetes", "champion", version.version, segment=segment)
        expected = float(replacement.predict(row)[0])
        deadline = time.monotonic() + 10
        while not np.isclose(_predict(client, sex, tercile, row), expected):
            assert time.monotonic() < deadline, "the server never served the moved alias"
            time.sleep(0.05)
        after = dict(engine.pool.items())
        moved = ("diabetes", f"sex={sex},tercile={tercile}", "champion")
        assert after[moved] is not before[moved]
        assert all(after[key] is served for key, served in before.items() if key != moved)
        text = client.get("/metrics").text
        swaps = 'loopml_model_swaps_total{alias="champion",model="diabetes"}'
        assert _metric(text, swaps) == len(terciles) + 1  # the preload's six, then one
        assert _metric(text, "loopml_model_evictions_total") == 0
    context.close()


def source_keys(ctx) -> list[tuple[str, str, str]]:
    return list(RegistrySource(ctx.store, ctx.artifacts).aliases())


def _stripe(key) -> int:
    return hash(key) % LOCK_STRIPES


def create_app(context):
    from loopml.server import create_app as build

    return build(context=context)


def _wait(client) -> dict:
    deadline = time.monotonic() + 30
    while (answer := client.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.05)
    return answer.json()


def _wait_preloaded(client) -> dict:
    """Ready, and done loading the budget in the background."""
    deadline = time.monotonic() + 30
    while (answer := _wait(client))["models_preloading"]:
        assert time.monotonic() < deadline, "the server never finished preloading"
        time.sleep(0.05)
    return answer
