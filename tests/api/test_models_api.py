import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from tests.api.test_errors import assert_error_shape
from tests.auth.people import bearer, make_people

import loopml


def test_models_versions_promotion_approval_and_timeline(client, ctx):
    people = make_people(ctx.store)
    X = pd.DataFrame({"a": np.arange(10.0)})
    for _ in range(2):
        loopml.log_model(Ridge().fit(X, X["a"]), "demand", metrics={"mae": 1.0})
    assert [m["name"] for m in client.get("/api/v1/models").json()] == ["demand"]
    assert [v["version"] for v in client.get("/api/v1/models/demand/versions").json()] == [2, 1]
    moved = client.post(
        "/api/v1/models/demand/promote", json={"version": 1, "reason": "first"}
    ).json()
    assert moved["to_version"] == 1
    loopml.set_gate("demand", require_approval=True)
    request = client.post(
        "/api/v1/models/demand/promote", json={"version": 2}, headers=bearer(people["operator"])
    ).json()
    assert request["requested_by"] == "operator"
    decided = client.post(
        f"/api/v1/approvals/{request['id']}",
        json={"approve": True, "reason": "ok"},
        headers=bearer(people["admin"]),
    ).json()
    assert (decided["state"], decided["decided_by"]) == ("approved", "admin")
    kinds = [e["kind"] for e in client.get("/api/v1/models/demand/timeline").json()]
    assert kinds.count("registration") == 2 and "approval" in kinds and "promotion" in kinds


def test_unknown_model_and_bad_bodies_are_4xx(client):
    assert_error_shape(client.get("/api/v1/models/nope/timeline"), 404, "not_found")
    assert_error_shape(client.post("/api/v1/models/nope/promote", json={"version": "x"}), 422)
    assert_error_shape(client.post("/api/v1/approvals/99", json={"approve": True}), 404)
