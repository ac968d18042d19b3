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


def test_a_run_captures_code_environment_and_host(ctx):
    import os
    import socket
    import sys

    with loopml.start_run() as run:
        pass
    stored = loopml.get_run(run.id)
    assert stored.host == socket.gethostname() and stored.pid == os.getpid()
    assert stored.user == "tester"
    assert stored.environment["python"] == sys.version.split()[0]
    assert stored.environment["packages"]["loopml"] == loopml.__version__
    assert stored.git_commit is None or len(stored.git_commit) == 40
    assert stored.end_time >= stored.start_time


def test_nested_runs_record_their_parent_and_share_its_experiment(ctx):
    with loopml.start_run(experiment="tuning", name="sweep") as parent:
        with loopml.start_run(name="alpha=0.1") as child:
            assert loopml.active_run() is child
            loopml.log_metric("mae", 3.0)
        assert loopml.active_run() is parent
        with loopml.start_run(experiment="elsewhere") as other_child:
            pass
    assert loopml.active_run() is None
    stored = loopml.get_run(child.id)
    assert stored.parent_run_id == parent.id and stored.experiment == "tuning"
    assert loopml.get_run(other_child.id).parent_run_id == parent.id
    assert loopml.get_run(parent.id).parent_run_id is None
    assert stored.metrics == {"mae": 3.0} and loopml.get_run(parent.id).metrics == {}


def test_nested_false_refuses_to_start_inside_an_active_run(sqlite_ctx):
    with loopml.start_run() as parent:
        with pytest.raises(loopml.InvalidInput, match=f"Run {parent.id} is still active"):
            loopml.start_run(nested=False)
        assert loopml.active_run() is parent


def test_logging_without_a_run_starts_one_in_the_default_experiment(ctx):
    loopml.log_metric("mae", 1.0)
    run = loopml.active_run()
    assert run is not None and run.experiment == "default"
    loopml.end_run()
    assert loopml.active_run() is None
    assert loopml.get_run(run.id).status is RunStatus.FINISHED


def test_end_run_with_a_status_and_ending_twice(ctx):
    run = loopml.start_run()
    loopml.end_run("killed")
    run.end()  # a second end changes nothing
    assert loopml.get_run(run.id).status is RunStatus.KILLED


def test_metric_history_keeps_ties_in_logging_order_and_counts_steps(ctx):
    with loopml.start_run() as run:
        loopml.log_metric("loss", 5.0, step=3)
        loopml.log_metric("loss", 4.0, step=1)
        loopml.log_metric("loss", 3.0, step=1)  # the same step again: both are kept
        loopml.log_metrics({"loss": 2.0, "acc": 0.5})  # no step: after the highest so far
        loopml.log_metric("acc", 0.7)
    history = [(p.step, p.value) for p in loopml.get_metric_history(run.id, "loss")]
    assert history == [(1, 4.0), (1, 3.0), (3, 5.0), (4, 2.0)]
    assert [(p.step, p.value) for p in loopml.get_metric_history(run.id, "acc")] == [
        (0, 0.5),
        (1, 0.7),
    ]
    assert loopml.get_run(run.id).metrics == {"loss": 2.0, "acc": 0.7}  # latest = highest step
    assert loopml.get_metric_history(run.id, "never-logged") == []


def test_the_latest_value_is_the_highest_step_not_the_last_logged(ctx):
    with loopml.start_run() as run:
        loopml.log_metric("loss", 1.0, step=10)
        run.flush()
        loopml.log_metric("loss", 9.0, step=2)  # a late point of an earlier step
    assert loopml.get_run(run.id).metrics == {"loss": 1.0}


def test_history_of_an_unknown_run_is_not_found(ctx):
    with pytest.raises(loopml.NotFound, match=r"No run with id 0{32}"):
        loopml.get_metric_history("0" * 32, "loss")
    with pytest.raises(loopml.NotFound, match="'abc' is not a run id"):
        loopml.get_run("abc")


def test_tags_can_be_overwritten(ctx):
    with loopml.start_run(tags={"stage": "dev"}) as run:
        loopml.set_tags({"stage": "review", "owner": "ana"})
    assert loopml.get_run(run.id).tags == {"stage": "review", "owner": "ana"}


def test_list_experiments_counts_runs(ctx):
    for experiment in ("b", "a", "b"):
        with loopml.start_run(experiment=experiment):
            pass
    found = {e.name: e.run_count for e in loopml.list_experiments()}
    assert found == {"a": 1, "b": 2}
