"""What a pipeline run did, segment by segment: plain data the CLI prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import LoopmlError


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
    monitors: tuple[str, ...] = ()  # monitors of the project file created or updated
    notes: tuple[str, ...] = ()  # what the run decided on its own, e.g. columns left out

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

    def raise_for_failures(self) -> None:
        """``SegmentsFailed`` naming the segments that failed, if any did."""
        failed = self.failures()
        if failed:
            raise SegmentsFailed(self.name, failed)

    def summary(self) -> str:
        declared = (
            f" Monitors created or updated: {', '.join(self.monitors)}." if self.monitors else ""
        )
        if self.up_to_date:
            opening = "Nothing to train" if self.monitors else "Nothing changed"
            return (
                f"{opening} for {self.name!r}: {len(self.segments)} segment(s) are up to date, "
                f"nothing was trained or registered.{declared} Use --force to run again anyway."
            )
        counts = Counter(s.status for s in self.segments)
        parts = [
            f"{counts[k]} {k}" for k in ("trained", "cached", "skipped", "failed") if counts[k]
        ]
        promoted = self.promotions()
        text = f"{self.name}: {len(self.segments)} segment(s): {', '.join(parts) or 'none'}"
        if promoted:
            text += "; " + ", ".join(f"{n} {what}" for what, n in sorted(promoted.items()))
        return text + f"; {self.cpu_seconds:.2f} CPU seconds of training.{declared}"


class SegmentsFailed(LoopmlError):
    """Some segments did not train; the others did and were registered."""

    status_code = 500

    def __init__(self, name: str, failed: list[SegmentOutcome]) -> None:
        shown = ", ".join(s.segment_key or "(all rows)" for s in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        super().__init__(
            f"{len(failed)} segment(s) of {name!r} failed: {shown}{more}.",
            hint="The table above gives each one's reason; fix the data or the model "
            "settings and run again (segments that trained are kept).",
        )
        self.failed = failed
