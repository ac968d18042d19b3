"""Every route of the app x every role -> 401, 403 or an answer, from the route's
declared permission. A route without a declaration fails here: add
``@requires(Permission.X)`` to its endpoint (see loopml.auth.permissions)."""

from __future__ import annotations

import re

from fastapi import APIRouter
from tests.auth.people import bearer

from loopml import monitoring
from loopml.api.routes import Endpoint, endpoints
from loopml.auth import tokens, users
from loopml.auth.permissions import Permission, Role, allows
from loopml.monitoring.spec import MonitorSpec

# Values for the path parameters of every route (unknown ones get "x").
PATH_VALUES = {"name": "demand", "approval_id": "1", "run_id": "0" * 32, "key": "mae"}
CALLERS = ("anonymous", "viewer", "operator", "admin", "service")


def table(app) -> list[tuple[str, str, Endpoint]]:
    """(method, path, endpoint) for every route and method the app answers."""
    found = []
    for endpoint in endpoints(app.routes):
        if endpoint.methods is None:  # a mounted app
            found.append(("GET", endpoint.path.rstrip("/") + "/x", endpoint))
        else:
            methods = sorted(endpoint.methods - {"HEAD"})
            found += [(method, endpoint.path, endpoint) for method in methods]
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PATH_VALUES.get(m.group(1), "x"), path)


def expected(permission: Permission, caller: str) -> str:
    if permission is Permission.PUBLIC:
        return "answer"
    if caller == "anonymous":
        return "401"
    return "answer" if allows(Role(caller), permission) else "403"


def outcome(status: int) -> str:
    return {401: "401", 403: "403"}.get(status, "answer")


def test_every_route_declares_its_permission(auth_app):
    undeclared = [
        f"{method} {path}"
        for method, path, endpoint in table(auth_app)
        if endpoint.needs(method) is None
    ]
    assert not undeclared, (
        f"routes without a permission: {undeclared}; tag each endpoint with "
        "@requires(Permission.READ | SCORE | OPERATE | ADMIN | PUBLIC)"
    )


def test_every_route_for_every_role(auth_client, auth_app, people, diabetes_champion):
    routes = table(auth_app)
    assert len(routes) > 20  # the whole app, not a part of it
    assert {("POST", "/ui/approvals/cohort"), ("GET", "/ui/health")} <= {
        (m, p) for m, p, _ in routes
    }
    wrong = []
    for method, path, endpoint in routes:
        permission = endpoint.needs(method)
        for caller in CALLERS:
            headers = bearer(people[caller]) if caller != "anonymous" else {}
            response = auth_client.request(method, concrete(path), headers=headers, json={})
            want, got = expected(permission, caller), outcome(response.status_code)
            if want != got or response.status_code == 500:
                wrong.append(f"{caller} {method} {path}: {response.status_code}, wanted {want}")
            if got == "401":
                assert "Bearer" in response.headers["www-authenticate"]
    assert not wrong, "\n".join(wrong)


def test_the_answers_are_real_for_allowed_callers(auth_client, people, diabetes_champion):
    """Allowed is not just 'not refused': the routes do their work."""
    rows = diabetes_champion.head(3).to_dict(orient="records")
    scored = auth_client.post(
        "/v1/models/demand/predict", json={"records": rows}, headers=bearer(people["service"])
    )
    assert scored.status_code == 200 and len(scored.json()["predictions"]) == 3
    listed = auth_client.get("/api/v1/models", headers=bearer(people["viewer"]))
    assert [m["name"] for m in listed.json()] == ["demand"]
    assert auth_client.get("/healthz").json() == {"status": "ok"}
    refused = auth_client.get("/api/v1/models", headers=bearer(people["service"]))
    assert refused.status_code == 403 and "'read' permission" in refused.json()["error"]["message"]


def test_a_scoped_operator_acts_only_on_its_model_families(ctx, auth_client, diabetes_champion):
    users.add_user(ctx.store, "olga", role="operator", models=["churn"], actor="root")
    secret = tokens.create_token(ctx.store, "olga", user="olga", actor="root").secret
    rows = diabetes_champion.head(1).to_dict(orient="records")
    scoring = auth_client.post(
        "/v1/models/demand/predict", json={"records": rows}, headers=bearer(secret)
    )
    assert scoring.status_code == 403 and "model 'demand'" in scoring.json()["error"]["message"]
    promoting = auth_client.post(
        "/api/v1/models/demand/promote", json={"version": 1}, headers=bearer(secret)
    )
    assert promoting.status_code == 403
    reading = auth_client.get("/api/v1/models/demand/versions", headers=bearer(secret))
    assert reading.status_code == 200
    spec = MonitorSpec(name="demand-drift", model="demand", kind="drift")
    monitoring.service.create_monitor(ctx.store, spec, actor="root")
    running = auth_client.post("/api/v1/monitors/demand-drift/run", headers=bearer(secret))
    assert running.status_code == 403
    assert "monitors of model 'demand'" in running.json()["error"]["message"]


def test_an_undeclared_write_is_for_admins_only_and_caught_by_the_matrix(ctx, people):
    from fastapi.testclient import TestClient

    from loopml._context import Context
    from loopml.server import create_app

    router = APIRouter()

    @router.post("/api/v1/forgotten")
    def forgotten() -> dict:
        return {"done": True}

    context = Context(ctx.settings.model_copy(update={"auth": True}))
    app = create_app(context=context)
    app.include_router(router)  # added after the app was built, as a merged router would be
    assert ("POST", "/api/v1/forgotten") in {(m, p) for m, p, e in table(app) if e.needs(m) is None}
    with TestClient(app) as client:
        assert (
            client.post("/api/v1/forgotten", headers=bearer(people["operator"])).status_code == 403
        )
        assert client.post("/api/v1/forgotten", headers=bearer(people["admin"])).json() == {
            "done": True
        }
    context.close()
