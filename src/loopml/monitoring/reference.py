"""Reference summaries: computed once from the training data, stored as an artifact.

A monitor compares each window with a ``Reference`` (column summaries plus the
optional time-aware bounds) and never reads the raw training data again: a
monitor without an explicit reference uses the reference stored with the
version that serves the segment, made from the rows that version was trained
on (``reference_for``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loopml.data.summary import TableSummary, summarize
from loopml.errors import InvalidInput
from loopml.monitoring.drift import Bound, as_table, chunk_bounds, summary_of

FORMAT = "loopml.reference/1"
_ZIP = b"PK\x03\x04"  # a model package (a zip), which may hold its version's reference


@dataclass(frozen=True)
class Reference:
    summary: TableSummary
    bounds: dict[str, Bound] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "summary": self.summary.to_dict(),
            "bounds": {name: bound.to_dict() for name, bound in self.bounds.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        if data.get("format") != FORMAT:
            raise InvalidInput(
                f"This is not a loopml reference summary (format {data.get('format')!r}).",
                hint="Create one with loopml.make_reference(training_data).",
            )
        bounds = {name: Bound(**value) for name, value in data.get("bounds", {}).items()}
        return cls(TableSummary.from_dict(data["summary"]), bounds)


def make_reference(
    data: Any, *, columns: Sequence[str] | None = None, chunks: int | None = None
) -> Reference:
    """Summarize training data once; with ``chunks``, also the time-aware thresholds.

    A Parquet file is summarized one column at a time, unless ``chunks`` is
    given: the chunks are slices of the whole table, so the file is read whole.
    """
    names = list(columns) if columns is not None else None
    if not chunks:
        return Reference(summary_of(data, "reference", columns=names))
    table = as_table(data, "reference")
    return Reference(summarize(table, columns=names), chunk_bounds(table, chunks, names))


def put_reference(artifacts, reference: Reference) -> str:
    """Store the reference in the artifact store; returns its digest."""
    return artifacts.put_bytes(encode_reference(reference)).digest


def encode_reference(reference: Reference) -> bytes:
    """The stored form of a reference (``put_reference``; a pipeline stores many at once)."""
    return json.dumps(reference.to_dict(), separators=(",", ":")).encode()


def get_reference(artifacts, digest: str) -> Reference:
    """The reference stored as ``digest``: on its own (``put_reference``), or inside the
    model package of the version it belongs to (a pipeline's segments)."""
    return decode_reference(artifacts.get_bytes(digest))


def decode_reference(data: bytes) -> Reference:
    if data[:4] == _ZIP:
        from loopml.models.package import reference_of

        held = reference_of(data)
        if held is None:
            raise InvalidInput(
                "This model package holds no drift reference.",
                hint="Use the version's reference_digest, or make one with "
                "loopml.make_reference(training_data).",
            )
        data = held
    return Reference.from_dict(json.loads(data))


def reference_for(
    artifacts, *, model: str, segment: str, digest: str | None, store=None
) -> Reference:
    """The reference a monitor of ``model`` (and ``segment``) compares with: the one the
    monitor names, else the one stored with the version that serves the segment (the
    summaries of the rows it was trained on: a segment's own rows, a retrained version's
    own), else, for a version registered without one, its training dataset's summaries."""
    if digest is not None:
        return get_reference(artifacts, digest)
    if store is not None:
        found = _champion_reference(store, artifacts, model, segment)
        if found is not None:
            return found
    raise InvalidInput(
        f"The drift monitor of model {model!r} has no reference, and the champion of "
        f"segment {segment or '(none)'!r} was registered with neither a reference nor "
        "its training data.",
        hint="Log the model with datasets=[...], or set `reference` in the monitor to "
        "loopml.save_reference(loopml.make_reference(training_data)).",
    )


def _champion_reference(store, artifacts, model: str, segment: str) -> Reference | None:
    from loopml.data import service as data
    from loopml.errors import NotFound
    from loopml.registry import service as registry

    try:
        version = registry.resolve(store, model, alias="champion", segment=segment)
    except NotFound:
        return None
    if version.reference_digest is not None:
        return get_reference(artifacts, version.reference_digest)
    for dataset_id in version.dataset_version_ids:
        try:
            return Reference(data.load_summary(artifacts, data.resolve_version(store, dataset_id)))
        except NotFound:
            continue
    return None
