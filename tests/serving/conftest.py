"""Models registered for serving tests, and an app that notices alias moves quickly."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from tests.serving.models import FEATURES, churn_rows

import loopml
from loopml._context import Context


@pytest.fixture
def churn(ctx):
    """Two versions of a churn classifier; version 1 is champion, version 2 challenger."""
    train = churn_rows()
    models = []
    for c in (1.0, 0.001):
        model = LogisticRegression(C=c, max_iter=500).fit(train[FEATURES], train["label"])
        version = loopml.log_model(model, "churn", input_example=train[FEATURES].head(5))
        models.append((model, version))
    loopml.set_alias("churn", "champion", models[0][1].version)
    loopml.set_alias("churn", "challenger", models[1][1].version)
    return models


@pytest.fixture
def demand(ctx):
    """A segmented family: one regression per store, each its segment's champion."""
    versions = {}
    for store, slope in ((1, 1.0), (2, 10.0)):
        x = pd.DataFrame({"store": store, "price": np.arange(20, dtype=float)})
        model = LinearRegression().fit(x[["price"]], slope * x["price"])
        version = loopml.log_model(
            model, "demand", input_example=x[["price"]].head(3), segment={"store": store}
        )
        loopml.set_alias("demand", "champion", version.version, segment={"store": store})
        versions[store] = version
    return versions


@pytest.fixture
def diabetes(ctx):
    """A regression on scikit-learn's diabetes data, champion of model "diabetes"."""
    data = load_diabetes(as_frame=True)
    model = Ridge().fit(data.data, data.target)
    version = loopml.log_model(model, "diabetes", input_example=data.data.head(5))
    loopml.set_alias("diabetes", "champion", version.version)
    return data.data


def one_row(frame) -> dict:
    return {"records": [frame.iloc[0].to_dict()]}


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the server did not get ready"
        time.sleep(0.05)


def serving_context(ctx, **settings) -> Context:
    return Context(ctx.settings.model_copy(update={"serving_poll_interval": 0.05, **settings}))


@pytest.fixture
def serving_config():
    return None


@pytest.fixture
def app(ctx, serving_config):
    from loopml.server import create_app

    context = serving_context(ctx)
    yield create_app(context=context, serving=serving_config)
    context.close()
