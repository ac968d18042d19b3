"""NVIDIA FLARE runs the rounds: this module builds the job and runs it on loopback.

``run`` starts the engine in a process of its own (so its logging and threads
stay out of the caller) with NVFLARE's simulator: the coordinator's controller
in the engine's server, and each participant's ``site`` script in a process of
its own that opens that participant's store. The same job runs unchanged on
NVFLARE's POC or production deployments, where each organisation starts its
own client. What comes back is the controller's journal. The engine's processes
carry a marker in their environment, so that when a run ends (finished, failed or
past its time) none of them is left behind holding ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.errors import require
from loopml.federated import privacy, secure

CONTROLLER = "loopml.federated.controller.JournaledFedAvg"
BAGGING = "loopml.federated.controller.TreeBagging"
SHARED = "loopml.federated.controller.SharedForest"
ENCRYPTED = "loopml.federated.controller.EncryptedSum"
# The engine copies a job's scripts into the job; loopml itself is installed, so the
# participants' script is this one line, and loopml is an app package it never copies.
LAUNCHER = "from loopml.federated.site import main\n\nmain()\n"
# Every process of one engine run inherits this variable (the run's folder), so none outlives it.
MARKER = "LOOPML_FEDERATION_ENGINE"
STARTUP = 300  # seconds an engine run may take beyond its rounds' deadlines (start, shutdown)
GRACE = 15  # seconds the engine may take to shut down once a round failed


@dataclass(frozen=True)
class EngineRun:
    returncode: int
    journal: list[dict[str, Any]]
    log: str  # where the engine's own logs are, for the error message


def run(spec: dict[str, Any], workdir: Path) -> EngineRun:
    """Run the job ``spec`` (see ``_job``) and return the controller's journal.

    Every round waits at most ``spec["round_timeout"]`` seconds; the whole run gets
    ``STARTUP`` seconds more, after which the engine is ended. Either way, no process
    of the run outlives it."""
    require("nvflare", what="Federated learning", extra="federated")
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "journal": str(workdir / "journal.jsonl"), "workspace": str(workdir / "engine")}
    Path(spec["journal"]).unlink(missing_ok=True)
    spec_path = workdir / "job.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    log = workdir / "engine.log"
    marker = str(workdir.resolve())
    with log.open("w", encoding="utf-8") as out:
        # In its own folder (the engine copies scripts by their path relative to it), and
        # marked, so that every process it starts can be found and ended.
        process = subprocess.Popen(
            [sys.executable, "-m", "loopml.federated.engine", str(spec_path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=workdir,
            env={**os.environ, MARKER: marker},
        )
        limit = STARTUP + spec["num_rounds"] * spec["round_timeout"]
        try:
            returncode = _wait(process, Path(spec["journal"]), limit, out)
        finally:
            end_processes(marker)
    return EngineRun(returncode, read_journal(Path(spec["journal"])), str(log))


def _wait(process: subprocess.Popen, journal: Path, limit: float, out) -> int:
    """The engine's exit code; it is ended at ``limit`` seconds, or ``GRACE`` seconds after a
    round failed (its shutdown can wait for ever on a participant that never answered)."""
    start = time.monotonic()
    failed_at = None
    while (returncode := process.poll()) is None:
        now = time.monotonic()
        if failed_at is None and _has_failed(journal):
            failed_at = now
        if now - start >= limit or (failed_at is not None and now - failed_at >= GRACE):
            os.killpg(process.pid, signal.SIGKILL)
            out.write(f"\nloopml: the engine was ended after {now - start:.0f} s\n")
            return process.wait()
        time.sleep(0.5)
    return returncode


def _has_failed(journal: Path) -> bool:
    """Whether the controller wrote that a round failed (read as text: a line may be half written)."""
    from loopml.federated.controller import ROUND_FAILED

    return journal.exists() and f'"kind": "{ROUND_FAILED}"' in journal.read_text(encoding="utf-8")


def end_processes(marker: str) -> list[int]:
    """End every process still carrying ``marker`` (one engine run's); returns their ids.

    The simulator starts its participants' workers and their training scripts in
    sessions of their own, so ending the engine's process group does not reach them,
    and a worker whose engine died keeps its ports. Found by the environment they
    inherit, they are ended wherever they were reparented."""
    import psutil

    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get(MARKER) == marker:
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    for process in found:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(found, timeout=10)
    return [process.pid for process in found]


def read_journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _job(spec: dict[str, Any]):
    from nvflare.job_config.api import FedJob
    from nvflare.job_config.defs import FilterType
    from nvflare.job_config.script_runner import FrameworkType, ScriptRunner

    from loopml.federated.controller import (
        EncryptedSum,
        JournaledFedAvg,
        SharedForest,
        TreeBagging,
    )

    job = FedJob(name="federation", min_clients=spec["min_participants"], fail_fast=True)
    job.set_app_packages(["loopml"])
    launcher = Path(spec["workspace"]).with_name("participant.py")
    launcher.write_text(LAUNCHER, encoding="utf-8")
    aggregator = {"bagging": TreeBagging, "histogram": SharedForest}.get(spec.get("strategy"))
    if spec.get("secure_aggregation"):
        aggregator = EncryptedSum
    controller = JournaledFedAvg(
        num_clients=len(spec["members"]),
        num_rounds=spec["num_rounds"],
        model=spec["initial"],
        journal=spec["journal"],
        min_participants=spec["min_participants"],
        participants=[member["name"] for member in spec["members"]],
        round_timeout=int(spec["round_timeout"]),
        fedprox_mu=spec.get("fedprox_mu"),
        aggregator=aggregator() if aggregator else None,
    )
    job.to_server(controller, id="controller")
    for member in spec["members"]:
        args = [
            "--home",
            member["home"],
            "--federation",
            spec["federation"],
            "--member",
            member["name"],
            "--participants",
            str(len(spec["members"])),
            *(["--segment", spec["segment"]] if spec.get("segment") else []),
            *(["--tracker", spec["tracker"]] if spec.get("tracker") else []),
        ]
        runner = ScriptRunner(
            script=str(launcher),
            script_args=args,
            launch_external_process=True,
            command=[sys.executable, "-u"],
            framework=FrameworkType.NUMPY,
        )
        job.to(runner, member["name"])
        if spec.get("privacy"):
            job.to(
                privacy.engine_filter(spec["privacy"]),
                member["name"],
                filter_type=FilterType.TASK_RESULT,
                tasks=["train"],
            )
        if spec.get("secure_aggregation"):  # in the participant's engine: its key stays there
            encryptor, decryptor = secure.engine_filters(member["key"])
            job.to(encryptor, member["name"], filter_type=FilterType.TASK_RESULT, tasks=["train"])
            job.to(decryptor, member["name"], filter_type=FilterType.TASK_DATA, tasks=["train"])
    return job


def _allow_controller(workspace: Path) -> None:
    """NVFLARE builds only classes on its allow-list: the defaults plus our controller."""
    from nvflare.app_common.default_component_policy import DEFAULT_CLASS_ALLOW_LIST

    local = workspace / "local"
    local.mkdir(parents=True, exist_ok=True)
    resources = {
        "format_version": 2,
        "class_allow_list": [*DEFAULT_CLASS_ALLOW_LIST, CONTROLLER, BAGGING, SHARED, ENCRYPTED],
    }
    (local / "resources.json.default").write_text(json.dumps(resources), encoding="utf-8")


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    workspace = Path(spec["workspace"])
    _allow_controller(workspace)
    names = [member["name"] for member in spec["members"]]
    tracker = None
    if spec.get("strategy") == "histogram":
        # XGBoost's collective needs a tracker that introduces the participants to each
        # other; the coordinator hosts it for the one task in which they grow the trees.
        from xgboost.tracker import RabitTracker

        tracker = RabitTracker(
            n_workers=len(names),
            host_ip=spec.get("tracker_host", "127.0.0.1"),
            sortby="task",
            timeout=spec.get("tracker_timeout", 300),
        )
        tracker.start()
        found = tracker.worker_args()
        spec["tracker"] = f"{found['dmlc_tracker_uri']}:{found['dmlc_tracker_port']}"
    status = _job(spec).simulator_run(str(workspace), clients=names, threads=len(names))
    if tracker is not None and not status:
        tracker.wait_for(timeout=60)
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
