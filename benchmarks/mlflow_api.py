"""MLflow's client against ``mlflow server`` and against ``loopml serve``, same script.

One workload (``anchor_scripts/mlflow_api_client.py``, run with the MLflow
environment's Python) goes to both servers, up at once, a repetition at a time to
each: MLflow's own tracking server on a SQLite file (its defaults: 4 workers,
artifacts served by the server) and ``loopml serve`` on a SQLite file (one process).
Targets: every figure >= 3x ``mlflow server``, ``log_batch`` >= 10x.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.anchors import MLFLOW_REQUIREMENTS, anchor_python, free_port, run_anchor
from benchmarks.report import markdown_table, write_section

HERE = Path(__file__).parent
WORK = HERE / ".work" / "mlflow_api"
CLIENT = HERE / "anchor_scripts" / "mlflow_api_client.py"
POPULATE = HERE / "anchor_scripts" / "mlflow_api_populate.py"
REPLAY = HERE / "anchor_scripts" / "replay_proxy.py"
SIZES = {
    "metric_calls": int(os.environ.get("BENCH_MLFLOW_API_CALLS", "300")),
    "batches": 20,
    "keys": 1000,
    "runs": int(os.environ.get("BENCH_MLFLOW_API_RUNS", "100")),
    "models": 5,
    "search_runs": int(os.environ.get("BENCH_MLFLOW_API_SEARCH", "10000")),
    "repeats": 3,  # every figure is the median of three: the machine is shared
}


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    python = anchor_python("mlflow", MLFLOW_REQUIREMENTS)
    starts = {"mlflow": _mlflow_server(python), "loopml": _loopml_server()}
    servers: dict[str, tuple[int, subprocess.Popen]] = {}
    try:
        for name, start in starts.items():
            port = free_port()
            servers[name] = port, start(port)
        urls = {name: f"http://127.0.0.1:{port}" for name, (port, _) in servers.items()}
        for port, _ in servers.values():
            _wait_ready(port)
        port = free_port()  # loopml's search answers replayed: the client's own time alone
        servers["replay"] = (
            port,
            _spawn([sys.executable, str(REPLAY), str(port), urls["loopml"]], {}),
        )
        _wait_ready(port)
        urls["replay"] = f"http://127.0.0.1:{port}"
        load = [os.getloadavg()[0]]
        result = run_anchor(python, CLIENT, json.dumps(SIZES), json.dumps(urls))
        load.append(os.getloadavg()[0])
    finally:
        for _, server in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    figures, found = result["figures"], result["found"]
    _report(
        {key: value["mlflow"] for key, value in figures.items()} | found["mlflow"],
        {key: value["loopml"] for key, value in figures.items()} | found["loopml"],
        {key: value["replay"] for key, value in figures.items() if "replay" in value},
        load,
    )


def _fill_loopml(home: Path, count: int) -> None:
    """The runs ``search_runs`` goes through, written in bulk before the server starts
    (the same rows as the MLflow side: metric ``score``, tag ``group``); not timed."""
    from loopml._context import Context
    from loopml.config import Settings
    from loopml.tracking import environment, service
    from loopml.tracking.entities import RunStatus
    from loopml.tracking.resources import ResourceUsage

    context = Context(Settings(home=home, actor="bench"))
    for start in range(0, count, 1000):
        indexes = range(start, min(start + 1000, count))
        ids = service.create_runs(
            context.store,
            project="default",
            experiment="search",
            runs=[(f"r{i}", {"group": str(i % 10)}) for i in indexes],
            parent_run_id=None,
            environment=environment.capture(),
            actor="bench",
        )
        usage = ResourceUsage(0.0, 0.0, 0)
        service.end_runs(
            context.store,
            [
                (run_id, RunStatus.FINISHED, usage, None, [("score", (i % 100) / 100, 0, 0.0)])
                for run_id, i in zip(ids, indexes, strict=True)
            ],
        )
    context.close()


def _mlflow_server(python: Path):
    folder = WORK / "mlflow"
    folder.mkdir()
    run_anchor(python, POPULATE, str(folder / "mlflow.db"), str(SIZES["search_runs"]))
    command = [
        str(python.parent / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
    ]
    # Its job runner serves GenAI scorers, not tracking: off, so it adds no processes.
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return lambda port: _spawn([*command, "--port", str(port)], env)


def _loopml_server():
    _fill_loopml(WORK / "loopml", SIZES["search_runs"])
    env = {"LOOPML_HOME": str(WORK / "loopml"), "LOOPML_ACTOR": "bench"}
    command = [sys.executable, "-c", "import sys; from loopml.cli import main; main(sys.argv[1:])"]
    return lambda port: _spawn(
        [*command, "serve", "--port", str(port), "--log-level", "warning"], env
    )


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LOOPML_", "MLFLOW_"))}
    return subprocess.Popen(
        command,
        env={**clean, **env, "MLFLOW_DISABLE_TELEMETRY": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_ready(port: int, timeout: float = 180) -> None:
    """Both servers answer MLflow's experiment lookup once they are up."""
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get?experiment_id=0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"no server answered on port {port}")


def _report(mlflow: dict, loopml: dict, replay: dict, load: list[float]) -> None:
    def row(what: str, key: str, per: float, unit: str, target: str) -> list[str]:
        """``per`` > 0: a rate (items per second); otherwise seconds per item."""
        cells = [what]
        for part in ("wall", "wait"):
            anchor, ours = mlflow[key][part], loopml[key][part]
            if per:
                cells += [f"{per / anchor:,.{unit}}", f"{per / ours:,.{unit}}"]
            else:
                cells += [f"{anchor:,.{unit}}", f"{ours:,.{unit}}"]
            cells.append(f"**{anchor / ours:.1f}×**")
        # The client's own time per item (the same against either server) bounds the
        # wall-time ratio: even a server that answered at once would leave it. For the
        # searches it is measured: the wall time against loopml's answers replayed.
        client = replay[key]["wall"] if key in replay else loopml[key]["wall"] - loopml[key]["wait"]
        bound = f"{mlflow[key]['wall'] / client:.1f}×" + (" (replayed)" if key in replay else "")
        return [*cells, bound, target]

    rows = [
        row("`log_metric` calls/s (synchronous)", "log_metric", 1, "0f", "≥ 3×"),
        row(f"`log_batch` points/s ({SIZES['keys']:,} per call)", "log_batch", 1, "0f", "≥ 10×"),
        row("runs/s (`start_run` + `end_run`)", "runs", 1, "1f", "≥ 3×"),
        row(f"`search_runs` over {mlflow['found_all']:,} runs (s)", "search", 0, "2f", "≥ 3×"),
        row("`search_runs`, metric and tag filter (s)", "filtered", 0, "3f", "≥ 3×"),
        row("`sklearn.log_model` + register (s each)", "log_model", 0, "3f", "≥ 3×"),
    ]
    targets = {
        "log_metric": 3,
        "log_batch": 10,
        "runs": 3,
        "search": 3,
        "filtered": 3,
        "log_model": 3,
    }
    missed = {
        part: [k for k, x in targets.items() if mlflow[k][part] / loopml[k][part] < x] or ["none"]
        for part in ("wall", "wait")
    }
    header = [
        "what",
        "mlflow server",
        "loopml serve",
        "ratio",
        "mlflow: waiting",
        "loopml: waiting",
        "ratio",
        "wall ratio at best",
        "target",
    ]
    body = f"""## MLflow's client: `mlflow server` vs `loopml serve`

The unmodified MLflow 3 client runs one script against both servers on 127.0.0.1, both on
SQLite: `mlflow server` with its defaults (4 workers, proxied artifacts) and `loopml serve`
(one process). Both are up at once and each repetition of a workload goes to one server,
then to the other (taking turns at going first), so load from other work on the machine
weighs on both alike. Ratio = how many times faster loopml is. Each figure is the median of
{SIZES["repeats"]} repetitions ({SIZES["metric_calls"]:,} `log_metric` calls,
{SIZES["batches"]} batches, {SIZES["runs"]} runs, {SIZES["models"]} models after one not timed).

The first three columns are what the script sees (wall time). The client does much of the
work itself (protobuf and JSON both ways, for `search_runs` a pandas DataFrame of every
run, for `log_model` saving the model and its environment files), and that part costs the
same against either server. The "waiting" columns subtract it: wall time less the client
process's own CPU time, that is the time the client waited for its answers — what the
server costs it (on a loaded machine this includes time the client waited for a core).
"Wall ratio at best" is the wall-time ratio a server answering in no time at all would
reach: `mlflow server`'s wall time over the client's own time. For the two searches that
time is measured rather than inferred (marked "replayed"): the same client, in the same
run, searched through a proxy in front of loopml that had kept loopml's answers and sent
them back at once ({_replayed(replay)}). This is an analysis of the bound only; no
figure of loopml above comes from a replay.

{markdown_table(header, rows)}

Both searches found the same runs (MLflow {mlflow["found_all"]:,} / {mlflow["found_filtered"]:,},
loopml {loopml["found_all"]:,} / {loopml["found_filtered"]:,}). The search runs were written
into each store in bulk before its server started (not timed). Targets missed on wall
time: {", ".join(missed["wall"])}; on waiting: {", ".join(missed["wait"])}. The machine's
load average (1 minute, 2 cores shared with other work) was {load[0]:.1f} when the script
started and {load[1]:.1f} when it ended.
"""
    write_section("mlflow_api", body)
    print(body)


def _replayed(replay: dict) -> str:
    """The client's own wall time per search, against answers that cost nothing."""
    parts = [f"{what} {replay[key]['wall']:.2f} s" for key, what in _SEARCHES if key in replay]
    return "client alone: " + ", ".join(parts)


_SEARCHES = (("search", "all runs"), ("filtered", "filtered"))


if __name__ == "__main__":
    main()
