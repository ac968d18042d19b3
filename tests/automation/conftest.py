"""A small served model family and a way to replay days of traffic into its logs.

Traffic goes through the real prediction and feedback logs; predictions come
from the real champion of each segment at the time, as serving would give them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import loopml
from loopml import FeedbackLog, PredictionLog
from loopml.models import load_version
from loopml.registry import service as registry

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
SEGMENTS = ("a", "b", "c")


def day(n: float) -> datetime:
    return START + timedelta(days=n)


class Traffic:
    """Replays daily traffic: 20 rows per segment a day, labelled at once."""

    def __init__(self, ctx, shock: dict[str, float], until: dict[str, float] | None = None) -> None:
        self.ctx = ctx
        self.shock = shock  # segment -> day from which y jumps by +30
        self.until = until or {}  # segment -> day from which it is back
        self.rng = np.random.default_rng(3)
        self.root = ctx.settings.resolved_artifact_uri

    def truth(self, segment: str, x: np.ndarray, when: float) -> np.ndarray:
        shocked = (
            self.shock.get(segment, float("inf")) <= when < self.until.get(segment, float("inf"))
        )
        jump = 30.0 if shocked else 0.0
        return 2 * x + jump + self.rng.normal(0, 0.5, len(x))

    def replay(self, first: int, last: int, *, broken: set[str] = frozenset()) -> None:
        predictions, feedback = PredictionLog(self.root), FeedbackLog(self.root)
        for n in range(first, last):
            for segment in SEGMENTS:
                version = registry.resolve(
                    self.ctx.store, "demand", alias="champion", segment={"store": segment}
                )
                model = load_version(self.ctx.artifacts, version)
                x = self.rng.uniform(0, 10, 20)
                predicted = model.predict(pd.DataFrame({"x": x}))
                if segment in broken:
                    predicted = predicted + 100
                truth = self.truth(segment, x, n)
                for i in range(20):
                    pid = uuid.uuid4().hex
                    when = day(n) + timedelta(minutes=i)
                    predictions.append(
                        [
                            {
                                "prediction_id": pid,
                                "time": when,
                                "model": "demand",
                                "version": version.version,
                                "segment": version.segment_key,
                                "inputs": {"x": x[i]},
                                "prediction": predicted[i],
                                "latency_ms": 1.0,
                            }
                        ]
                    )
                    feedback.append(
                        [
                            {
                                "prediction_id": pid,
                                "label": truth[i],
                                "time": when + timedelta(hours=1),
                            }
                        ]
                    )
        predictions.close()
        feedback.close()


@pytest.fixture
def family(ctx):
    rng = np.random.default_rng(0)
    for segment in SEGMENTS:
        x = rng.uniform(0, 10, 200)
        model = LinearRegression().fit(pd.DataFrame({"x": x}), 2 * x + rng.normal(0, 0.5, 200))
        version = loopml.log_model(
            model, "demand", input_example=pd.DataFrame({"x": x[:3]}), segment={"store": segment}
        )
        loopml.set_alias("demand", "champion", version.version, segment={"store": segment})
    loopml.create_monitor(
        loopml.MonitorSpec(
            name="demand-mae",
            model="demand",
            kind="performance",
            metric="mae",
            threshold=5.0,
            window="2d",
            schedule="1d",
            per_segment=True,
            min_rows=10,
        )
    )
    return ctx
