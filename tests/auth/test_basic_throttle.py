"""Password guessing through HTTP Basic is held back like guessing at the UI's sign-in:
one count per user name and per client address, 429 with Retry-After once it is full."""

from __future__ import annotations

import pytest
from tests.api.test_errors import assert_error_shape
from tests.auth.people import bearer
from tests.auth.test_server_auth import PASSWORD, basic

from loopml.auth.throttle import MAX_ADDRESS_FAILURES, MAX_FAILURES, WINDOW_SECONDS
from loopml.errors import TooManyRequests
from loopml.ui import sessions

MODELS = "/api/v1/models"


def _fail(client, name: str, times: int, password: str = "not the password") -> None:
    for _ in range(times):
        answer = client.get(MODELS, headers=basic(name, password))
        assert answer.status_code == 401, answer.text


def _held_back(answer) -> int:
    error = assert_error_shape(answer, 429, "too_many_requests")
    assert "try again in" in error["message"]
    wait = int(answer.headers["retry-after"])
    assert 0 < wait <= WINDOW_SECONDS
    return wait


def test_wrong_passwords_of_one_name_hold_back_even_the_right_one(auth_app, auth_client, people):
    _fail(auth_client, "viewer", MAX_FAILURES)
    wait = _held_back(auth_client.get(MODELS, headers=basic("viewer", PASSWORD)))
    # the same count as the UI's sign-in: the web form refuses the name too
    with pytest.raises(TooManyRequests):
        sessions.sign_in(
            auth_app.state.context.store,
            "viewer",
            PASSWORD,
            throttle=auth_app.state.sign_in_throttle,
            address="testclient",
        )
    # another name from the same address, and tokens, still work
    assert auth_client.get(MODELS, headers=basic("operator", PASSWORD)).status_code == 200
    assert auth_client.get(MODELS, headers=bearer(people["viewer"])).status_code == 200
    # once the oldest failure leaves the window, the right password is accepted again
    throttle = auth_app.state.sign_in_throttle
    now = throttle.clock()
    throttle.clock = lambda: now + wait + 1
    assert auth_client.get(MODELS, headers=basic("viewer", PASSWORD)).status_code == 200


def test_mlflows_client_sending_a_live_token_as_password_is_never_held_back(auth_client, people):
    _fail(auth_client, "mlflow", MAX_FAILURES - 1)
    _fail(auth_client, "mlflow", 1, password="lml_a-token-that-does-not-exist")  # counted too
    _held_back(auth_client.get(MODELS, headers=basic("mlflow", "still a guess")))
    answer = auth_client.get(MODELS, headers=basic("mlflow", people["operator"]))
    assert answer.status_code == 200
    # in MLflow's own error shape on its routes, which its client retries after a wait
    refused = auth_client.get(
        "/api/2.0/mlflow/experiments/search?max_results=1",
        headers=basic("mlflow", "a guess"),
    )
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_failures_from_one_address_over_many_names_hold_back_every_password(auth_client, people):
    for i in range(MAX_ADDRESS_FAILURES):
        _fail(auth_client, f"invented-{i}", 1)
    _held_back(auth_client.get(MODELS, headers=basic("admin", PASSWORD)))
    assert auth_client.get(MODELS, headers=basic("admin", people["admin"])).status_code == 200


def test_the_right_password_clears_the_names_count(auth_client, people):
    _fail(auth_client, "operator", MAX_FAILURES - 1)
    assert auth_client.get(MODELS, headers=basic("operator", PASSWORD)).status_code == 200
    _fail(auth_client, "operator", MAX_FAILURES - 1)
    assert auth_client.get(MODELS, headers=basic("operator", PASSWORD)).status_code == 200


def test_a_token_sent_with_a_users_name_does_not_clear_that_users_count(auth_client, people):
    """Else anyone with a token of their own could wipe the count of guesses at a name."""
    _fail(auth_client, "admin", MAX_FAILURES - 1)
    assert auth_client.get(MODELS, headers=basic("admin", people["viewer"])).status_code == 200
    _fail(auth_client, "admin", 1)
    _held_back(auth_client.get(MODELS, headers=basic("admin", PASSWORD)))
