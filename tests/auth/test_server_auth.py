"""Sign-in at the server: credentials, the audit actor, and when sign-in is required."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from tests.api.test_errors import assert_error_shape
from tests.auth.people import bearer

import loopml
from loopml import audit
from loopml._context import Context
from loopml.api.auth import auth_required, is_loopback
from loopml.auth import tokens
from loopml.auth.users import NoAdmin

PASSWORD = "a long passphrase"


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_bearer_and_both_kinds_of_basic_are_accepted(auth_client, people):
    for headers in (
        bearer(people["viewer"]),
        basic("viewer", PASSWORD),
        basic("whoever", people["viewer"]),  # MLflow's client: any name, a token as password
    ):
        assert auth_client.get("/api/v1/models", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer lml_not-a-token"},
        basic("viewer", "wrong password!"),
        {"Authorization": "Basic %%%"},
        {"Authorization": "Digest abc"},
    ],
)
def test_missing_or_wrong_credentials_get_401_with_a_challenge(auth_client, people, headers):
    response = auth_client.get("/api/v1/models", headers=headers)
    error = assert_error_shape(response, 401, "unauthorized")
    assert "loopml tokens create" in error["hint"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_health_checks_and_api_docs_need_no_credentials(auth_client, people):
    for path in ("/healthz", "/readyz", "/v2/health/live", "/openapi.json", "/docs"):
        assert auth_client.get(path).status_code == 200, path
    assert auth_client.get("/metrics").status_code == 401
    assert auth_client.get("/no/such/page").status_code == 401  # unknown paths tell nothing


def test_a_revoked_token_stops_working_within_the_cache_time(ctx, auth_client, people, monkeypatch):
    assert auth_client.get("/api/v1/models", headers=bearer(people["viewer"])).status_code == 200
    tokens.revoke_token(ctx.store, "viewer-token", actor="admin")
    later = time.monotonic() + 6
    monkeypatch.setattr("loopml.api.auth.time.monotonic", lambda: later)
    response = auth_client.get("/api/v1/models", headers=bearer(people["viewer"]))
    assert response.status_code == 401


def test_the_audit_log_names_the_signed_in_user_not_the_servers_os_user(ctx, auth_client, people):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    loopml.log_model(Ridge().fit(X, y), "demand")
    moved = auth_client.post(
        "/api/v1/models/demand/promote",
        json={"version": 1, "reason": "first"},
        headers=basic("operator", PASSWORD),
    )
    assert moved.status_code == 200, moved.text
    event = audit.list_events(ctx.store, action="alias.promote")[0]
    assert (event.actor, event.reason) == ("operator", "first")
    assert ctx.settings.actor == "tester"  # the server's own name, used by log_model above
    by_request = {
        e.actor for e in audit.list_events(ctx.store) if e.action.startswith(("gate.", "alias."))
    }
    assert "tester" not in by_request and "operator" in by_request


def test_an_open_loopback_server_records_anonymous_or_who_signed_in(ctx, client, people):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    for _ in range(2):
        loopml.log_model(Ridge().fit(X, y), "demand")
    client.post("/api/v1/models/demand/promote", json={"version": 1})
    client.post(
        "/api/v1/models/demand/promote", json={"version": 2}, headers=bearer(people["viewer"])
    )
    actors = [e.actor for e in audit.list_events(ctx.store, action="alias.promote")]
    assert actors == ["viewer", "anonymous"]
    wrong = client.get("/api/v1/models", headers={"Authorization": "Bearer lml_wrong"})
    assert wrong.status_code == 401  # a wrong token is worth telling, even when open


def test_a_server_requiring_sign_in_will_not_build_without_an_admin(ctx):
    from loopml.server import create_app

    context = Context(ctx.settings.model_copy(update={"auth": True}))
    with pytest.raises(NoAdmin, match="no enabled admin") as raised:
        create_app(context=context)
    assert "loopml users add NAME --role admin" in raised.value.hint
    context.close()


@pytest.mark.parametrize(
    ("host", "asked", "required"),
    [
        ("127.0.0.1", False, False),
        ("127.0.0.2", False, False),
        ("::1", False, False),
        ("localhost", False, False),
        ("127.0.0.1", True, True),
        ("0.0.0.0", False, True),
        ("::", False, True),
        ("192.168.1.20", False, True),
        ("ml.example.com", False, True),
    ],
)
def test_sign_in_is_required_off_loopback_and_when_asked(host, asked, required):
    assert auth_required(host, asked) is required
    assert is_loopback(host) is (host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))


def _serve(settings, *args) -> subprocess.Popen:
    env = {
        **os.environ,
        "LOOPML_HOME": str(settings.home),
        "LOOPML_STORE_URL": settings.store_url,
        "LOOPML_SCHEDULER": "false",
    }
    code = "from loopml.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, **kwargs) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(process.stdout.read())
        try:
            return httpx.get(url, timeout=2, **kwargs)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the server did not start")


def test_serve_off_loopback_refuses_to_start_without_an_admin(settings):
    process = _serve(settings, "--host", "0.0.0.0", "--port", str(_free_port()), "--no-auth")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    output = " ".join(output.split())  # the terminal's width wraps lines anywhere
    assert "no enabled admin" in output and "loopml users add NAME --role admin" in output


def test_serve_off_loopback_requires_sign_in_and_open_loopback_says_so(ctx, settings, people):
    port = _free_port()
    process = _serve(settings, "--host", "0.0.0.0", "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}/api/v1/models"
        assert _wait(url, process).status_code == 401
        assert httpx.get(url, headers=bearer(people["viewer"])).status_code == 200
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "Sign-in required" in output

    port = _free_port()
    process = _serve(settings, "--port", str(port))
    try:
        assert _wait(f"http://127.0.0.1:{port}/api/v1/models", process).status_code == 200
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "Authentication is off" in output


def test_credentials_against_an_unreachable_store_get_503_not_500(tmp_path):
    from fastapi.testclient import TestClient

    from loopml.config import Settings
    from loopml.server import create_app

    dead = Settings(home=tmp_path, store_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
    client = TestClient(create_app(context=Context(dead)))  # no lifespan: nothing else starts
    response = client.get("/api/v1/models", headers=bearer("lml_whatever-it-is"))
    error = assert_error_shape(response, 503, "store_unavailable")
    assert "did not answer" in error["message"]


def test_clients_sending_one_password_at_once_share_one_argon2_check(ctx, people, monkeypatch):
    import asyncio

    from loopml.api.auth import Authenticator

    authenticator = Authenticator(ctx.store)
    calls = []
    check = authenticator._check
    monkeypatch.setattr(authenticator, "_check", lambda value: calls.append(1) or check(value))
    header = basic("viewer", PASSWORD)["Authorization"]

    async def eight_at_once():
        return await asyncio.gather(*(authenticator.principal(header) for _ in range(8)))

    found = asyncio.run(eight_at_once())
    assert {p.name for p in found} == {"viewer"} and len(calls) == 1
