"""A run in progress: the handle ``start_run`` returns.

Used as a context manager it ends itself: finished when the block completes,
failed (with the error kept) when it raises. Everything logged before a
failure stays in the store.
"""

from __future__ import annotations

import io
import json
import os
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.artifacts.paths import check_relative_path
from loopml.errors import LoopmlError, StoreUnavailable
from loopml.tracking import liveness, service
from loopml.tracking.buffer import MetricBuffer
from loopml.tracking.entities import Run, RunStatus
from loopml.tracking.resources import ResourceMeter, TrainingCpu
from loopml.tracking.values import check_key, metric_step, metric_value

if TYPE_CHECKING:
    from loopml._context import Context


class ActiveRun:
    def __init__(self, context: Context, run_id: str, experiment: str, name: str | None) -> None:
        self.id = run_id
        self.experiment = experiment
        self.name = name
        self.status = RunStatus.RUNNING
        self._context = context
        self._store = context.store
        self._meter = ResourceMeter()
        self._metric_keys: set[str] = set()
        settings = context.settings
        self._metrics = MetricBuffer(
            lambda points: service.write_metrics(self._store, run_id, points),
            size=settings.metric_flush_size,
            interval=settings.metric_flush_interval,
            name=run_id,
            heartbeat=lambda: liveness.beat(self._store, run_id),
            heartbeat_interval=settings.run_heartbeat_interval,
        )
        self._training = TrainingCpu()  # last: starting the run is not training

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} experiment={self.experiment!r} status={self.status}>"

    @contextmanager
    def not_training(self) -> Iterator[None]:
        """loopml's own work inside the run: not counted as its training CPU."""
        with self._training.paused():
            yield

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.end()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end(RunStatus.KILLED, error="interrupted (KeyboardInterrupt)")
        else:
            self.end(RunStatus.FAILED, error="".join(traceback.format_exception(exc_type, exc, tb)))

    # parameters, tags, metrics

    def log_param(self, key: str, value: Any) -> None:
        service.log_params(self._store, self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        service.log_params(self._store, self.id, params)

    def set_tag(self, key: str, value: Any) -> None:
        service.set_tags(self._store, self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        service.set_tags(self._store, self.id, tags)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        if type(value) is not float:
            value = metric_value(key, value)
        if step is not None:
            step = metric_step(key, step)
        if type(key) is not str or key not in self._metric_keys:  # check each name once
            self._metric_keys.add(check_key(key, "Metric"))
        self._metrics.add(key, value, step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        checked = [(check_key(k, "Metric"), metric_value(k, v)) for k, v in metrics.items()]
        self._metrics.add_many(checked, metric_step("metrics", step))

    def flush(self) -> None:
        """Write buffered metric points now (they are also written on their own)."""
        self._metrics.flush()

    # artifacts

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Store a file, or every file under a folder, as artifacts of this run."""
        local_path = Path(local_path)
        if local_path.is_dir():
            base = artifact_path or local_path.name
            for file in sorted(p for p in local_path.rglob("*") if p.is_file()):
                self._store_file(file, f"{base}/{file.relative_to(local_path).as_posix()}")
        else:
            self._store_file(local_path, artifact_path or local_path.name)

    def log_text(self, text: str, artifact_path: str) -> None:
        self._store_bytes(text.encode(), artifact_path)

    def log_bytes(self, data: bytes, artifact_path: str) -> None:
        self._store_bytes(data, artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None:
        """Store a dictionary as JSON, or as YAML when the path ends in .yaml/.yml."""
        if artifact_path.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dict(data), sort_keys=False)
        else:
            text = json.dumps(data, indent=2, default=str)
        self.log_text(text, artifact_path)

    def log_figure(self, figure: Any, artifact_path: str) -> None:
        """Store a matplotlib figure (any image format it writes) or a Plotly figure (HTML)."""
        if hasattr(figure, "savefig"):
            buffer = io.BytesIO()
            figure.savefig(buffer, format=Path(artifact_path).suffix.lstrip(".") or "png")
            self._store_bytes(buffer.getvalue(), artifact_path)
        elif hasattr(figure, "to_html"):
            self.log_text(figure.to_html(include_plotlyjs=True, full_html=True), artifact_path)
        else:
            from loopml.errors import InvalidInput

            raise InvalidInput(
                f"log_figure got a {type(figure).__name__}; it takes matplotlib or Plotly figures.",
                hint="Save other images to a file and use log_artifact.",
            )

    def _store_file(self, path: Path, artifact_path: str) -> None:
        check_relative_path(artifact_path, "The artifact path")
        with self.not_training():
            stored = self._context.artifacts.put_file(path)
        service.record_artifact(self._store, self.id, artifact_path, stored.digest, stored.size)

    def _store_bytes(self, data: bytes, artifact_path: str) -> None:
        check_relative_path(artifact_path, "The artifact path")
        with self.not_training():
            stored = self._context.artifacts.put_bytes(data)
        service.record_artifact(self._store, self.id, artifact_path, stored.digest, stored.size)

    # lifecycle

    def end(self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None) -> None:
        """Flush metrics and record the outcome and resource usage. Ending twice is a no-op."""
        if self.status is not RunStatus.RUNNING:
            return
        status = RunStatus(status)
        usage = self._meter.read()
        training = self._training.read()
        if training is not None:  # ended on the thread that started it, as runs are
            usage = replace(usage, cpu_seconds=training)
        try:
            self._metrics.close(
                lambda points: service.end_run(self._store, self.id, status, usage, error, points)
            )
        except Exception as failure:  # the store refused the write: say so, keep the points
            reason = failure.message if isinstance(failure, LoopmlError) else failure
            raise StoreUnavailable(
                f"Run {self.id} could not be ended: {reason} "
                f"{self._metrics.waiting} metric points are still buffered.",
                hint="Fix the store, then call end() again: nothing was lost yet.",
            ) from failure
        self.status = status
        from loopml.tracking import fluent

        fluent.forget(self)

    def info(self) -> Run:
        """The run as the store has it now (metrics flushed first)."""
        self.flush()
        return service.get_run(self._store, self.id)
