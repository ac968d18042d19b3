"""``loopml run``: load → validate → custom steps → split, train, evaluate per segment
(fanned out) → register → gate → promote, each a tracked run with lineage.

The coordinating process does every write; workers only compute. Results are
registered as they arrive, so the store works while the workers train.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from loopml.errors import LoopmlError
from loopml.pipeline import executors, presets, unchanged
from loopml.pipeline.declare import declare_gate, declare_monitors
from loopml.pipeline.fingerprint import CACHE_TAG
from loopml.pipeline.inputs import Chunk
from loopml.pipeline.plan import OUTPUT, Plan, make_plan
from loopml.pipeline.record import Recorder, SegmentEnd, StepRun
from loopml.pipeline.result import PipelineResult, SegmentOutcome
from loopml.pipeline.segments import chunk_size, chunks
from loopml.pipeline.spec import ProjectSpec
from loopml.pipeline.steps import Step, StepFunction, as_step
from loopml.pipeline.work import SegmentResult, train_chunk

Progress = Callable[[int, int], None]  # segments done, segments to train
DATASET_TAG = "loopml.dataset_version"
_BUDGET = "the run's time budget was used up"


def run_pipeline(
    spec: ProjectSpec,
    *,
    store,
    artifacts,
    settings,
    root: Path = Path("."),
    steps: Sequence[StepFunction | Step] = (),
    force: bool = False,
    executor: str | None = None,
    on_progress: Progress | None = None,
) -> PipelineResult:
    """Run the project's pipeline; segments and steps already computed are not redone."""
    started = time.perf_counter()
    executor = executor or spec.execution.executor
    executors.check(executor)
    steps = [as_step(s) for s in steps]
    source = None if force else unchanged.source_metadata(spec, root, store)
    recalled = unchanged.recall(store, artifacts, unchanged.key(spec, root, steps, store, source))
    if recalled is not None:
        names = ["load", "validate", "register", *(s.name for s in steps), "train"]
        return _up_to_date(spec, store, settings, *recalled, names, started)
    warming = executors.warm_up(executor, spec.execution.max_workers)
    presets.import_in_background(spec.model.preset, spec.model.estimator, spec.task)
    plan = make_plan(spec, root, steps, store, artifacts, force=force)
    if warming is not None:
        warming.join()
    if plan.up_to_date:
        outcomes = _cached_outcomes(plan) + _too_small(plan)
        run_key = unchanged.key(spec, root, steps, store, source)
        unchanged.remember(
            store, artifacts, plan.cached_steps["register"], run_key, outcomes, plan.notes
        )
        names = [*plan.step_keys, *(c.step.name for c in plan.custom), "train"]
        return _up_to_date(spec, store, settings, outcomes, plan.notes, names, started)
    execution = _Execution(plan, store, artifacts, settings, executor, on_progress)
    result = execution.run()
    run_key = unchanged.key(spec, root, steps, store, source)
    unchanged.remember(store, artifacts, result.run_id, run_key, result.segments, result.notes)
    return replace(result, wall_seconds=time.perf_counter() - started)


def _up_to_date(spec, store, settings, outcomes, notes, names, started) -> PipelineResult:
    monitors = declare_monitors(store, spec, actor=settings.actor)
    return PipelineResult(
        spec.name,
        None,
        outcomes,
        dict.fromkeys(names, "cached"),
        monitors=tuple(monitors),
        notes=notes,
        wall_seconds=time.perf_counter() - started,
    )


class _Execution:
    def __init__(self, plan: Plan, store, artifacts, settings, executor, on_progress) -> None:
        self.plan, self.spec = plan, plan.spec
        self.store, self.artifacts, self.actor = store, artifacts, settings.actor
        self.executor = executor or self.spec.execution.executor
        self.on_progress = on_progress
        self.recorder = Recorder(
            store,
            artifacts,
            project=settings.project,
            experiment=self.spec.name,
            actor=settings.actor,
        )
        self.steps: dict[str, str] = {}
        self.dataset_version_id: str | None = None

    def run(self) -> PipelineResult:
        pipeline = self.recorder.start("pipeline")
        try:
            pipeline.params(_params(self.spec))
            self._load(pipeline.id)
            self._validate(pipeline.id)
            self._custom_steps(pipeline.id)
            declare_gate(self.store, self.spec, actor=self.actor)
            outcomes = self._train_and_register(pipeline.id)
            monitors = declare_monitors(self.store, self.spec, actor=self.actor)
        except BaseException as error:
            pipeline.finish(error=f"{type(error).__name__}: {error}")
            raise
        trained = [o for o in outcomes if o.status in ("trained", "failed")]
        pipeline.metrics = {
            **{
                f"segments_{k}": sum(o.status == k for o in outcomes)
                for k in ("trained", "cached", "skipped", "failed")
            },
            "segments_promoted": sum(o.promoted for o in outcomes),
            "segment_cpu_seconds": sum(o.cpu_seconds for o in trained),
        }
        pipeline.finish(extra_cpu=pipeline.metrics["segment_cpu_seconds"])
        return PipelineResult(
            self.spec.name,
            pipeline.id,
            outcomes,
            self.steps,
            self.dataset_version_id,
            monitors=tuple(monitors),
            notes=self.plan.notes,
        )

    # load, validate, custom steps

    def _load(self, parent: str) -> None:
        from loopml.data import service as data

        cached = self.plan.cached_steps.get("load")
        if cached is not None:
            self.steps["load"] = "cached"
            self.dataset_version_id = _tag(self.store, cached, DATASET_TAG)
            return
        source = self.plan.source
        with self._step("load", parent, self.plan.step_keys["load"]) as run:
            if source.dataset_version is not None:
                version = source.dataset_version
                data.record_run_input(self.store, run.id, version.id)
            else:
                version = data.log_version(
                    self.store,
                    self.artifacts,
                    source.frame,
                    self.plan.dataset,
                    run_id=run.id,
                    actor=self.actor,
                )
            run.tags({DATASET_TAG: version.id, "loopml.source": source.label})
            run.metrics = {"rows": len(source.frame), "columns": source.frame.shape[1]}
        self.dataset_version_id = version.id

    def _validate(self, parent: str) -> None:
        from loopml.data import service as data

        validation = self.plan.validation
        if "validate" in self.plan.cached_steps:
            self.steps["validate"] = "cached"
            return
        with self._step("validate", parent, self.plan.step_keys["validate"]) as run:
            run.tags({"loopml.rules": validation.origin})
            run.artifact(
                json.dumps(validation.report.to_dict(), default=str).encode(), "validation.json"
            )
            if validation.origin == "inferred":
                data.set_rules(
                    self.store,
                    self.plan.dataset,
                    validation.rules,
                    actor=self.actor,
                    reason=f"inferred by loopml run of {self.spec.name!r}",
                )
            run.metrics = {"warnings": len(validation.report.warnings)}

    def _custom_steps(self, parent: str) -> None:
        for custom in self.plan.custom:
            if custom.cached_run:
                self.steps[custom.step.name] = "cached"
                continue
            with self._step(custom.step.name, parent, custom.key) as run:
                buffer = io.BytesIO()
                custom.output.to_parquet(buffer, index=False)
                run.artifact(buffer.getvalue(), OUTPUT)
                run.metrics = {"rows": len(custom.output), "columns": custom.output.shape[1]}

    def _step(self, name: str, parent: str, key: str | None) -> StepRun:
        self.steps[name] = "ran"
        return self.recorder.start(name, parent=parent, tags={CACHE_TAG: key} if key else None)

    # segments

    def _train_and_register(self, parent: str) -> list[SegmentOutcome]:
        plan = self.plan
        outcomes = _cached_outcomes(plan) + _too_small(plan)
        register = self._step("register", parent, plan.step_keys["register"])
        try:
            outcomes = self._promote_cached(outcomes)
            with self._step("train", parent, None) as train:
                train.params(_train_params(plan))
                outcomes += self._fan_out(train.id)
                fresh = [o for o in outcomes if o.status in ("trained", "failed")]
                cpu = sum(o.cpu_seconds for o in fresh)
                train.metrics = {"segments": len(fresh), "segment_cpu_seconds": cpu}
            register.metrics = _promotion_metrics(outcomes)
        except BaseException as error:
            register.finish(error=f"{type(error).__name__}: {error}")
            raise
        register.finish()
        return sorted(outcomes, key=lambda o: o.segment_key)

    def _fan_out(self, train_run: str) -> list[SegmentOutcome]:
        plan, execution = self.plan, self.spec.execution
        todo = plan.to_train
        if not todo:
            return []
        budget = execution.time_budget
        deadline = time.time() + budget.total_seconds() if budget is not None else None
        work = replace(plan.train, deadline=deadline)
        columns = list(
            dict.fromkeys(
                [*work.features, work.target, *([work.time] if work.time else []), *work.sensitive]
            )
        )
        outcomes: list[SegmentOutcome] = []
        with executors.engine(self.executor, execution.max_workers) as workers:
            size = chunk_size(execution.chunk_size, todo, workers)
            tasks = [(work, Chunk.of(part, plan.keys, columns)) for part in chunks(todo, size)]
            self._progress(0, len(todo))
            for results in executors.run_tasks(train_chunk, tasks, workers):
                outcomes += self._record(results, train_run)
                self._progress(len(outcomes), len(todo))
        return outcomes

    def _record(self, results: list[SegmentResult], train_run: str) -> list[SegmentOutcome]:
        """A chunk's segment runs, their registered versions and promotions, each kind
        written in one transaction for the whole chunk."""
        outcomes = [_outcome(r) for r in results]
        kept = [i for i, r in enumerate(results) if r.reason != _BUDGET]  # retried next run
        trained = [i for i in kept if results[i].status == "trained"]
        # the files are written on a thread while the runs are inserted: both wait on I/O
        with ThreadPoolExecutor(1) as writer:
            stored = writer.submit(self._store_artifacts, [results[i] for i in trained])
            run_ids = self.recorder.begin_segments(
                train_run, [(results[i].segment_key, _segment_tags(results[i])) for i in kept]
            )
        for i, run_id in zip(kept, run_ids, strict=True):
            outcomes[i] = replace(outcomes[i], run_id=run_id)
        try:
            versions = self._register(
                [results[i] for i in trained], [outcomes[i].run_id for i in trained], stored
            )
            promoted = self._promote(versions)
            for i, version, promotion in zip(trained, versions, promoted, strict=True):
                outcomes[i] = replace(outcomes[i], version=version.version, **promotion)
        except LoopmlError as failure:
            for i in trained:
                reason = f"registration failed: {failure}"
                outcomes[i] = replace(outcomes[i], status="failed", reason=reason)
        ends = []
        for i in kept:
            result, outcome = results[i], outcomes[i]
            error = outcome.reason if outcome.status == "failed" else None
            metrics = {
                **result.metrics,
                "train_rows": result.train_rows,
                "test_rows": result.test_rows,
            }
            ends.append(
                SegmentEnd(outcome.run_id, metrics, result.wall_seconds, result.cpu_seconds, error)
            )
        self.recorder.end_segments(ends)
        return outcomes

    def _store_artifacts(self, results: list[SegmentResult]) -> list:
        """The models' files, each holding the drift reference of its segment's rows."""
        return self.artifacts.put_many([r.package for r in results])

    def _register(self, results: list[SegmentResult], run_ids: list[str], files: Future) -> list:
        from loopml.explain.service import FAIRNESS, fairness_summary
        from loopml.registry import service as registry

        stored = files.result()  # a failed write fails the chunk's registration
        datasets = [self.dataset_version_id] if self.dataset_version_id else []
        validation = self.plan.validation
        # the table's, the same for every segment: made once for the chunk
        rules, report = validation.rules_dict, validation.report.to_dict()
        new = [
            registry.NewVersion(
                flavor=r.flavor,
                artifact_digest=s.digest,
                artifact_size=s.size,
                signature=r.signature,
                segment=r.segment or None,
                run_id=run_id,
                metrics=r.metrics,
                dataset_version_ids=datasets,
                rules=rules,
                validation=report,
                reference_digest=s.digest,  # the package holds it
                # before the gate, whose fairness check reads it
                reports={FAIRNESS: (r.fairness, fairness_summary(r.fairness))}
                if r.fairness
                else None,
            )
            for r, s, run_id in zip(results, stored, run_ids, strict=True)
        ]
        return registry.register_many(self.store, self.spec.name, new, actor=self.actor)

    def _promote(self, versions: list) -> list[dict[str, Any]]:
        """Each version's promotion (versions of distinct segments), in one transaction."""
        from loopml.registry import promotion
        from loopml.registry.entities import Approval
        from loopml.registry.gates import GateFailed

        serving = self.spec.serving
        if serving.promote == "never" or not versions:
            return [{"promotion": "not promoted"} for _ in versions]
        decided = promotion.promote_many(
            self.store,
            self.spec.name,
            versions,
            alias=serving.alias,
            actor=self.actor,
            reason=f"loopml run of {self.spec.name!r}",
            require_approval=serving.promote == "approval",
        )
        out = []
        for move in decided:
            if isinstance(move, GateFailed):
                checks = "; ".join(f"{c.name}: {c.detail}" for c in move.result.failures())
                out.append({"promotion": "gate failed", "gate": checks})
            else:
                kind = "approval requested" if isinstance(move, Approval) else "promoted"
                out.append({"promotion": kind})
        return out

    def _promote_cached(self, outcomes: list[SegmentOutcome]) -> list[SegmentOutcome]:
        """With a changed gate or promotion setting, cached versions face the gate again."""
        from loopml.registry import service as registry

        if "register" in self.plan.cached_steps:
            return outcomes
        alias = self.spec.serving.alias
        again = [
            i
            for i, o in enumerate(outcomes)
            if o.status == "cached"
            and (cached := self.plan.cached.get(o.segment_key))
            and cached.version
            and alias not in cached.aliases
        ]
        numbers = [outcomes[i].version for i in again]
        versions = registry.get_versions(self.store, self.spec.name, numbers) if again else []
        out = list(outcomes)
        for i, promotion in zip(again, self._promote(versions), strict=True):
            out[i] = replace(out[i], **promotion)
        return out

    def _progress(self, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(done, total)


def _outcome(result: SegmentResult) -> SegmentOutcome:
    return SegmentOutcome(
        result.segment_key,
        result.segment,
        result.status,
        result.reason,
        metrics=result.metrics,
        cpu_seconds=result.cpu_seconds,
        wall_seconds=result.wall_seconds,
    )


def _segment_tags(result: SegmentResult) -> dict[str, str]:
    tags = {CACHE_TAG: result.cache_key}
    if result.status == "skipped":
        tags["loopml.skipped"] = result.reason
    return tags


def _cached_outcomes(plan: Plan) -> list[SegmentOutcome]:
    out = []
    for segment in plan.segments:
        cached = plan.cached.get(segment.key)
        if cached is None:
            continue
        if cached.version is None:
            out.append(
                SegmentOutcome(
                    segment.key,
                    segment.values,
                    "skipped",
                    "skipped by an earlier run for the same rows",
                    run_id=cached.run_id,
                )
            )
        else:
            out.append(
                SegmentOutcome(
                    segment.key,
                    segment.values,
                    "cached",
                    version=cached.version,
                    run_id=cached.run_id,
                )
            )
    return out


def _too_small(plan: Plan) -> list[SegmentOutcome]:
    need = plan.spec.split.min_rows
    return [
        SegmentOutcome(
            s.key, s.values, "skipped", f"{s.size} rows, fewer than split.min_rows = {need}"
        )
        for s in plan.too_small
    ]


def _promotion_metrics(outcomes: list[SegmentOutcome]) -> dict[str, float]:
    return {
        "registered": sum(o.status == "trained" for o in outcomes),
        "promoted": sum(o.promotion == "promoted" for o in outcomes),
        "gate_failed": sum(o.promotion == "gate failed" for o in outcomes),
        "approvals_requested": sum(o.promotion == "approval requested" for o in outcomes),
    }


def _params(spec: ProjectSpec) -> dict[str, Any]:
    return {
        "task": spec.task,
        "target": spec.target,
        "segment_by": ",".join(spec.segment_by) or "-",
        "model": spec.model.preset or spec.model.estimator,
        "executor": spec.execution.executor,
    }


def _train_params(plan: Plan) -> dict[str, Any]:
    train = plan.train
    return {
        "features": ",".join(train.model_features),
        "model_params": json.dumps(train.params, sort_keys=True),
        "split": train.split_method,
        "test_size": train.test_size,
        "seed": train.seed,
        "min_rows": train.min_rows,
        "metrics": ",".join(train.metrics),
        # a forecast's recipe: a retrain rebuilds its lags from the stored rows with it
        **(
            {"forecast": json.dumps(train.forecast, sort_keys=True), "time": train.time}
            if train.forecast
            else {}
        ),
    }


def _tag(store, run_id: str, key: str) -> str | None:
    from loopml.tracking import service

    return service.get_run(store, run_id).tags.get(key)
