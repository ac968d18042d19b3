"""The pipeline as Python: ``loopml.Pipeline`` and ``loopml.load_project``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loopml._context import get_context
from loopml.pipeline.project import load_project, validate_project
from loopml.pipeline.result import PipelineResult
from loopml.pipeline.runner import Progress, run_pipeline
from loopml.pipeline.spec import ProjectSpec
from loopml.pipeline.steps import Step, StepFunction, as_step


class Pipeline:
    """load → validate → your steps → split, train, evaluate per segment → register → gate → promote.

    ``project`` is a ``ProjectSpec``, a dict of the project file's settings, or the
    path of a project file. ``steps`` are typed functions from a DataFrame to a
    DataFrame, run in order after validation.
    """

    def __init__(
        self,
        project: ProjectSpec | Mapping[str, Any] | str | Path,
        *,
        steps: Sequence[StepFunction | Step] = (),
        root: str | Path | None = None,
    ) -> None:
        if isinstance(project, str | Path):
            root = root if root is not None else Path(project).parent
            project = load_project(project)
        elif not isinstance(project, ProjectSpec):
            project = validate_project(project)
        self.spec = project
        self.root = Path(root) if root is not None else Path(".")
        self.steps = [as_step(step) for step in steps]

    @classmethod
    def from_file(
        cls, path: str | Path = "loopml.yaml", *, steps: Sequence[StepFunction | Step] = ()
    ) -> Pipeline:
        return cls(path, steps=steps)

    def run(
        self,
        *,
        force: bool = False,
        executor: str | None = None,
        on_progress: Progress | None = None,
    ) -> PipelineResult:
        """Run what changed since the last run (everything with ``force``).
        ``executor`` overrides execution.executor, e.g. ``"dask://127.0.0.1:8786"``."""
        context = get_context()
        return run_pipeline(
            self.spec,
            store=context.store,
            artifacts=context.artifacts,
            settings=context.settings,
            root=self.root,
            steps=self.steps,
            force=force,
            executor=executor,
            on_progress=on_progress,
        )


__all__ = ["Pipeline", "load_project"]
