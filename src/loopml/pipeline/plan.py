"""Planning a run without writing anything: read, check, validate, run the custom steps,
split into segments and find which of them are already computed.

Every input error surfaces here, before the first write, so a bad project file
or bad data never leaves a half-registered model family behind.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.errors import InvalidInput, NotFound
from loopml.pipeline import fingerprint as fp
from loopml.pipeline import presets
from loopml.pipeline.features import base_features
from loopml.pipeline.segments import Segment, split_segments
from loopml.pipeline.source import Source, check_columns, parse_time, read_source
from loopml.pipeline.spec import ProjectSpec
from loopml.pipeline.steps import Step
from loopml.pipeline.validate import Validation, dataset_name, validate_data
from loopml.pipeline.work import TrainPlan
from loopml.tracking import service as tracking

OUTPUT = "output.parquet"


@dataclass
class CustomStep:
    step: Step
    key: str
    output: pd.DataFrame
    cached_run: str | None


@dataclass
class Cached:
    run_id: str
    version: int | None  # None: the segment was skipped then, for the same rows
    aliases: tuple[str, ...] = ()


@dataclass
class Plan:
    spec: ProjectSpec
    source: Source
    dataset: str
    validation: Validation
    custom: list[CustomStep]
    train: TrainPlan
    segments: list[Segment]  # to train
    too_small: list[Segment]
    keys: dict[str, str]  # segment key → cache key
    cached: dict[str, Cached]  # segment key → what an earlier run computed
    step_keys: dict[str, str] = field(default_factory=dict)  # load, validate, register → key
    cached_steps: dict[str, str] = field(default_factory=dict)  # step → run id
    notes: tuple[str, ...] = ()  # what the plan decided on its own, said to the user

    @property
    def to_train(self) -> list[Segment]:
        return [s for s in self.segments if s.key not in self.cached]

    @property
    def up_to_date(self) -> bool:
        steps_done = all(name in self.cached_steps for name in self.step_keys)
        customs_done = all(c.cached_run for c in self.custom)
        return steps_done and customs_done and not self.to_train


def make_plan(
    spec: ProjectSpec, root: Path, steps: list[Step], store, artifacts, *, force: bool
) -> Plan:
    source = read_source(spec.data, root, store, artifacts)
    frame = source.frame
    check_columns(frame, spec, source.label)
    if spec.data.time:
        frame = parse_time(frame, spec.data.time, spec.data.time_format, source.label)
    dataset = dataset_name(spec)
    validation = validate_data(frame, spec, dataset, root, store)
    step_keys = {
        "load": fp.digest("load", source.digest, spec.data.model_dump()),
        "validate": fp.digest("validate", source.digest, validation.rules_dict),
        # registering is redone for a changed gate or promotion setting
        "register": fp.digest("register", spec.gate.model_dump(), spec.serving.model_dump()),
    }
    custom = _run_custom_steps(frame, steps, store, artifacts, force=force)
    data = custom[-1].output if custom else frame
    train, notes = train_plan(spec, data)
    used = [
        *train.features,
        spec.target,
        *([spec.data.time] if spec.data.time else []),
        *spec.sensitive,
    ]
    hashes = fp.row_hashes(data[used])
    segments = split_segments(data, spec.segment_by, hashes, keep=list(dict.fromkeys(used)))
    enough = [s for s in segments if s.size >= spec.split.min_rows]
    small = [s for s in segments if s.size < spec.split.min_rows]
    plan_key = fp.digest(spec.name, _train_fingerprint(train), fp.training_code(), used)
    keys = {s.key: fp.digest(plan_key, s.key, s.row_hashes.tobytes()) for s in enough}
    return Plan(
        spec,
        source,
        dataset,
        validation,
        custom,
        train,
        enough,
        small,
        keys,
        cached={} if force else _cached_segments(store, spec.name, keys),
        step_keys=step_keys,
        cached_steps={} if force else _cached_steps(store, step_keys),
        notes=notes,
    )


def train_plan(spec: ProjectSpec, data: pd.DataFrame) -> tuple[TrainPlan, tuple[str, ...]]:
    """What the workers train, and notes on the columns ``features: all`` left out."""
    features, notes = list(spec.features), ()
    if spec.features == "all":
        features, notes = _all_features(spec, data)
    missing = [c for c in features if c not in data.columns]
    if missing:  # a custom step dropped it
        raise InvalidInput(
            f"features: the column {missing[0]!r} is not in the data after the custom steps.",
            hint="Keep it in the steps' output, or remove it from features.",
        )
    if spec.sensitive:  # fairness is measured in the workers: its library must be here first
        from loopml.explain.inputs import fairlearn_metrics

        fairlearn_metrics()
    # the estimator must import here, before any write, not in every worker
    presets.import_estimator(presets.resolve(spec.model.preset, spec.model.estimator, spec.task)[0])
    if not features and spec.task != "forecast":
        raise InvalidInput(
            "No feature columns are left once the target, time and segment columns are set aside.",
            hint="Add feature columns to the data, or list them under features.",
        )
    plan = TrainPlan(
        task=spec.task,
        target=spec.target,
        features=tuple(features),
        time=spec.data.time,
        preset=spec.model.preset,
        estimator=spec.model.estimator,
        params=dict(spec.model.params),
        split_method=spec.split_method,
        test_size=spec.split.test_size,
        seed=spec.split.seed,
        min_rows=spec.split.min_rows,
        refit=spec.split.refit,
        forecast=spec.forecast.model_dump() if spec.task == "forecast" else None,
        metrics=tuple(spec.metric_names),
        missing=spec.model.missing,
        sensitive=tuple(spec.sensitive),
        impute=spec.model.missing != "refuse" and bool(data[features].isna().to_numpy().any()),
    )
    if spec.model.missing == "refuse":
        check_complete(data, features)
    return plan, notes


def check_complete(data: pd.DataFrame, features: list[str]) -> None:
    """For ``model.missing: refuse``: every feature value is there, or the run stops."""
    counts = data[features].isna().sum()
    missing = counts[counts > 0]
    if len(missing):
        listed = ", ".join(f"{column!r} ({count})" for column, count in missing.items())
        raise InvalidInput(
            f"model.missing is refuse, and feature values are missing: {listed}.",
            hint="Fill them in the data, or set model.missing to auto, median, mean, "
            "most_frequent or keep.",
        )


def _all_features(spec: ProjectSpec, data: pd.DataFrame) -> tuple[list[str], tuple[str, ...]]:
    """Every column but the target, time and segments, and but those that only name rows."""
    from loopml.data.identifiers import identifier_columns

    features = base_features(
        data.columns, spec.target, spec.data.time, spec.segment_by, spec.sensitive
    )
    skipped = {c: why for c, why in identifier_columns(data[features]).items()}
    notes = tuple(
        f"features: all left out {column!r}: {why}. List it under features to use it anyway."
        for column, why in skipped.items()
    )
    return [c for c in features if c not in skipped], notes


def _train_fingerprint(plan: TrainPlan) -> dict[str, Any]:
    values = dict(vars(plan))
    values.pop("deadline")  # when a run must end does not change what it computes
    return values


def _run_custom_steps(
    frame: pd.DataFrame, steps: list[Step], store, artifacts, *, force: bool
) -> list[CustomStep]:
    done: list[CustomStep] = []
    for step in steps:
        key = fp.digest("step", step.name, step.code, fp.frame_digest(frame))
        run_id = None if force else tracking.runs_by_tag(store, fp.CACHE_TAG, [key]).get(key)
        output = _cached_output(store, artifacts, run_id) if run_id else None
        if output is None:
            run_id, output = None, step(frame)
        done.append(CustomStep(step, key, output, run_id))
        frame = output
    return done


def _cached_output(store, artifacts, run_id: str) -> pd.DataFrame | None:
    try:
        info = tracking.artifact_digest(store, run_id, OUTPUT)
    except NotFound:
        return None
    return pd.read_parquet(io.BytesIO(artifacts.get_bytes(info.digest)))


def _cached_steps(store, step_keys: dict[str, str]) -> dict[str, str]:
    found = tracking.runs_by_tag(store, fp.CACHE_TAG, step_keys.values())
    return {name: found[key] for name, key in step_keys.items() if key in found}


def _cached_segments(store, name: str, keys: dict[str, str]) -> dict[str, Cached]:
    from loopml.registry import service as registry

    runs = tracking.runs_by_tag(store, fp.CACHE_TAG, keys.values())
    if not runs:
        return {}
    try:
        versions = {v.run_id: v for v in registry.list_versions(store, name)}
    except NotFound:
        versions = {}
    cached = {}
    for segment_key, key in keys.items():
        run_id = runs.get(key)
        if run_id is None:
            continue
        version = versions.get(run_id)
        cached[segment_key] = Cached(
            run_id, version.version if version else None, version.aliases if version else ()
        )
    return cached
