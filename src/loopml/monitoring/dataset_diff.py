"""Two versions side by side: schema changes, row counts, the columns whose distribution moved.

Distributions are compared on the versions' stored summaries with monitoring's
drift statistics, so a diff reads no data, however large the versions are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopml.data.entities import DatasetVersion

if TYPE_CHECKING:
    from loopml.artifacts import ArtifactStore
    from loopml.monitoring.drift import DriftReport


@dataclass(frozen=True)
class DatasetDiff:
    old: DatasetVersion
    new: DatasetVersion
    added: list[str]
    removed: list[str]
    retyped: list[tuple[str, str, str]]  # (column, old type, new type)
    drift: DriftReport

    @property
    def moved(self) -> list[str]:
        """Columns whose distribution moved beyond the drift threshold."""
        return self.drift.drifted_columns

    @property
    def same_content(self) -> bool:
        return self.old.digest == self.new.digest

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old.ref,
            "new": self.new.ref,
            "rows": {"old": self.old.num_rows, "new": self.new.num_rows},
            "added": self.added,
            "removed": self.removed,
            "retyped": [{"column": c, "old": o, "new": n} for c, o, n in self.retyped],
            "moved": self.moved,
            "drift": self.drift.to_dict(),
        }


def diff_versions(
    artifacts: ArtifactStore, old: DatasetVersion, new: DatasetVersion
) -> DatasetDiff:
    from loopml.data.service import load_summary
    from loopml.monitoring.drift import compare

    old_types = {c["name"]: c["type"] for c in old.schema}
    new_types = {c["name"]: c["type"] for c in new.schema}
    common = [name for name in new_types if name in old_types]
    retyped = [(n, old_types[n], new_types[n]) for n in common if old_types[n] != new_types[n]]
    comparable = [n for n in common if old_types[n] == new_types[n]]
    drift = compare(load_summary(artifacts, old), load_summary(artifacts, new), comparable)
    return DatasetDiff(
        old=old,
        new=new,
        added=[n for n in new_types if n not in old_types],
        removed=[n for n in old_types if n not in new_types],
        retyped=retyped,
        drift=drift,
    )
