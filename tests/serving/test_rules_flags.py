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


def test_serving_flags_exactly_what_the_rules_flag_on_a_real_table(ctx, client):
    """On scikit-learn's wine data: what serving flags is ``Rules.flag_rows`` of the same rows."""
    from sklearn.datasets import load_wine
    from sklearn.ensemble import HistGradientBoostingClassifier

    wine = load_wine(as_frame=True).frame
    features = [c for c in wine.columns if c != "target"][:5]
    train, test = wine.iloc[::2], wine.iloc[1::2].copy()
    test.loc[test.index[:5], "alcohol"] = [5.0, 20.0, 13.0, np.nan, 13.5]  # outside, and a null
    test.loc[test.index[5], "malic_acid"] = 40.0
    rules = loopml.infer_rules(train[features], tolerance=0.0)
    model = HistGradientBoostingClassifier(max_iter=20).fit(train[features], train["target"])
    version = loopml.log_model(model, "wine", input_example=train[features].head(), rules=rules)
    loopml.set_alias("wine", "champion", version.version)
    records = [
        {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for row in test[features].to_dict(orient="records")
    ]
    answer = client.post("/v1/models/wine/predict", json={"records": records})
    assert answer.status_code == 200, answer.text
    served = [p.get("flags", []) for p in answer.json()["predictions"]]
    assert served == rules.flag_rows(test[features])
    assert all("out_of_range:alcohol" in row for row in served[:2])
    assert "out_of_range:alcohol" not in served[3]  # a null is not flagged
    assert "out_of_range:malic_acid" in served[5]
