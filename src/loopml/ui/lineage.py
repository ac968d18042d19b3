"""Lineage of a segment's versions, one row each: the dataset versions it learnt from →
the run that trained it → the version → what its prediction log holds."""

from __future__ import annotations

from dataclasses import dataclass

from loopml.data import service as data
from loopml.errors import NotFound
from loopml.predictions.reader import LogSummary, summarize
from loopml.registry.entities import ModelVersion
from loopml.store import Store
from loopml.tracking import service as tracking


@dataclass(frozen=True)
class Link:
    version: ModelVersion
    datasets: list  # DatasetVersion, or the id of one the store no longer has
    run: object | None  # the tracking Run
    log: LogSummary | None  # None: no prediction of this version is logged


def lineage(store: Store, log_root: str, model: str, versions: list[ModelVersion]) -> list[Link]:
    """Links of ``versions`` (one segment's, newest first); the log is read once."""
    logged = {(s.segment, s.version): s for s in summarize(log_root, model)}
    return [
        Link(
            v,
            [_dataset(store, i) for i in v.dataset_version_ids],
            _run(store, v.run_id),
            logged.get((v.segment_key, v.version)),
        )
        for v in versions
    ]


def _dataset(store: Store, version_id: str):
    try:
        return data.get_version_by_id(store, version_id)
    except NotFound:
        return version_id


def _run(store: Store, run_id: str | None):
    if run_id is None:
        return None
    try:
        return tracking.get_run(store, run_id)
    except NotFound:
        return None
