"""The project file's schema: about fifteen settings, each with a sensible default.

A plain pydantic model, so the same settings come from ``loopml.yaml``, a dict
in Python, or the REST API. Sections owned by other parts of loopml plug in as
their own models: ``gate`` is the registry's ``GateSpec``, ``monitoring`` a
list of ``MonitorSpec`` and ``policies`` a list of the closed loop's ``PolicySpec``
(defined beside this schema, in ``pipeline.policy``, so automation reads it from below).
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loopml.metrics import DEFAULT_METRICS, METRICS_BY_TASK
from loopml.monitoring.spec import MonitorSpec, parse_duration
from loopml.pipeline.policy import PolicySpec
from loopml.pipeline.presets import PRESETS, check_estimator_path
from loopml.registry.gates import GateSpec
from loopml.registry.segments import parse_segment

Task = Literal["regression", "classification", "forecast"]
Missing = Literal["auto", "median", "mean", "most_frequent", "keep", "refuse"]
_NAME = r"^[A-Za-z0-9_.-]{1,100}$"


class SettingProblems(ValueError):
    """Problems found across settings, each with its place (loc), message and fix."""

    def __init__(self, problems: list[tuple[tuple[Any, ...], str, str]]) -> None:
        super().__init__("; ".join(message for _, message, _ in problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSpec(_Section):
    """Where the rows come from: a CSV or Parquet file, or a registered dataset."""

    path: str | None = Field(
        default=None,
        description="CSV or Parquet file, relative to the project file. It is logged as a "
        "dataset version named after the project.",
    )
    dataset: str | None = Field(
        default=None, description='A registered dataset: "sales" (newest) or "sales@3".'
    )
    time: str | None = Field(
        default=None,
        description="Column of timestamps, parsed on load: needed by time splits and forecasts.",
    )
    time_format: str | None = Field(
        default=None, description='strftime format of the time column, e.g. "%d/%m/%Y".'
    )
    sensitive: list[str] = Field(
        default_factory=list,
        description="Protected attributes (sex, age band): not features unless listed under "
        "features, yet kept with the test rows, where each version's group fairness is measured.",
    )
    rules: str | None = Field(
        default=None,
        description="YAML file of validation rules. Default: the dataset's stored rules, "
        "inferred from the first version and stored on the first run.",
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("sensitive", mode="before")
    @classmethod
    def _one_column(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give either `path` (a CSV or Parquet file) or `dataset`, not both")
        return self


class ModelSpec(_Section):
    """A named preset, or any estimator with the scikit-learn contract by import path."""

    preset: str | None = Field(default=None, description=f"One of {', '.join(PRESETS)}.")
    estimator: str | None = Field(
        default=None, description="Import path, e.g. sklearn.ensemble.ExtraTreesRegressor."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Constructor arguments.")
    missing: Missing = Field(
        default="auto",
        description="Missing feature values: auto fills numbers with the median (and marks "
        "where they were missing) when the estimator cannot take missing values; median, "
        "mean or most_frequent fill with that; keep hands them to the estimator; refuse "
        "stops the run before anything is written.",
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"preset": value} if "." not in value else {"estimator": value}
        return value

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            close = difflib.get_close_matches(value, PRESETS, n=1)
            suggestion = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown model preset {value!r}; {suggestion}presets: {', '.join(PRESETS)}, "
                "or an import path such as sklearn.linear_model.Ridge"
            )
        return value

    @field_validator("estimator")
    @classmethod
    def _importable(cls, value: str | None) -> str | None:
        if value is not None:
            check_estimator_path(value)
        return value

    @model_validator(mode="after")
    def _one_model(self) -> ModelSpec:
        if (self.preset is None) == (self.estimator is None):
            raise ValueError("give either `preset` or `estimator`, not both")
        return self


class SplitSpec(_Section):
    """How each segment's rows are split into training and test rows."""

    method: Literal["random", "time"] | None = Field(
        default=None,
        description="random, or time (the newest rows are the test rows). "
        "Default: time for forecasts, random otherwise.",
    )
    test_size: float = Field(default=0.2, gt=0, lt=1, description="Share of rows held out.")
    seed: int = Field(default=0, description="Seed of the random split and of the estimators.")
    min_rows: int = Field(
        default=20, ge=2, description="Segments with fewer rows are skipped, with the reason."
    )
    refit: bool = Field(
        default=True,
        description="Once scored on the test rows (the backtest of a forecast), the registered "
        "model is fitted again on all the segment's rows, so a model of data up to December "
        "has learned December; false registers the model scored, fitted on the training rows.",
    )


class ForecastSpec(_Section):
    """Features from the time column for demand forecasts, computed without leakage."""

    horizon: int = Field(default=1, ge=1, description="Periods ahead that are forecast.")
    lags: list[int] = Field(default=[1, 7], description="Past values of the target used.")
    rolling: list[int] = Field(default=[7], description="Windows of rolling means of the target.")
    calendar: bool = Field(default=True, description="Day of week, day of month, month, week.")
    backtest_periods: int = Field(
        default=14, ge=1, description="The newest periods held out to score MAE, MAPE and WAPE."
    )

    @model_validator(mode="after")
    def _no_leak(self) -> ForecastSpec:
        short = [lag for lag in self.lags if lag < self.horizon]
        if short:
            raise ValueError(
                f"lags {short} are shorter than the horizon {self.horizon}: those values are not "
                "known when the forecast is made; use lags >= horizon"
            )
        if any(window < 1 for window in self.rolling) or any(lag < 1 for lag in self.lags):
            raise ValueError("lags and rolling windows must be positive whole periods")
        return self


class ExecutionSpec(_Section):
    """Where and how fast segments train, and what a run may cost."""

    executor: str = Field(
        default="local",
        description="local (processes on this machine), dask://host:8786 (a Dask cluster) "
        "or ray://host:10001 (loopml[ray]).",
    )
    max_workers: int | None = Field(
        default=None, ge=1, description="Most segments trained at once; default: all cores."
    )
    time_budget: timedelta | None = Field(
        default=None,
        description="Longest a run may train, e.g. 30m; segments not started by then are "
        "skipped with the reason.",
    )
    chunk_size: int | Literal["auto"] = Field(
        default="auto",
        description="Segments per task; auto packs small segments so scheduling costs little.",
    )

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        if value != "local" and not value.startswith(("dask://", "tcp://", "ray://")):
            raise ValueError(
                f"unknown executor {value!r}; use local, dask://host:8786 or ray://host:10001"
            )
        return value

    @field_validator("time_budget", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None:
            return None
        budget = parse_duration(value)
        if budget <= timedelta(0):
            raise ValueError("time_budget must be a positive duration, e.g. 30m")
        return budget

    @field_validator("chunk_size")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("chunk_size is a positive number of segments, or auto")
        return value


class ServingSpec(_Section):
    """What a successful run does with the new versions."""

    alias: str = Field(default="champion", description="Alias the run promotes to.")
    promote: Literal["auto", "approval", "never"] = Field(
        default="auto",
        description="auto: move the alias when the gate passes; approval: open an approval "
        "request instead; never: only register.",
    )


class ProjectSpec(_Section):
    """Everything ``loopml run`` needs to train, register, gate and promote a model family."""

    name: str = Field(pattern=_NAME, description="The model family (and experiment) name.")
    data: DataSpec = Field(description="A file path, or {path|dataset, time, rules}.")
    target: str = Field(min_length=1, description="Column to predict.")
    features: list[str] | Literal["all"] = Field(
        default="all",
        description="Columns to learn from; all = every column but the target, time and segments.",
    )
    segment_by: list[str] = Field(
        default_factory=list, description="Columns whose values key one model per segment."
    )
    task: Task = Field(default="regression", description="regression, classification or forecast.")
    model: ModelSpec = Field(default_factory=lambda: ModelSpec(preset="ridge"))
    split: SplitSpec = Field(default_factory=SplitSpec)
    forecast: ForecastSpec = Field(default_factory=ForecastSpec)
    metrics: list[str] | None = Field(
        default=None, description="Metrics to compute; default depends on the task."
    )
    gate: GateSpec = Field(default_factory=GateSpec, description="Checks before promotion.")
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    serving: ServingSpec = Field(default_factory=ServingSpec)
    monitoring: list[MonitorSpec] = Field(
        default_factory=list, description="Monitors of this model (model defaults to `name`)."
    )
    policies: list[PolicySpec] = Field(
        default_factory=list, description="Closed-loop policies (model defaults to `name`)."
    )

    @field_validator("segment_by", mode="before")
    @classmethod
    def _one_column(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _model_defaults(cls, data: Any) -> Any:
        """Monitors and policies name this project's model unless they say otherwise; a
        fairness monitor watches the project's one sensitive attribute unless it names one."""
        source = data.get("data") if isinstance(data, dict) else None
        if isinstance(source, dict) and isinstance(data.get("monitoring"), list):
            sensitive = source.get("sensitive")
            sensitive = [sensitive] if isinstance(sensitive, str) else sensitive
            if isinstance(sensitive, list) and len(sensitive) == 1:
                data["monitoring"] = [
                    {"sensitive": sensitive[0], **item}
                    if isinstance(item, dict) and item.get("kind") == "fairness"
                    else item
                    for item in data["monitoring"]
                ]
        if isinstance(data, dict) and data.get("name"):
            for section in ("monitoring", "policies"):
                items = data.get(section)
                if isinstance(items, list):
                    data[section] = [
                        {"model": data["name"], **item} if isinstance(item, dict) else item
                        for item in items
                    ]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ProjectSpec:
        """Checks across settings, all reported at once, each at the setting to change."""
        problems: list[tuple[tuple[Any, ...], str, str]] = []
        known = METRICS_BY_TASK[self.task]
        for index, metric in enumerate(self.metrics or ()):
            if metric not in known:
                problems.append(
                    (
                        ("metrics", index),
                        f"{metric!r} is not a {self.task} metric",
                        f"Use some of {', '.join(known)}, or remove metrics for the default.",
                    )
                )
        if self.task == "forecast" and not self.data.time:
            problems.append(
                (
                    ("task",),
                    "a forecast needs a column of dates, and data.time is not set",
                    "Name the column of dates under data.time; if the data has none, "
                    "use task: regression or classification.",
                )
            )
        elif self.split.method == "time" and not self.data.time:
            problems.append(
                (
                    ("split", "method"),
                    "a time split needs a column of dates, and data.time is not set",
                    "Name the column of dates under data.time; if the data has none, "
                    "use split.method: random.",
                )
            )
        if self.target in self.segment_by:
            problems.append(
                (
                    ("segment_by",),
                    f"the target {self.target!r} cannot also be a segment column",
                    "Remove it from segment_by, or predict another column.",
                )
            )
        problems += self._sensitive_problems() + self._policy_segment_problems()
        if problems:
            raise SettingProblems(problems)
        return self

    def _sensitive_problems(self) -> list[tuple[tuple[Any, ...], str, str]]:
        """A sensitive attribute is measured across the rows of a model: it cannot be what the
        model predicts, nor a segment key (each segment's rows would be one group)."""
        problems = []
        for index, column in enumerate(self.sensitive):
            if column == self.target:
                problems.append(
                    (
                        ("data", "sensitive", index),
                        f"the target {column!r} cannot be a sensitive attribute",
                        "Name the protected attribute (a column such as sex), not the target.",
                    )
                )
            elif column in self.segment_by:
                problems.append(
                    (
                        ("data", "sensitive", index),
                        f"the segment column {column!r} cannot be a sensitive attribute: "
                        "each segment's model sees one group of it",
                        "Remove it from segment_by to compare its groups, or from sensitive.",
                    )
                )
            elif column == self.data.time:
                problems.append(
                    (
                        ("data", "sensitive", index),
                        f"the time column {column!r} cannot be a sensitive attribute",
                        "Name a column of groups (sex, age band).",
                    )
                )
        return problems

    def _policy_segment_problems(self) -> list[tuple[tuple[Any, ...], str, str]]:
        """A policy of this project's model may only name its segment columns: a typo in
        ``segments:`` would otherwise leave the policy covering nothing, silently."""
        problems = []
        columns = ", ".join(self.segment_by) or "(none: segment_by is not set)"
        for index, policy in enumerate(self.policies):
            if policy.model != self.name:
                continue  # another family's segment columns are not known here
            for place, selector in enumerate(policy.segments or ()):
                unknown = sorted(set(parse_segment(selector)) - set(self.segment_by))
                if unknown:
                    problems.append(
                        (
                            ("policies", index, "segments", place),
                            f"segment {selector!r} names {', '.join(map(repr, unknown))}, "
                            f"which is not a segment column; the segment columns are {columns}",
                            "Write segments as column=value with columns of segment_by, "
                            "e.g. product=flour, or add the column to segment_by.",
                        )
                    )
        return problems

    @property
    def sensitive(self) -> list[str]:
        return self.data.sensitive

    @property
    def split_method(self) -> str:
        return self.split.method or ("time" if self.task == "forecast" else "random")

    @property
    def metric_names(self) -> list[str]:
        return list(self.metrics or DEFAULT_METRICS[self.task])
