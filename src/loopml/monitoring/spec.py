"""What a monitor checks: a plain pydantic model, embeddable in the project file schema."""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loopml import metrics
from loopml.explain.live import METRICS as FAIRNESS_METRICS
from loopml.explain.live import higher_is_fairer

# An "external" monitor is kept by another part of loopml (a policy of the closed loop,
# say): that part records its outcomes and so opens and resolves its alerts; the
# scheduler never runs it.
MonitorKind = Literal[
    "drift", "performance", "estimated_performance", "error_drift", "fairness", "external"
]
SCHEDULED_KINDS = ("drift", "performance", "estimated_performance", "error_drift", "fairness")
METRICS = {
    "performance": set(metrics.METRICS),
    "estimated_performance": {"accuracy", "roc_auc"},  # what CBPE estimates
    "fairness": set(FAIRNESS_METRICS),
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@functools.cache
def _iso_durations():
    """Built once: building a TypeAdapter costs more than reading a stored spec."""
    from pydantic import TypeAdapter

    return TypeAdapter(timedelta)


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """``"90m"``, ``"1h"``, ``"7d"`` or seconds as a number."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match and str(value).startswith("P"):  # ISO 8601, as the spec is stored
        return _iso_durations().validate_python(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. '30m', '1h' or '7d'")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


class MonitorSpec(BaseModel):
    """One scheduled check over a window of a model's prediction log."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="Unique name of the monitor.")
    model: str = Field(min_length=1, description="The model whose prediction log is checked.")
    kind: MonitorKind = Field(
        description="drift, performance, estimated_performance, error_drift, fairness (or "
        "external: kept by another part, such as a policy, which records its outcomes)."
    )
    window: timedelta = Field(
        default=timedelta(hours=1), description="How far back each run looks."
    )
    schedule: timedelta = Field(
        default=timedelta(hours=1), description="How often the monitor is due."
    )
    per_segment: bool = Field(default=False, description="One result (and alert) per segment.")
    enabled: bool = Field(
        default=True, description="A disabled monitor is kept, with its history, but not run."
    )
    # drift
    reference: str | None = Field(
        default=None, description="Digest of the stored reference summary."
    )
    columns: list[str] | None = Field(default=None, description="Features to compare; default all.")
    methods: dict[str, str] = Field(default_factory=dict, description="Drift method per column.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Threshold per column.")
    drift_share: float = Field(
        default=0.5, gt=0, le=1, description="Share of drifted columns that alerts."
    )
    importance_share: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Alert only if the drifted columns carry this share of the champion's importance.",
    )
    # performance, estimated_performance, error_drift
    task: Literal["regression", "classification"] = "regression"
    metric: str | None = Field(default=None, description="e.g. mae, rmse, accuracy, roc_auc.")
    threshold: float | None = Field(default=None, description="Alert when the metric is worse.")
    threshold_from: Literal["absolute", "backtest", "windows"] = Field(
        default="absolute",
        description="absolute: `threshold` for every segment; backtest: `factor` times the "
        "serving version's own test (backtest) error; windows: the segment's own recent "
        "windows of that version, mean + `sigmas` standard deviations (backtest until there "
        "are enough).",
    )
    factor: float = Field(default=1.5, gt=1, description="For backtest: how many times worse.")
    sigmas: float = Field(default=3.0, gt=0, description="For windows: the spread allowed.")
    reference_windows: int = Field(
        default=12, ge=4, description="For windows: how many earlier windows set the spread."
    )
    season: int | None = Field(
        default=None,
        ge=2,
        description="For windows of seasonal data: compare with the windows this many runs "
        "apart (12 for monthly runs of a yearly season).",
    )
    min_rows: int = Field(
        default=30, ge=1, description="Fewer labelled (or scored) rows: no verdict."
    )
    detector: Literal["adwin", "page_hinkley", "cusum"] = Field(
        default="adwin",
        description="error_drift: river's adwin or page_hinkley over the error stream, or "
        "cusum over the residuals standardized by the serving version's backtest error.",
    )
    cusum_k: float = Field(
        default=0.5, gt=0, description="For cusum: half the shift (in sd) it is tuned for."
    )
    cusum_h: float = Field(
        default=4.0,
        gt=0,
        description="For cusum: the alarm limit of its sums of the mean and of the spread "
        "(113 rows between false alarms with k 0.5, h 4).",
    )
    # fairness (metric, threshold and min_rows as above; min_rows counts per group)
    sensitive: str | None = Field(
        default=None,
        description="fairness: the attribute, sent with the predictions or with their feedback.",
    )
    positive: float | str | None = Field(
        default=None, description="fairness of a classifier: the class it selects (default 1)."
    )
    webhook: str | None = Field(default=None, description="URL that receives alert events.")

    @field_validator("window", "schedule", mode="before")
    @classmethod
    def _duration(cls, value):
        return parse_duration(value)

    @model_validator(mode="after")
    def _complete(self) -> MonitorSpec:
        if self.window <= timedelta(0) or self.schedule <= timedelta(0):
            raise ValueError("window and schedule must be positive durations")
        if self.kind in METRICS and (
            self.metric not in METRICS[self.kind]
            or (self.threshold is None and self.threshold_from == "absolute")
        ):
            choices = ", ".join(sorted(METRICS[self.kind]))
            raise ValueError(
                f"a {self.kind} monitor needs metric (one of {choices}) and threshold "
                "(or threshold_from: backtest or windows)"
            )
        if self.kind == "performance" and metrics.METRICS[self.metric].task != self.task:
            raise ValueError(f"{self.metric} is not a {self.task} metric; set task or metric")
        if self.detector == "cusum" and self.task != "regression":
            raise ValueError(
                "the cusum detector watches regression residuals; use adwin or "
                "page_hinkley for a classifier's errors"
            )
        if self.kind == "fairness" and not self.sensitive:
            raise ValueError("a fairness monitor needs sensitive: the attribute to watch")
        return self

    @property
    def lower_is_better(self) -> bool:
        if self.kind == "fairness":
            return not higher_is_fairer(self.metric or "")
        return self.metric is not None and metrics.lower_is_better(self.metric)

    def worse_than_threshold(self, value: float, threshold: float | None = None) -> bool:
        """Is ``value`` worse than ``threshold`` (default: the monitor's own)?"""
        limit = self.threshold if threshold is None else threshold
        if limit is None:
            raise ValueError(f"monitor {self.name!r} has no threshold to compare with")
        return value > limit if self.lower_is_better else value < limit
