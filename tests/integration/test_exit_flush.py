"""At interpreter exit buffered points are written and open runs are ended."""

import pytest
from child import python

import loopml
from loopml.config import Settings
from loopml.tracking import RunStatus

SCRIPT = """
import sys
import loopml

# Nothing is written on size or interval: only the exit can save these points.
loopml.configure(loopml.Settings(metric_flush_size=1_000_000, metric_flush_interval=3600))
run = loopml.start_run(experiment="exit")
print(run.id, flush=True)
for step in range(1000):
    loopml.log_metric("loss", float(step))
if sys.argv[1] == "raise":
    raise RuntimeError("training diverged")
if sys.argv[1] == "exit-code":
    sys.exit(3)
"""


@pytest.mark.parametrize(
    ("how", "returncode", "status"),
    [
        ("return", 0, RunStatus.FINISHED),
        ("exit-code", 3, RunStatus.FINISHED),
        ("raise", 1, RunStatus.FAILED),
    ],
)
def test_points_buffered_at_exit_are_written(
    process_env, store_url, tmp_path, how, returncode, status
):
    child = python(SCRIPT, process_env, how)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == returncode, stderr
    run_id = stdout.strip()

    loopml.configure(Settings(home=tmp_path / "after", store_url=store_url))
    run = loopml.get_run(run_id)
    assert run.status is status and run.end_time is not None
    assert len(loopml.get_metric_history(run_id, "loss")) == 1000
    assert run.metrics == {"loss": 999.0}
    if status is RunStatus.FAILED:
        assert "uncaught exception" in run.error
        assert "training diverged" in stderr  # the user's traceback is still printed
