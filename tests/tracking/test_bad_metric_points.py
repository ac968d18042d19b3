"""One bad metric point is refused when logged; the good points around it are all stored,
and a store that refuses writes is reported rather than retried silently forever."""

import logging
import time

import pytest
from sqlalchemy import text

import loopml
from loopml.errors import InvalidInput, StoreUnavailable
from loopml.tracking import RunStatus, buffer, service


def test_a_bad_point_raises_at_once_and_loses_none_of_the_good_ones(ctx):
    with loopml.start_run() as run:
        for step in range(100):
            loopml.log_metric("loss", 1.0 / (step + 1), step=step)
        with pytest.raises(InvalidInput, match=r"step 18446744073709551616, outside the 64-bit"):
            loopml.log_metric("x", 1.0, step=2**64)
        with pytest.raises(InvalidInput, match="control character"):
            loopml.log_metric("bad\x00key", 1.0)
        with pytest.raises(InvalidInput, match="control character"):
            loopml.log_metrics({"fine": 1.0, "tab\tkey": 2.0})  # the whole call is refused
        with pytest.raises(InvalidInput, match="beyond the largest float"):
            loopml.log_metric("huge", 10**400)
        with pytest.raises(InvalidInput, match="NUL"):
            loopml.log_param("note", "a\x00b")
        for step in range(100, 200):
            loopml.log_metric("loss", 1.0 / (step + 1), step=step)
        loopml.log_metric("edge", 1.0, step=2**63 - 1)  # the limit itself is fine
    stored = loopml.get_run(run.id)
    assert stored.status is RunStatus.FINISHED
    history = loopml.get_metric_history(run.id, "loss")
    assert [p.step for p in history] == list(range(200))
    assert set(stored.metrics) == {"loss", "edge"}
    assert loopml.get_metric_history(run.id, "edge")[0].step == 2**63 - 1


def test_a_store_that_refuses_writes_is_reported_then_the_points_land_after_repair(
    settings, caplog
):
    context = loopml.configure(
        settings.model_copy(update={"metric_flush_size": 1_000_000, "metric_flush_interval": 0.05})
    )
    engine = context.store.engine
    with loopml.start_run() as run:
        loopml.log_metric("loss", 0.5)
        run.flush()
        _rename(engine, "metrics", "metrics_away")  # every write now fails in the database
        try:
            with caplog.at_level(logging.WARNING, logger="loopml.tracking"):
                for step in range(1, 51):
                    loopml.log_metric("loss", 1.0, step=step)
                deadline = time.monotonic() + 30
                while run._metrics.failures < buffer.MAX_ATTEMPTS and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(0.5)  # the background thread has stopped trying by now
                assert run._metrics.failures == buffer.MAX_ATTEMPTS
            warning = [r.getMessage() for r in caplog.records if run.id in r.getMessage()]
            assert len(warning) == 1 and "50 points at risk" in warning[0], warning
            with pytest.raises(StoreUnavailable, match="50 metric points are still buffered"):
                run.end()
            assert run.status is RunStatus.RUNNING
        finally:
            _rename(engine, "metrics_away", "metrics")
    assert loopml.get_run(run.id).status is RunStatus.FINISHED
    assert len(service.get_metric_history(context.store, run.id, "loss")) == 51
    context.close()


def _rename(engine, old: str, new: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
