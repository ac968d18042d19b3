"""What a pipeline run did, segment by segment: plain data the CLI prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SegmentOutcome:
    segment_key: str
    segment: dict[str, Any]
    status: str  # trained, cached, skipped, failed
    reason: str | None = None  # why skipped or failed
    version: int | None = None
    promotion: str | None = None  # promoted, approval requested, gate failed, not promoted
    gate: str | None = None  # the failed checks, with their numbers
    metrics: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    run_id: str | None = None

    @property
    def promoted(self) -> bool:
        return self.promotion == "promoted"


@dataclass(frozen=True)
class PipelineResult:
    name: str
    run_id: str | None  # the pipeline run; None when nothing had changed
    segments: list[SegmentOutcome]
    steps: dict[str, str]  # step → ran or cached
    dataset_version_id: str | None = None
    wall_seconds: float = 0.0

    @property
    def up_to_date(self) -> bool:
        """Nothing had changed: no step ran and no segment trained."""
        return self.run_id is None

    def count(self, status: str) -> int:
        return sum(1 for s in self.segments if s.status == status)

    def failures(self) -> list[SegmentOutcome]:
        return [s for s in self.segments if s.status == "failed"]

    def skipped(self) -> list[SegmentOutcome]:
        return [s for s in self.segments if s.status == "skipped"]

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds spent training the model family in this run (all segments)."""
        return sum(s.cpu_seconds for s in self.segments if s.status in ("trained", "failed"))

    def promotions(self) -> Counter:
        return Counter(s.promotion for s in self.segments if s.promotion)

    def summary(self) -> str:
        if self.up_to_date:
            return (
                f"Nothing changed for {self.name!r}: {len(self.segments)} segment(s) are up to "
                "date, nothing was trained or registered. Use --force to run again anyway."
            )
        counts = Counter(s.status for s in self.segments)
        parts = [
            f"{counts[k]} {k}" for k in ("trained", "cached", "skipped", "failed") if counts[k]
        ]
        promoted = self.promotions()
        text = f"{self.name}: {len(self.segments)} segment(s): {', '.join(parts) or 'none'}"
        if promoted:
            text += "; " + ", ".join(f"{n} {what}" for what, n in sorted(promoted.items()))
        return text + f"; {self.cpu_seconds:.2f} CPU seconds of training."
