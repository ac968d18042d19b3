"""Two processes promoting at once leave one consistent winner and two audit events."""

import multiprocessing

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

import loopml
from loopml import audit
from loopml.registry import service


def _promote(settings, version, barrier):
    loopml.configure(settings)
    barrier.wait()
    loopml.promote("demand", version, reason=f"process for v{version}")


def test_concurrent_promotions_leave_one_winner(ctx, settings):
    X = pd.DataFrame({"a": np.arange(10.0)})
    for _ in range(2):
        loopml.log_model(Ridge().fit(X, X["a"]), "demand")
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    workers = [spawn.Process(target=_promote, args=(settings, v, barrier)) for v in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    moves = service.alias_history(ctx.store, "demand", alias="champion")
    assert len(moves) == 2
    first, last = moves[-1], moves[0]
    assert first.from_version is None and last.from_version == first.to_version
    assert service.resolve(ctx.store, "demand", alias="champion").version == last.to_version
    assert len(audit.list_events(ctx.store, entity_id="demand", action="alias.promote")) == 2
