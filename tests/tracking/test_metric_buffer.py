"""Buffered metric points reach the store on their own: on size and on interval.

(Flushing at interpreter exit needs a process of its own: tests/integration.)
"""

import time

import loopml
from loopml.config import Settings
from loopml.tracking import RunStatus, service


def stored_points(store, run_id: str, key: str = "loss") -> int:
    return len(service.get_metric_history(store, run_id, key))


def wait_for(condition, timeout: float = 20.0) -> bool:
    """Poll until ``condition()`` holds; False if it never does (not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def configure(settings: Settings, **overrides):
    return loopml.configure(settings.model_copy(update=overrides))


def test_a_full_buffer_is_written_without_waiting_for_the_interval(settings):
    context = configure(settings, metric_flush_size=50, metric_flush_interval=3600)
    with loopml.start_run() as run:
        for step in range(49):
            loopml.log_metric("loss", float(step))
        time.sleep(0.3)
        assert stored_points(context.store, run.id) == 0  # below the size: still buffered
        loopml.log_metric("loss", 49.0)
        assert wait_for(lambda: stored_points(context.store, run.id) == 50)
        for step in range(50, 500):  # far past the size: a writer that lags cannot hold more
            loopml.log_metric("loss", float(step))
        assert stored_points(context.store, run.id) >= 300
    assert stored_points(context.store, run.id) == 500
    context.close()


def test_points_are_written_once_the_interval_has_passed(settings):
    context = configure(settings, metric_flush_size=1_000_000, metric_flush_interval=0.2)
    with loopml.start_run() as run:
        loopml.log_metrics({"loss": 1.0, "acc": 0.5})
        assert wait_for(lambda: stored_points(context.store, run.id) == 1)
        assert stored_points(context.store, run.id, "acc") == 1
        assert loopml.get_run(run.id).status is RunStatus.RUNNING
    context.close()


def test_flush_writes_now_and_info_shows_the_flushed_run(sqlite_ctx):
    with loopml.start_run() as run:
        loopml.log_metric("loss", 0.3)
        assert run.info().metrics == {"loss": 0.3}
