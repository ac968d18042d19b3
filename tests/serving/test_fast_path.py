"""The scoring routes' short way (loopml.serving.routes.fast) answers as the normal way.

With sign-in off, a request without credentials takes the short way; the same request
with a token (checked even with sign-in off) goes the normal way, through every
middleware and the router. Both must give the same answers and the same errors.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from tests.api.test_errors import assert_error_shape
from tests.auth.people import bearer, make_people
from tests.serving.conftest import serving_context
from tests.serving.models import FEATURES, churn_rows

import loopml
from loopml.server import create_app

PREDICT = "/v1/models/churn/predict"
INVOCATIONS = "/v1/models/churn/invocations"


@pytest.fixture
def token(ctx) -> dict[str, str]:
    return bearer(make_people(ctx.store)["service"])


def _without_ids(document):
    """The answer less what differs between two requests: request and prediction ids."""
    if isinstance(document, dict):
        if document.get("name") == "prediction_id":  # an output tensor of the v2 protocol
            document = {k: v for k, v in document.items() if k != "data"}
        return {
            k: _without_ids(v)
            for k, v in document.items()
            if k not in ("request_id", "prediction_id", "prediction_ids")
        }
    if isinstance(document, list):
        return [_without_ids(v) for v in document]
    return document


def _both_ways(client, token, path, **request):
    fast = client.post(path, **request)
    normal = client.post(path, headers={**request.pop("headers", {}), **token}, **request)
    assert fast.status_code == normal.status_code, (fast.text, normal.text)
    assert _without_ids(fast.json()) == _without_ids(normal.json())
    assert fast.headers["x-request-id"] != normal.headers["x-request-id"]
    return fast


def test_the_short_way_is_taken_with_sign_in_off(app, client):
    assert app.state.fast_scoring is not None


ROWS = churn_rows(3, seed=4)[FEATURES]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (PREDICT, {"records": ROWS.to_dict(orient="records")}),
        (PREDICT, {"columns": FEATURES, "data": ROWS.values.tolist()}),
        (INVOCATIONS, {"dataframe_split": {"columns": FEATURES, "data": ROWS.values.tolist()}}),
        (INVOCATIONS, {"inputs": ROWS.values.tolist()}),
        (
            "/v2/models/churn/infer",
            {
                "inputs": [
                    {"name": f, "shape": [3], "datatype": "FP64", "data": ROWS[f].tolist()}
                    for f in FEATURES
                ]
            },
        ),
    ],
)
def test_answers_are_those_of_the_normal_way(client, churn, token, path, body):
    answer = _both_ways(client, token, path, json=body)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("path", "request_", "status", "error_type"),
    [
        (PREDICT, {"content": b'{"records": [{"tenure": 1,'}, 400, "malformed_json"),
        (PREDICT, {"json": {"records": [{"tenure": 1, "colour": "red"}]}}, 422, None),
        (PREDICT, {"json": {"rows": []}}, 422, None),
        (INVOCATIONS, {"json": [1, 2]}, 422, None),
        ("/v1/models/nobody/predict", {"json": {"records": [{"tenure": 1}]}}, 404, "not_found"),
    ],
)
def test_errors_are_those_of_the_normal_way(
    client, churn, token, path, request_, status, error_type
):
    answer = _both_ways(client, token, path, **request_)
    assert_error_shape(answer, status, error_type)


def test_an_oversized_body_is_refused_as_the_normal_way_refuses_it(ctx, churn, token):
    app = create_app(context=serving_context(ctx, server_max_body_bytes=2_000))
    body = {"records": churn_rows(100, seed=5)[FEATURES].to_dict(orient="records")}
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = _both_ways(client, token, PREDICT, json=body)
    assert_error_shape(answer, 413, "payload_too_large")
    assert answer.headers["connection"] == "close"


def test_a_model_registered_after_the_server_started_is_served(client, ctx):
    """On scikit-learn's breast cancer data, logged while the server runs."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :4]
    model = LogisticRegression(max_iter=2_000).fit(X, y)
    version = loopml.log_model(model, "cancer", input_example=X.head())
    loopml.set_alias("cancer", "champion", version.version)
    answer = client.post(
        "/v1/models/cancer/predict", json={"records": X.head(5).to_dict("records")}
    )
    assert answer.status_code == 200, answer.text
    predictions = [p["prediction"] for p in answer.json()["predictions"]]
    assert predictions == model.predict(X.head(5)).tolist()


def test_the_request_id_a_client_sends_is_kept(client, churn):
    body = {"records": ROWS.head(1).to_dict(orient="records")}
    answer = client.post(PREDICT, json=body, headers={"X-Request-Id": "abc-123"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "abc-123"


def test_a_server_that_requires_sign_in_never_takes_the_short_way(ctx, churn):
    people = make_people(ctx.store, password="a long passphrase")
    app = create_app(context=serving_context(ctx, auth=True))
    body = {"records": ROWS.to_dict(orient="records")}
    with TestClient(app, raise_server_exceptions=False) as client:
        assert_error_shape(client.post(PREDICT, json=body), 401, "unauthorized")
        assert client.post(PREDICT, json=body, headers=bearer(people["service"])).status_code == 200
        assert app.state.fast_scoring is None


def test_a_model_registered_just_after_the_watchers_poll_is_looked_up(ctx, monkeypatch):
    """The watcher's list of names, read a moment before a model was registered, must
    not refuse it; a list read after a miss does refuse an invented name for a moment
    (a long moment here: registering takes longer than the real one)."""
    from loopml.serving import pool as pool_module
    from loopml.serving.pool import ModelPool
    from loopml.serving.source import RegistrySource

    monkeypatch.setattr(pool_module, "NAMES_FRESH", 600.0)
    pool = ModelPool(
        RegistrySource(ctx.store, ctx.artifacts), executor=None, max_rows=1, max_wait=0
    )
    pool.read_model_names()  # the watcher's poll
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    loopml.log_model(LogisticRegression(max_iter=2_000).fit(X.iloc[:, :3], y), "late")
    assert not pool.surely_unknown("late")
    pool.read_model_names(after_miss=True)  # a request for an invented name missed
    assert pool.surely_unknown("invented") and not pool.surely_unknown("late")
