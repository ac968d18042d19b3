"""A server that requires sign-in, on the test's store, with a user of each role."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from tests.auth.people import make_people

import loopml
from loopml._context import Context


@pytest.fixture
def people(ctx) -> dict[str, str]:
    return make_people(ctx.store, password="a long passphrase")


@pytest.fixture
def diabetes_champion(ctx):
    """A ridge model of scikit-learn's diabetes data, registered as demand@champion."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    version = loopml.log_model(Ridge(alpha=0.5).fit(X, y), "demand", input_example=X.head())
    loopml.set_alias("demand", "champion", version.version)
    return X


@pytest.fixture
def auth_app(ctx, people):
    from loopml.server import create_app

    context = Context(ctx.settings.model_copy(update={"auth": True}))
    yield create_app(context=context)
    context.close()


@pytest.fixture
def auth_client(auth_app):
    from fastapi.testclient import TestClient

    with TestClient(auth_app, raise_server_exceptions=False) as client:
        yield client
