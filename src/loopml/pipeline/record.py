"""Tracked runs of a pipeline: one per step, one per segment, children of the pipeline run.

Written through the tracking service, so they are ordinary runs: searchable,
with params, tags, metrics, artifacts, resource usage and lineage.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loopml.store import Store
from loopml.tracking import environment, service
from loopml.tracking.entities import RunStatus
from loopml.tracking.resources import ResourceMeter, ResourceUsage

STEP_TAG = "loopml.step"
PIPELINE_TAG = "loopml.pipeline"
SEGMENT_TAG = "loopml.segment"


class Recorder:
    """Starts the runs of one pipeline execution in experiment ``experiment``."""

    def __init__(self, store: Store, artifacts, *, project: str, experiment: str, actor: str):
        self.store, self.artifacts = store, artifacts
        self._project, self._experiment, self._actor = project, experiment, actor
        self._environment = environment.capture()

    def start(
        self, name: str, *, parent: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> StepRun:
        run_id = self._create(
            name, parent, {STEP_TAG: name, PIPELINE_TAG: self._experiment, **(tags or {})}
        )
        return StepRun(self, run_id, name)

    def begin_segments(
        self, parent: str, segments: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[str]:
        """Runs for a chunk of segments (segment key, tags), in one transaction;
        ``end_segments`` records their outcomes once they are registered."""
        runs = [
            (
                f"train {key or '(all rows)'}",
                {
                    STEP_TAG: "train-segment",
                    PIPELINE_TAG: self._experiment,
                    SEGMENT_TAG: key,
                    **tags,
                },
            )
            for key, tags in segments
        ]
        return service.create_runs(
            self.store,
            project=self._project,
            experiment=self._experiment,
            runs=runs,
            parent_run_id=parent,
            environment=self._environment,
            actor=self._actor,
        )

    def end_segments(self, outcomes: Sequence[SegmentEnd]) -> None:
        now = time.time()
        service.end_runs(
            self.store,
            [
                (
                    end.run_id,
                    RunStatus.FAILED if end.error else RunStatus.FINISHED,
                    ResourceUsage(end.wall_seconds, end.cpu_seconds, 0),
                    end.error,
                    [(key, float(value), 0, now) for key, value in end.metrics.items()],
                )
                for end in outcomes
            ],
        )

    def _create(self, name: str, parent: str | None, tags: Mapping[str, Any]) -> str:
        return service.create_run(
            self.store,
            project=self._project,
            experiment=self._experiment,
            name=name,
            tags=tags,
            parent_run_id=parent,
            environment=self._environment,
            actor=self._actor,
        )


@dataclass(frozen=True)
class SegmentEnd:
    run_id: str
    metrics: Mapping[str, float]
    wall_seconds: float
    cpu_seconds: float
    error: str | None = None


class StepRun:
    """A step's run: log to it, then ``finish`` (or use it as a context manager)."""

    def __init__(self, recorder: Recorder, run_id: str, name: str) -> None:
        self.id, self.name = run_id, name
        self._recorder = recorder
        self._meter = ResourceMeter()
        self.metrics: dict[str, float] = {}
        self._done = False

    def __enter__(self) -> StepRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.finish(error="".join(traceback.format_exception(exc_type, exc, tb)))

    def params(self, values: Mapping[str, Any]) -> None:
        service.log_params(self._recorder.store, self.id, values)

    def tags(self, values: Mapping[str, Any]) -> None:
        service.set_tags(self._recorder.store, self.id, values)

    def artifact(self, data: bytes, path: str) -> str:
        stored = self._recorder.artifacts.put_bytes(data)
        service.record_artifact(self._recorder.store, self.id, path, stored.digest, stored.size)
        return stored.digest

    def finish(self, error: str | None = None, *, extra_cpu: float = 0.0) -> None:
        """End the run; ``extra_cpu`` adds CPU seconds spent elsewhere (in workers)."""
        if self._done:
            return
        self._done = True
        usage = self._meter.read()
        if extra_cpu:
            usage = ResourceUsage(
                usage.wall_seconds, usage.cpu_seconds + extra_cpu, usage.peak_rss_bytes
            )
        now = time.time()
        points = [(k, float(v), 0, now) for k, v in self.metrics.items()]
        status = RunStatus.FAILED if error else RunStatus.FINISHED
        service.end_run(self._recorder.store, self.id, status, usage, error, points)
