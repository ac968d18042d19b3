"""The module-level tracking API: ``loopml.start_run``, ``loopml.log_metric`` …

Each thread has its own stack of active runs; a run started inside another
becomes its child. Runs still active when the interpreter exits are ended:
failed if an uncaught exception is ending the program, finished otherwise.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from loopml._context import get_context
from loopml.errors import InvalidInput
from loopml.tracking import environment, liveness, service
from loopml.tracking.active import ActiveRun
from loopml.tracking.entities import RunStatus

DEFAULT_EXPERIMENT = "default"

_local = threading.local()
_all_active: set[ActiveRun] = set()
_all_lock = threading.Lock()


def _stack() -> list[ActiveRun]:
    try:
        return _local.stack
    except AttributeError:
        _local.stack = []
        return _local.stack


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    nested: bool = True,
) -> ActiveRun:
    """Start a run and make it the active one; use it as a context manager.

    A run started while another is active becomes its child (``nested=False``
    refuses that instead). The experiment defaults to the parent's, else "default".
    """
    stack = _stack()
    parent = stack[-1] if stack else None
    if parent is not None and not nested:
        raise InvalidInput(
            f"Run {parent.id} is still active.",
            hint="End it first (loopml.end_run()) or start a nested run.",
        )
    context = get_context()
    liveness.reap_dead_runs(context.store, context.settings.run_heartbeat_timeout)
    experiment = experiment or (parent.experiment if parent else DEFAULT_EXPERIMENT)
    run_id = service.create_run(
        context.store,
        project=context.settings.project,
        experiment=experiment,
        name=name,
        tags=tags,
        parent_run_id=parent.id if parent else None,
        environment=environment.capture(),
        actor=context.settings.actor,
        heartbeat=True,
    )
    run = ActiveRun(context, run_id, experiment, name)
    stack.append(run)
    with _all_lock:
        _all_active.add(run)
    return run


def active_run() -> ActiveRun | None:
    stack = _stack()
    return stack[-1] if stack else None


@contextmanager
def not_training() -> Iterator[None]:
    """Around loopml's own work (registering, hashing data, the imports they need): the
    runs open on this thread do not count its CPU as training."""
    with ExitStack() as paused:
        for run in list(_stack()):
            paused.enter_context(run.not_training())
        yield


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run (no-op when there is none)."""
    run = active_run()
    if run is not None:
        run.end(status)


def forget(run: ActiveRun) -> None:
    """Called by a run that ended: it is no longer anyone's active run."""
    stack = _stack()
    if run in stack:
        stack.remove(run)
    with _all_lock:
        _all_active.discard(run)


def _current() -> ActiveRun:
    stack = _stack()
    if not stack:
        return start_run()
    return stack[-1]


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _current().set_tags(tags)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    stack = _stack()
    (stack[-1] if stack else _current()).log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _current().log_metrics(metrics, step)


def log_artifact(local_path: str, artifact_path: str | None = None) -> None:
    _current().log_artifact(local_path, artifact_path)


def log_dict(data: Mapping[str, Any], artifact_path: str) -> None:
    _current().log_dict(data, artifact_path)


def log_text(text: str, artifact_path: str) -> None:
    _current().log_text(text, artifact_path)


def log_figure(figure: Any, artifact_path: str) -> None:
    _current().log_figure(figure, artifact_path)


def _end_all_at_exit() -> None:
    failing = getattr(sys, "last_type", None) is not None or _uncaught[0]
    status = RunStatus.FAILED if failing else RunStatus.FINISHED
    with _all_lock:
        runs = list(_all_active)
    for run in runs:
        try:
            run.end(
                status, error="the program ended with an uncaught exception" if failing else None
            )
        except Exception:  # the store is gone; the run stays "running", which is the truth
            continue


_uncaught = [False]
_previous_hook = sys.excepthook


def _excepthook(exc_type, exc, tb) -> None:
    _uncaught[0] = True
    _previous_hook(exc_type, exc, tb)


sys.excepthook = _excepthook
atexit.register(_end_all_at_exit)


def get_run(run_id: str):
    """The run with its params, latest metrics, tags and artifacts."""
    context = get_context()
    liveness.reap_dead_runs(context.store, context.settings.run_heartbeat_timeout, run_id)
    return service.get_run(context.store, run_id)


def get_metric_history(run_id: str, key: str):
    """Every point logged for ``key`` in run ``run_id``, in step order."""
    return service.get_metric_history(get_context().store, run_id, key)


def search_runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: list[str] | None = None,
    max_results: int | None = 1000,
):
    """Runs as a pandas DataFrame; see ``loopml.tracking.query`` for the filter language."""
    from loopml.tracking.query import search_runs as query

    context = get_context()
    liveness.reap_dead_runs(context.store, context.settings.run_heartbeat_timeout)
    experiments = [experiment] if isinstance(experiment, str) else experiment
    return query(
        context.store, context.settings.project, experiments, filter, order_by, max_results
    )


def list_experiments():
    context = get_context()
    return service.list_experiments(context.store, context.settings.project)


def load_artifact(run_id: str, artifact_path: str) -> bytes:
    """The bytes of one artifact of a run, checked against its hash."""
    context = get_context()
    info = service.artifact_digest(context.store, run_id, artifact_path)
    return context.artifacts.get_bytes(info.digest)


def download_artifact(run_id: str, artifact_path: str, destination: str) -> str:
    """Copy one artifact of a run to a local file, checked against its hash."""
    context = get_context()
    info = service.artifact_digest(context.store, run_id, artifact_path)
    return str(context.artifacts.download(info.digest, destination))
