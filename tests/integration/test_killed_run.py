"""A run whose process is killed (SIGKILL: no cleanup at all) leaves a consistent store,
and is marked killed once its heartbeat has been silent for the timeout."""

import signal
import time
from datetime import datetime, timedelta, timezone

from child import python
from sqlalchemy import create_engine, text

import loopml
from loopml.config import Settings
from loopml.tracking import RunStatus

VICTIM = """
import loopml

loopml.configure(loopml.Settings(metric_flush_size=100, metric_flush_interval=0.05,
                                 run_heartbeat_interval=0.1))
run = loopml.start_run(experiment="doomed", name="victim")
loopml.log_params({"alpha": 0.1})
for step in range(250):
    loopml.log_metric("loss", float(step))
run.flush()
print(run.id, flush=True)
step = 250
while True:  # keep writing until killed, so the kill can land mid-transaction
    loopml.log_metric("loss", float(step))
    step += 1
"""


def test_a_killed_run_keeps_what_was_flushed_and_is_marked_killed_after_the_timeout(
    process_env, store_url, tmp_path
):
    victim = python(VICTIM, process_env)
    run_id = victim.stdout.readline().strip()
    assert len(run_id) == 32, victim.stderr.read()
    time.sleep(0.5)  # let a few more batches land while it keeps logging
    loopml.configure(Settings(home=tmp_path / "live", store_url=store_url, run_heartbeat_timeout=2))
    assert loopml.get_run(run_id).status is RunStatus.RUNNING  # alive: its heartbeat is fresh
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL

    loopml.configure(Settings(home=tmp_path / "after", store_url=store_url))
    run = loopml.get_run(run_id)
    assert run.status is RunStatus.RUNNING and run.end_time is None
    assert run.params == {"alpha": "0.1"}
    steps = [p.step for p in loopml.get_metric_history(run_id, "loss")]
    assert len(steps) >= 250  # everything flushed before the kill is there
    assert steps == list(range(len(steps)))  # whole batches only: no gap, no duplicate
    assert run.metrics == {"loss": float(steps[-1])}  # latest value agrees with the history
    unfinished = loopml.search_runs("doomed", filter="status = 'running'")
    assert list(unfinished["run_id"]) == [run_id]

    # The store still opens and works.
    with loopml.start_run(experiment="doomed", name="after") as after:
        loopml.log_metric("loss", 1.0)
    assert loopml.get_run(after.id).status is RunStatus.FINISHED
    # Silent past the timeout, the run is marked killed, ending at its last heartbeat.
    time.sleep(1.5)
    loopml.configure(
        Settings(home=tmp_path / "later", store_url=store_url, run_heartbeat_timeout=1)
    )
    killed = loopml.get_run(run_id)
    assert killed.status is RunStatus.KILLED
    assert killed.end_time is not None and "No heartbeat for 1 s" in killed.error
    assert killed.end_time <= datetime.now(timezone.utc) - timedelta(seconds=1)
    assert loopml.search_runs("doomed", filter="status = 'running'").empty
    assert [p.step for p in loopml.get_metric_history(run_id, "loss")] == steps  # nothing lost
    if store_url.startswith("sqlite"):
        engine = create_engine(store_url)
        with engine.connect() as connection:
            assert connection.scalar(text("PRAGMA integrity_check")) == "ok"
        engine.dispose()
