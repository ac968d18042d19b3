"""Reference summaries: computed once from the training data, stored as an artifact.

A monitor compares each window with a ``Reference`` (column summaries plus the
optional time-aware bounds) and never reads the raw training data again. The
reference of a model version will come from the registry; ``reference_for`` is
the one place where that lookup goes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidInput
from loopml.monitoring.drift import Bound, as_table, chunk_bounds
from loopml.monitoring.summary import TableSummary, summarize

FORMAT = "loopml.reference/1"


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
    """Summarize training data once; with ``chunks``, also the time-aware thresholds."""
    table = as_table(data, "reference")
    names = list(columns) if columns is not None else None
    bounds = chunk_bounds(table, chunks, names) if chunks else {}
    return Reference(summarize(table, columns=names), bounds)


def put_reference(artifacts, reference: Reference) -> str:
    """Store the reference in the artifact store; returns its digest."""
    payload = json.dumps(reference.to_dict(), separators=(",", ":")).encode()
    return artifacts.put_bytes(payload).digest


def get_reference(artifacts, digest: str) -> Reference:
    return Reference.from_dict(json.loads(artifacts.get_bytes(digest)))


def reference_for(artifacts, *, model: str, segment: str, digest: str | None) -> Reference:
    """The reference a monitor of ``model`` (and ``segment``) compares with.

    Registry hook: today the monitor names the reference explicitly (``digest``);
    once the registry stores a reference summary with each model version, the
    serving version's summary for ``segment`` is looked up here.
    """
    if digest is None:
        raise InvalidInput(
            f"The drift monitor of model {model!r} has no reference.",
            hint="Store one with loopml.save_reference(loopml.make_reference(training_data)) and set `reference` in the monitor.",
        )
    return get_reference(artifacts, digest)
