"""MLflow's client with a token or a user's password, against a server requiring sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.auth.people import make_people

import loopml
from loopml._context import Context

pytestmark = pytest.mark.xdist_group("mlflow-client")
PASSWORD = "a long passphrase"


@pytest.fixture
def people(ctx) -> dict[str, str]:
    return make_people(ctx.store, password=PASSWORD)


@pytest.fixture
def app(ctx, people):
    """The server of ``live_server``, requiring sign-in, with a user of each role."""
    from loopml.server import create_app

    context = Context(ctx.settings.model_copy(update={"auth": True}))
    yield create_app(context=context)
    context.close()


@pytest.mark.slow
@pytest.mark.timeout(600)  # a real MLflow client on a machine that may be busy
def test_mlflow_credentials_are_loopml_users_and_tokens(run_client, live_server, people):
    script = Path(__file__).with_name("credentials_script.py")
    seen = run_client(script, live_server, people["viewer"], PASSWORD)
    # refusals arrive in MLflow's shape, so its client names them rightly
    assert seen["anonymous"] == "UNAUTHENTICATED"
    assert seen["viewer_reads"] == "Default"
    assert seen["viewer_logs"] == "PERMISSION_DENIED"
    assert seen["wrong_password"] == "UNAUTHENTICATED"
    # the run is the signed-in user's, whatever the client claims
    assert seen["run_user"] == "operator"
    run = loopml.get_run(seen["run_id"])
    assert run.user == "operator" and run.latest_metrics["loss"].step == 3
