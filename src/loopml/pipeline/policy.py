"""A policy: what the platform does on its own when a model decays.

A plain pydantic model, embedded in the project file under ``policies:``::

    policies:
      - name: demand-recovery
        model: demand
        triggers: [{when: alert, monitor: demand-mape}]
        segments: [product=flour]   # only these segments; default: all of them
        history: all
        min_labels: 10
        promotion: auto
        rollout: canary
        watch: 2d
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from loopml.errors import InvalidInput
from loopml.monitoring.spec import parse_duration
from loopml.registry.segments import canonical_segment, parse_segment


def _selector(text: str) -> str:
    """A segment selector in canonical form (a malformed one raises InvalidInput, a
    ValueError whose hint the project file's report gives as the fix)."""
    pairs = parse_segment(text)
    if not pairs:
        raise InvalidInput(
            "An empty segment would cover every segment.",
            hint="Leave `segments` out to cover them all.",
        )
    return canonical_segment(pairs)


class Trigger(BaseModel):
    """When a policy acts: an alert of a monitor, a schedule, or enough new labels."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    when: Literal["alert", "schedule", "new_labels"] = Field(
        description="alert: an open alert of `monitor` (drift, performance decay, estimated "
        "decay); schedule: every `every`; new_labels: `labels` new labelled rows per segment."
    )
    monitor: str | None = Field(default=None, description="The monitor whose alerts trigger.")
    every: timedelta | None = Field(default=None, description="For schedule: how often.")
    labels: int | None = Field(default=None, ge=1, description="For new_labels: how many.")

    @field_validator("every", mode="before")
    @classmethod
    def _duration(cls, value):
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _complete(self) -> Trigger:
        needed = {"alert": "monitor", "schedule": "every", "new_labels": "labels"}[self.when]
        if getattr(self, needed) is None:
            raise ValueError(f"a trigger when {self.when!r} needs `{needed}`")
        return self


class PolicySpec(BaseModel):
    """Trigger → retrain the affected segments → gate → promote or ask → canary → watch → finish or roll back."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    model: str = Field(min_length=1, description="The model family this policy keeps right.")
    triggers: list[Trigger] = Field(min_length=1)
    segments: list[Annotated[str, AfterValidator(_selector)]] | None = Field(
        default=None,
        min_length=1,
        description="The segments this policy covers, each a full or partial segment key: "
        "product=flour covers every store's flour. Default: every segment of the model.",
    )
    history: Literal["all", "since_change"] | int = Field(
        default="all",
        description="What a retrain learns from: all (the champion's training rows of the "
        "segment plus every labelled row since), since_change (only the labelled rows since "
        "the trigger fired), or a number N (the last N periods of that history).",
    )
    half_life: float | None = Field(
        default=None,
        gt=0,
        description="Recency weights: a row this many periods older counts half as much.",
    )
    retrain_window: timedelta | None = Field(
        default=None,
        description="Labelled traffic older than this is never read; default: all of it since "
        "the champion's training data ends.",
    )
    metric: Literal["mae", "rmse", "mape"] = Field(default="mae", description="Lower is better.")
    min_improvement: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="The challenger's loss must be below the champion's by this share.",
    )
    min_labels: int = Field(
        default=10,
        ge=2,
        description="Evidence every decision needs: labelled rows per segment since the trigger "
        "(to retrain and compare), or since the rollout (to promote or roll back). Fewer: wait.",
    )
    confirm_labels: int = Field(
        default=3,
        ge=0,
        description="A CUSUM alarm retrains only once this many labelled rows since it was "
        "raised confirm its change (a one-sided test at `confidence`); one they do not "
        "confirm is resolved as not_confirmed. 0: retrain on the alarm alone.",
    )
    confidence: float = Field(
        default=0.9,
        gt=0.5,
        lt=1,
        description="A paired one-sided t-test decides at this confidence (p < 1 - confidence).",
    )
    estimator: str | None = Field(
        default=None,
        description="Import path of the estimator to retrain (e.g. sklearn.linear_model.Ridge); "
        "default: a fresh copy of the champion's own estimator.",
    )
    promotion: Literal["auto", "approval"] = Field(
        default="auto", description="Promote on its own, or open an approval request."
    )
    rollout: Literal["direct", "canary"] = Field(
        default="direct",
        description="direct: the challenger becomes champion and is watched; canary: it serves "
        "the deployment's canary share as `challenger` and becomes champion after the watch.",
    )
    watch: timedelta = Field(
        default=timedelta(hours=1), description="How long a rollout is watched."
    )
    rollback_if_worse: float = Field(
        default=0.2,
        ge=0,
        description="Roll back when the rollout's live loss is above the champion's on the same "
        "rows by more than this share (the same paired test).",
    )
    max_latency_ms: float | None = Field(
        default=None, gt=0, description="Roll back above this p95 latency."
    )
    cooldown: timedelta = Field(
        default=timedelta(hours=6), description="Quiet time for a segment after an action."
    )
    max_retrains_per_day: int = Field(default=50, ge=1, description="Cap across the model family.")

    @field_validator("retrain_window", "watch", "cooldown", mode="before")
    @classmethod
    def _duration(cls, value):
        return None if value is None else parse_duration(value)

    def covers(self, segment: str) -> bool:
        """Whether a segment is this policy's: every pair of one of its selectors is in it."""
        if self.segments is None:
            return True
        pairs = parse_segment(segment).items()
        return any(parse_segment(selector).items() <= pairs for selector in self.segments)

    @field_validator("history")
    @classmethod
    def _periods(cls, value):
        if isinstance(value, int) and value < 1:
            raise ValueError("history as a number is the last N periods: at least 1")
        return value
