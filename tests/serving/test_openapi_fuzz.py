"""Schemathesis: generated requests from the OpenAPI spec never get a 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from tests.serving.conftest import serving_context

from loopml.server import create_app

pytestmark = pytest.mark.slow


@pytest.fixture
def fuzzed_app(sqlite_ctx):
    from sklearn.linear_model import LogisticRegression
    from tests.serving.models import FEATURES, churn_rows

    import loopml

    train = churn_rows()
    model = LogisticRegression().fit(train[FEATURES], train["label"])
    version = loopml.log_model(model, "churn", input_example=train[FEATURES].head(3))
    loopml.set_alias("churn", "champion", version.version)
    return create_app(context=serving_context(sqlite_ctx))


schema = schemathesis.pytest.from_fixture("fuzzed_schema")


@pytest.fixture
def fuzzed_schema(fuzzed_app):
    from fastapi.testclient import TestClient

    with TestClient(fuzzed_app, raise_server_exceptions=False):
        yield schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text}"
