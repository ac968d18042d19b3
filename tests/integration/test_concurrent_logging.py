"""Eight processes logging to one store at once lose no metric point."""

from child import python

import loopml
from loopml.config import Settings

WRITERS = 8
POINTS = 2_000

WRITER = """
import sys
import loopml

# Small batches, so the writers' transactions interleave many times.
loopml.configure(loopml.Settings(metric_flush_size=50))
writer = int(sys.argv[1])
with loopml.start_run(experiment="parallel", name=f"writer-{writer}") as run:
    loopml.log_param("writer", writer)
    for step in range(int(sys.argv[2])):
        loopml.log_metric("loss", writer + step / 10_000, step=step)
        if step % 500 == 0:
            loopml.set_tag("progress", step)
print(run.id)
"""


def test_eight_processes_lose_no_metric_point(process_env, store_url, tmp_path):
    processes = [python(WRITER, process_env, str(writer), str(POINTS)) for writer in range(WRITERS)]
    outputs = [process.communicate(timeout=240) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    run_ids = [stdout.strip() for stdout, _ in outputs]

    loopml.configure(Settings(home=tmp_path / "reader", store_url=store_url))
    frame = loopml.search_runs("parallel", filter="status = 'finished'")
    assert sorted(frame["run_id"]) == sorted(run_ids)
    for writer, run_id in enumerate(run_ids):
        history = loopml.get_metric_history(run_id, "loss")
        assert [p.step for p in history] == list(range(POINTS)), f"writer {writer}"
        assert history[-1].value == writer + (POINTS - 1) / 10_000
        run = loopml.get_run(run_id)
        assert run.params == {"writer": str(writer)}
        assert run.metrics == {"loss": history[-1].value}
    assert [e.run_count for e in loopml.list_experiments()] == [WRITERS]
