"""Every router answers errors in one JSON shape, and never 500 for a client mistake."""

import httpx
import pytest

import loopml


def assert_error_shape(response, status, error_type=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"type", "message", "request_id"}
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    if error_type:
        assert error["type"] == error_type
    return error


@pytest.mark.parametrize(
    ("path", "status", "error_type"),
    [
        ("/api/v1/runs/0123456789abcdef0123456789abcdef", 404, "not_found"),
        ("/api/v1/runs/nonsense", 404, "not_found"),
        ("/api/v1/runs?filter=metrics.mae%20%3C%20'x'", 422, "invalid_input"),
        ("/api/v1/runs?experiment=missing", 404, "not_found"),
        ("/api/v1/runs?max_results=0", 422, "invalid_input"),
        ("/no/such/endpoint", 404, "not_found"),
    ],
)
def test_client_mistakes_get_one_error_shape(client, path, status, error_type):
    with loopml.start_run(experiment="e"):
        pass
    error = assert_error_shape(client.get(path), status, error_type)
    assert "hint" in error or "fields" in error


def test_wrong_method_is_405_in_the_same_shape(client):
    assert_error_shape(client.delete("/healthz"), 405, "method_not_allowed")


def test_request_id_is_echoed_when_the_client_sends_one(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_oversized_body_is_refused_with_413(live_server):
    body = b"x" * (33 * 1024 * 1024)
    response = httpx.post(f"{live_server}/api/v1/runs", content=body, timeout=30)
    assert_error_shape(response, 413, "payload_too_large")


def test_dead_store_is_503_not_500(tmp_path):
    from fastapi.testclient import TestClient

    from loopml.config import Settings
    from loopml.server import create_app

    app = create_app(Settings(home=tmp_path, store_url="postgresql+psycopg://x@127.0.0.1:9/none"))
    with TestClient(app, raise_server_exceptions=False) as client:
        error = assert_error_shape(client.get("/api/v1/experiments"), 503, "store_unavailable")
        assert "127.0.0.1:9" in error["message"]
        assert_error_shape(client.get("/readyz"), 503)
