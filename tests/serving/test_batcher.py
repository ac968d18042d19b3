"""Concurrent requests share model calls; each gets exactly its own rows' answers."""

import asyncio

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml.serving.batcher import MicroBatcher
from loopml.serving.rows import Rows
from loopml.serving.scoring import Scores, score_frame


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    return LogisticRegression().fit(x, (x["a"] + x["b"] > 0).astype(int))


def _rows(values):
    return Rows(
        {"a": list(values), "b": [0.0] * len(values), "c": [0.0] * len(values)}, len(values)
    )


def test_concurrent_requests_are_joined_and_answered_in_order(model):
    calls = []

    def score(rows):
        calls.append(rows.length)
        return score_frame(model, pd.DataFrame(rows.columns))

    async def run():
        batcher = MicroBatcher(score, Scores.slice, max_rows=1000, max_wait=0.001)
        requests = [_rows([float(i - 50), float(50 - i)]) for i in range(100)]
        return await asyncio.gather(*(batcher.submit(r) for r in requests))

    answers = asyncio.run(run())
    assert len(calls) < 100  # requests shared model calls
    assert sum(calls) == 200
    for i, answer in enumerate(answers):
        expected = model.predict(pd.DataFrame({"a": [i - 50.0, 50.0 - i], "b": 0.0, "c": 0.0}))
        assert answer.predictions == expected.tolist()
        assert len(answer.proba) == 2


def test_batches_never_exceed_max_rows(model):
    calls = []

    def score(rows):
        calls.append(rows.length)
        return score_frame(model, pd.DataFrame(rows.columns))

    async def run():
        batcher = MicroBatcher(score, Scores.slice, max_rows=10)
        await asyncio.gather(*(batcher.submit(_rows([1.0, 2.0, 3.0])) for _ in range(20)))

    asyncio.run(run())
    assert max(calls) <= 10 and sum(calls) == 60


def test_one_bad_request_fails_alone(model):
    def score(rows):
        return score_frame(model, pd.DataFrame(rows.columns).astype(float))

    async def run():
        batcher = MicroBatcher(score, Scores.slice)
        good = [batcher.submit(_rows([1.0])) for _ in range(5)]
        bad = batcher.submit(_rows(["not a number"]))
        return await asyncio.gather(*good, bad, return_exceptions=True)

    *good, bad = asyncio.run(run())
    assert all(isinstance(answer, Scores) for answer in good)
    assert isinstance(bad, ValueError)
