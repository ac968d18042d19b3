"""A rerun with nothing changed, answered from metadata without reading the data.

Planning a run reads, hashes and validates the whole source, which costs about
as much as training a small model family. Before that, a run computes a key
from what it can learn cheaply: the project file, the custom steps' code, the
training code, the data rules, and the source's metadata (path, size and
modification time of a file plus, for Parquet, its footer: row counts and each
column's statistics; the content hash of a registered dataset version). A run
that ended with every segment computed stores its outcomes under that key; a
later run with the same key answers from them. When the metadata changed the
run plans in full (hashing the content), and retrains only the segments whose
rows changed. ``force`` skips the shortcut.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from loopml.errors import LoopmlError, NotFound
from loopml.pipeline import fingerprint as fp
from loopml.pipeline.result import SegmentOutcome
from loopml.pipeline.spec import ProjectSpec
from loopml.pipeline.steps import Step

KEY_TAG = "loopml.unchanged_key"
OUTCOMES_TAG = "loopml.unchanged_outcomes"  # digest of the stored outcomes
_KEPT = ("segment_key", "segment", "status", "reason", "version", "run_id")


def source_metadata(spec: ProjectSpec, root: Path, store) -> Any:
    """What describes the source without reading it; None when nothing does (then the
    run plans in full). Read before planning, so the outcomes are stored under the
    metadata of the data they were computed from."""
    if spec.data.dataset is not None:
        from loopml.data import service

        try:
            return service.resolve_version(store, spec.data.dataset).digest
        except NotFound:
            return None  # planning says so properly
    path = (root / spec.data.path).resolve()
    try:
        stat = path.stat()
    except OSError:
        return None
    described: list[Any] = [str(path), stat.st_size, stat.st_mtime_ns]
    if path.suffix.lower() in (".parquet", ".pq"):
        described.append(_parquet_footer(path))
    return described


def key(spec: ProjectSpec, root: Path, steps: Sequence[Step], store, source: Any) -> str | None:
    """The key of a run over ``source`` (its metadata), with the rules as they are now:
    a first run stores the rules it inferred, which its rerun then reads."""
    if source is None:
        return None
    return fp.digest(
        "unchanged",
        spec.model_dump(mode="json"),
        [(s.name, s.code) for s in steps],
        fp.training_code(),
        source,
        _rules(spec, root, store),
    )


def recall(store, artifacts, run_key: str | None) -> tuple[list[SegmentOutcome], tuple] | None:
    """The outcomes (all cached) and notes stored under ``run_key``, if any."""
    from loopml.tracking import service as tracking

    if run_key is None:
        return None
    run_id = tracking.runs_by_tag(store, KEY_TAG, [run_key]).get(run_key)
    if run_id is None:
        return None
    digest = tracking.get_run(store, run_id).tags.get(OUTCOMES_TAG)
    try:
        stored = json.loads(artifacts.get_bytes(digest))
    except (LoopmlError, TypeError, ValueError):  # gone or damaged: plan in full
        return None
    outcomes = [SegmentOutcome(**_as_cached(o)) for o in stored["segments"]]
    return outcomes, tuple(stored["notes"])


def remember(
    store, artifacts, run_id: str, run_key: str | None, outcomes, notes: Sequence[str]
) -> None:
    """Store the outcomes under ``run_key`` on run ``run_id``, when a rerun would find
    nothing to do: no segment failed or waits for a time budget."""
    from loopml.tracking import service as tracking

    if run_key is None or any(o.status == "failed" or _unfinished(o) for o in outcomes):
        return
    segments = [{k: v for k, v in asdict(o).items() if k in _KEPT} for o in outcomes]
    data = json.dumps({"segments": segments, "notes": list(notes)}, default=str).encode()
    stored = artifacts.put_bytes(data)
    tracking.set_tags(store, run_id, {KEY_TAG: run_key, OUTCOMES_TAG: stored.digest})


def _as_cached(stored: dict[str, Any]) -> dict[str, Any]:
    if stored["status"] == "trained":
        stored = stored | {"status": "cached", "reason": None}
    elif stored["status"] == "skipped" and stored.get("run_id"):
        stored = stored | {"reason": "skipped by an earlier run for the same rows"}
    return stored


def _unfinished(outcome: SegmentOutcome) -> bool:
    """Skipped without a run: the time budget ran out before it, so a rerun trains it."""
    return (
        outcome.status == "skipped"
        and outcome.run_id is None
        and "budget" in (outcome.reason or "")
    )


def _parquet_footer(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).to_dict()
    except (OSError, ValueError):
        return None


def _rules(spec: ProjectSpec, root: Path, store) -> Any:
    from loopml.data import service
    from loopml.pipeline.validate import dataset_name

    if spec.data.rules:
        path = root / spec.data.rules
        return path.read_text() if path.is_file() else None
    try:
        return service.get_rules(store, dataset_name(spec)).to_dict()
    except NotFound:
        return None
