"""Many segment champions in one server: a memory budget of loaded versions (least
recently used dropped, loaded again when asked), and alias moves read one by one."""

from __future__ import annotations

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
        _wait(client)
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
    before = dict(source.alias_state(["diabetes"]))
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
        after = source.alias_state(["diabetes"])
        assert {k for k in after if after[k] != before.get(k)} == set(changes)
        expected = float(replacement.predict(row)[0])
        deadline = time.monotonic() + 10
        while not np.isclose(_predict(client, sex, tercile, row), expected):
            assert time.monotonic() < deadline, "the server never served the moved alias"
            time.sleep(0.05)
    context.close()


def create_app(context):
    from loopml.server import create_app as build

    return build(context=context)


def _wait(client) -> None:
    deadline = time.monotonic() + 30
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.05)
