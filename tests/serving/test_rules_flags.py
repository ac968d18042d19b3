"""Rows outside the training data's rules are flagged in the answer, or refused when strict."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

import loopml
from loopml.serving.traffic import Deployment, ServingConfig


def _register():
    train = pd.DataFrame({"price": np.linspace(1, 2, 50), "store": ["a", "b"] * 25})
    model = LinearRegression().fit(train[["price"]], train["price"] * 3)
    rules = loopml.infer_rules(train)
    version = loopml.log_model(model, "demand", input_example=train[["price"]].head(), rules=rules)
    loopml.set_alias("demand", "champion", version.version)


def test_out_of_range_and_unseen_values_are_flagged(ctx, client):
    _register()
    answer = client.post(
        "/v1/models/demand/predict", json={"records": [{"price": 1.5}, {"price": 90.0}]}
    )
    assert answer.status_code == 200, answer.text
    flags = [p.get("flags", []) for p in answer.json()["predictions"]]
    assert flags[0] == [] and flags[1] == ["out_of_range:price"]


def test_strict_models_refuse_them(ctx):
    from fastapi.testclient import TestClient

    from loopml.server import create_app

    _register()
    app = create_app(context=ctx, serving=ServingConfig(models={"demand": Deployment(strict=True)}))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/v1/models/demand/predict", json={"records": [{"price": 90.0}]})
    assert answer.status_code == 422 and "price" in answer.text
