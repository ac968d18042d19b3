"""Predictions over REST in every payload format, with ids, versions and one error shape."""

import pandas as pd
import pytest
from tests.api.test_errors import assert_error_shape
from tests.serving.models import FEATURES, churn_rows


def test_predict_answers_each_row_with_id_and_version(client, churn):
    model, version = churn[0]
    rows = churn_rows(5, seed=1)[FEATURES]
    body = {"records": rows.to_dict(orient="records")}
    answer = client.post("/v1/models/churn/predict", json=body).json()
    expected = model.predict(rows).tolist()
    assert [p["prediction"] for p in answer["predictions"]] == expected
    assert [round(p["proba"], 6) for p in answer["predictions"]] == [
        round(p, 6) for p in model.predict_proba(rows)[:, 1]
    ]
    assert {p["version"] for p in answer["predictions"]} == {version.version}
    assert {p["role"] for p in answer["predictions"]} == {"champion"}
    assert len({p["prediction_id"] for p in answer["predictions"]}) == 5

    split = {"columns": FEATURES, "data": rows.values.tolist()}
    again = client.post("/v1/models/churn/predict", json=split).json()
    assert [p["prediction"] for p in again["predictions"]] == expected


@pytest.mark.parametrize(
    "body",
    [
        lambda r: {"dataframe_split": {"columns": FEATURES, "data": r.values.tolist()}},
        lambda r: {"dataframe_records": r.to_dict(orient="records")},
        lambda r: {"inputs": r.values.tolist()},
        lambda r: {"inputs": r.to_dict(orient="list")},
    ],
)
def test_mlflow_invocations(client, churn, body):
    model, _ = churn[0]
    rows = churn_rows(4, seed=2)[FEATURES].astype(float)
    answer = client.post("/v1/models/churn/invocations", json=body(rows)).json()
    assert answer["predictions"] == model.predict(rows).tolist()
    assert len(answer["prediction_ids"]) == 4


def test_open_inference_protocol(client, churn):
    model, version = churn[0]
    rows = churn_rows(3, seed=3)[FEATURES].astype(float)
    inputs = [
        {"name": name, "shape": [3], "datatype": "FP64", "data": rows[name].tolist()}
        for name in FEATURES
    ]
    answer = client.post("/v2/models/churn/infer", json={"id": "r1", "inputs": inputs}).json()
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["predict"]["data"] == model.predict(rows).tolist()
    assert answer["id"] == "r1" and answer["model_version"] == str(version.version)
    metadata = client.get("/v2/models/churn").json()
    assert [i["name"] for i in metadata["inputs"]] == FEATURES
    assert client.get("/v2/models/churn/ready").json()["ready"] is True
    assert client.get("/v2/health/ready").status_code == 200
    assert_error_shape(client.get("/v2/models/nope/ready"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/models/nope/predict", {"records": [{"tenure": 1}]}, 404, None),
        ("/v1/models/churn/predict", {"records": [{"tenure": 1}]}, 422, "body.records"),
        (
            "/v1/models/churn/predict",
            {"records": [{"tenure": 1, "monthly": "abc"}]},
            422,
            "body.records.0.monthly",
        ),
        ("/v1/models/churn/predict", {"rows": []}, 422, "body."),
        (
            "/v1/models/churn/predict",
            {"records": [{"tenure": [1], "monthly": 2}]},
            422,
            "body.records.0.tenure",
        ),
        ("/v1/models/churn/invocations", {"instances": 3}, 422, "body.instances"),
        ("/v1/models/churn/predict", {"records": [{"tenure": None, "monthly": 2}]}, 422, None),
        ("/v2/models/churn/infer", {"inputs": [{"name": "tenure"}]}, 422, "body.inputs.0.datatype"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(client, churn, path, body, status, field):
    error = assert_error_shape(client.post(path, json=body), status)
    if field:
        assert error["fields"][0]["field"].startswith(field), error
    assert error["hint"]


def test_unknown_model_names_the_model(client, churn):
    error = assert_error_shape(
        client.post("/v1/models/nope/predict", json={"records": [{"a": 1}]}), 404
    )
    assert "'nope'" in error["message"]


def test_malformed_json_is_400(client, churn):
    response = client.post(
        "/v1/models/churn/predict",
        content=b'{"records": [',
        headers={"Content-Type": "application/json"},
    )
    assert_error_shape(response, 400, "malformed_json")


def test_metrics_per_model_and_version(client, churn):
    rows = churn_rows(3)[FEATURES]
    client.post("/v1/models/churn/predict", json={"records": rows.to_dict(orient="records")})
    client.post("/v1/models/churn/predict", json={"records": [{"tenure": 1}]})
    text = client.get("/metrics").text
    version = churn[0][1].version
    assert f'loopml_prediction_requests_total{{model="churn",version="{version}"}} 1.0' in text
    assert (
        f'loopml_predictions_total{{model="churn",role="champion",version="{version}"}} 3.0' in text
    )
    assert (
        'loopml_prediction_errors_total{model="churn",type="InvalidInput",version=""} 1.0' in text
    )
    assert "loopml_prediction_seconds_bucket" in text


def test_segments_are_routed_per_row(client, demand):
    rows = [{"store": 2, "price": 3.0}, {"store": 1, "price": 3.0}, {"store": 2, "price": 1.0}]
    answer = client.post("/v1/models/demand/predict", json={"records": rows}).json()
    predictions = answer["predictions"]
    assert [round(p["prediction"], 6) for p in predictions] == [30.0, 3.0, 10.0]
    assert [p["segment"] for p in predictions] == ["store=2", "store=1", "store=2"]
    assert [p["version"] for p in predictions] == [
        demand[2].version,
        demand[1].version,
        demand[2].version,
    ]


def test_unknown_segment_is_a_404_that_names_it(client, demand):
    rows = [{"store": 1, "price": 3.0}, {"store": 9, "price": 3.0}]
    error = assert_error_shape(
        client.post("/v1/models/demand/predict", json={"records": rows}), 404
    )
    assert "store=9" in error["message"]
    error = assert_error_shape(
        client.post("/v1/models/demand/predict", json={"records": [{"price": 1.0}]}), 422
    )
    assert "store" in error["message"]


def test_batch_and_real_time_route_alike(client, demand):
    import loopml

    frame = pd.DataFrame({"store": [1, 2, 2, 1], "price": [1.0, 2.0, 3.0, 4.0]})
    scored = loopml.predict_batch("demand", frame)
    answer = client.post(
        "/v1/models/demand/predict", json={"records": frame.to_dict(orient="records")}
    ).json()
    assert scored["prediction"].round(6).tolist() == [
        round(p["prediction"], 6) for p in answer["predictions"]
    ]
    assert scored["segment"].tolist() == [p["segment"] for p in answer["predictions"]]


def test_the_scoring_routes_are_described_in_the_openapi_document(client, churn):
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for path in (
        "/v1/models/{name}/predict",
        "/v1/models/{name}/invocations",
        "/v2/models/{name}/infer",
    ):
        operation = schema["paths"][path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["example"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer["$ref"].rsplit("/", 1)[-1] in components
    assert "RowPrediction" in components and "Tensor" in components  # nested models resolve
