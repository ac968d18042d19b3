"""The module-level dataset API: ``loopml.log_dataset``, ``loopml.load_dataset`` …

A dataset logged or loaded while a run is active is recorded as one of its
inputs, so "which data trained this model?" always has an answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml._context import get_context
from loopml.data import service
from loopml.data.entities import DatasetVersion
from loopml.data.rules import Rules

if TYPE_CHECKING:
    import pandas as pd

    from loopml.tracking.entities import Run


def log_dataset(data: Any, name: str, run: Any = None) -> DatasetVersion:
    """Store ``data`` (DataFrame, Arrow table, Parquet or CSV path) as a version of ``name``.

    The same content again returns the existing version. ``run`` (a run or its
    id) defaults to the active run, which records the version as an input.
    """
    from loopml.tracking.fluent import not_training

    context = get_context()
    with not_training():  # hashing and profiling the data is not the run's training
        return service.log_version(
            context.store,
            context.artifacts,
            data,
            name,
            run_id=_run_id(run),
            actor=context.settings.actor,
        )


def get_dataset(name: str, version: int | None = None) -> DatasetVersion:
    """Version ``version`` of ``name`` (newest when None); ``name`` may also be "name@3" or an id."""
    store = get_context().store
    if version is None:
        return service.resolve_version(store, name)
    return service.get_version(store, name, version)


def load_dataset(name: str, version: int | None = None) -> pd.DataFrame:
    """The data of a dataset version as a DataFrame; an active run records it as an input."""
    from loopml.tracking.fluent import not_training

    context = get_context()
    found = get_dataset(name, version)
    with not_training():  # reading the data is not the run's training
        frame = service.load_table(context.artifacts, found).to_pandas()
    run_id = _run_id(None)
    if run_id is not None:
        service.record_run_input(context.store, run_id, found.id)
    return frame


def list_datasets():
    return service.list_datasets(get_context().store)


def runs_of_dataset(name: str, version: int | None = None) -> list[Run]:
    """The runs that used dataset ``name`` (any version, or just ``version``)."""
    return service.runs_of_dataset(get_context().store, name, version)


def datasets_of_run(run_id: Any) -> list[DatasetVersion]:
    """The dataset versions a run used."""
    return service.datasets_of_run(get_context().store, getattr(run_id, "id", run_id))


def set_dataset_rules(name: str, rules: Rules, reason: str | None = None) -> None:
    """Store ``rules`` as the validation rules of dataset ``name``."""
    context = get_context()
    service.set_rules(context.store, name, rules, actor=context.settings.actor, reason=reason)


def get_dataset_rules(name: str) -> Rules:
    return service.get_rules(get_context().store, name)


def _run_id(run: Any) -> str | None:
    if run is None:
        from loopml.tracking.fluent import active_run

        active = active_run()
        return active.id if active is not None else None
    return getattr(run, "id", run)
