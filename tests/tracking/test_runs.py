import math

import pytest

import loopml
from loopml.tracking import RunStatus


def test_run_records_params_metrics_tags_and_ends_finished(ctx):
    with loopml.start_run(experiment="demand", name="ridge", tags={"team": "planning"}) as run:
        loopml.log_params({"alpha": 0.1, "features": ["a", "b"]})
        loopml.log_metric("mae", 3.5)
        loopml.log_metric("mae", 2.5)
        loopml.set_tag("stage", "dev")
    stored = loopml.get_run(run.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.experiment == "demand" and stored.name == "ridge"
    assert stored.params == {"alpha": "0.1", "features": '["a", "b"]'}
    assert stored.metrics == {"mae": 2.5}
    assert stored.tags == {"team": "planning", "stage": "dev"}
    assert stored.wall_seconds is not None and stored.cpu_seconds is not None
    assert stored.peak_rss_bytes > 1_000_000


def test_metric_history_is_every_point_in_step_order(ctx):
    with loopml.start_run() as run:
        for step in (2, 0, 1):
            loopml.log_metric("loss", step * 10.0, step=step)
        loopml.log_metric("acc", float("nan"))
    history = loopml.get_metric_history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.0), (1, 10.0), (2, 20.0)]
    assert math.isnan(loopml.get_run(run.id).metrics["acc"])


def test_a_run_that_raises_is_failed_and_keeps_what_it_logged(ctx):
    with pytest.raises(ZeroDivisionError), loopml.start_run() as run:
        loopml.log_param("alpha", 1)
        loopml.log_metric("loss", 0.5)
        1 / 0  # noqa: B018
    stored = loopml.get_run(run.id)
    assert stored.status is RunStatus.FAILED
    assert "ZeroDivisionError" in stored.error
    assert stored.params == {"alpha": "1"} and stored.metrics == {"loss": 0.5}
