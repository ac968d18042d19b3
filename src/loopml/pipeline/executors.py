"""Fan-out through joblib onto an existing engine: local processes, Dask or Ray.

``local`` uses joblib's loky processes; ``dask://host:8786`` connects a Dask
``Client`` and uses joblib's Dask backend; ``ray://host:10001`` uses joblib's
Ray backend. Which engine runs a chunk never changes what it computes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from loopml.errors import LoopmlError, MissingExtra, require


class ExecutorUnavailable(LoopmlError, ConnectionError):
    status_code = 503


def check(executor: str) -> None:
    """Fail before any work starts when the executor's engine is not installed."""
    if executor.startswith(("dask://", "tcp://")):
        require("distributed", what=f"The executor {executor!r}", extra="dask")
    elif executor.startswith("ray://"):
        require("ray", what=f"The executor {executor!r}", extra="ray")


def warm_up(executor: str, max_workers: int | None) -> threading.Thread | None:
    """Start the local worker processes in the background while the run is planned:
    starting them and importing the model libraries takes a second or two, which
    planning (reading, validating, hashing) can hide."""
    workers = max_workers or os.cpu_count() or 1
    if executor != "local" or workers == 1:
        return None
    thread = threading.Thread(target=_start_local_workers, args=(workers,), daemon=True)
    thread.start()
    return thread


def _start_local_workers(workers: int) -> None:
    import joblib

    with contextlib.suppress(Exception):  # a failure here shows again, properly, when used
        joblib.Parallel(n_jobs=workers, backend="loky")(
            joblib.delayed(_import_training)() for _ in range(workers)
        )


def _import_training() -> None:
    import sklearn.linear_model  # noqa: F401
    import skops.io  # noqa: F401

    import loopml.models.flavors.sklearn
    import loopml.pipeline.work  # noqa: F401


@contextlib.contextmanager
def engine(executor: str, max_workers: int | None) -> Iterator[int]:
    """Configure joblib for ``executor``; yields how many tasks run at once."""
    import joblib

    if executor == "local":
        workers = max_workers or os.cpu_count() or 1
        with joblib.parallel_config(backend="loky", n_jobs=workers):
            yield workers
    elif executor.startswith(("dask://", "tcp://")):
        with _dask(executor, max_workers) as workers:
            yield workers
    else:
        with _ray(executor, max_workers) as workers:
            yield workers


def run_tasks(function: Callable[..., Any], tasks: Iterable[tuple], workers: int) -> Iterator[Any]:
    """Results of ``function(*task)`` as each task finishes (in any order)."""
    import joblib

    tasks = list(tasks)
    if workers == 1 or len(tasks) == 1:  # no process to start for one lane
        for task in tasks:
            yield function(*task)
        return
    parallel = joblib.Parallel(n_jobs=workers, return_as="generator_unordered")
    yield from parallel(joblib.delayed(function)(*task) for task in tasks)


@contextlib.contextmanager
def _dask(executor: str, max_workers: int | None) -> Iterator[int]:
    import joblib

    distributed = require("distributed", what=f"The executor {executor!r}", extra="dask")
    address = "tcp://" + executor.split("://", 1)[1]
    try:
        _probe(address)  # a refused port fails now, not after the client's timeout
        client = distributed.Client(address, timeout="10s", set_as_default=False)
    except OSError as error:
        raise ExecutorUnavailable(
            f"No Dask scheduler answered at {address} ({error}).",
            hint="Start one (dask scheduler) or fix execution.executor in the project file.",
        ) from None
    try:
        threads = sum(client.nthreads().values()) or 1
        workers = min(max_workers or threads, threads)
        with joblib.parallel_config(backend="dask", n_jobs=workers, client=client):
            yield workers
    finally:
        client.close()


def _probe(address: str) -> None:
    import socket

    host, _, port = address.removeprefix("tcp://").rpartition(":")
    if not port.isdigit():
        raise OSError(f"{address!r} has no port; write dask://host:8786")
    socket.create_connection((host, int(port)), timeout=10).close()


@contextlib.contextmanager
def _ray(executor: str, max_workers: int | None) -> Iterator[int]:
    import joblib

    ray = require("ray", what=f"The executor {executor!r}", extra="ray")
    try:
        from ray.util.joblib import register_ray
    except ImportError as error:  # a ray without its joblib backend
        raise MissingExtra(f"The executor {executor!r}", "ray") from error
    register_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=executor, ignore_reinit_error=True)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = min(max_workers or cpus, cpus)
        with joblib.parallel_config(backend="ray", n_jobs=workers):
            yield workers
    finally:
        if started:
            ray.shutdown()
