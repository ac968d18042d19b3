"""The ``fairness`` gate check: a version's recorded group fairness against limits.

    loopml.set_gate("claims", extra={"fairness": {"sensitive": ["sex"],
                                                  "limits": {"demographic_parity_ratio": ">= 0.8"}}})

The default limit, a demographic parity (or, for regressors, group error) ratio of
at least 0.8, is the "four-fifths" rule of thumb: a heuristic to start from, not a
legal standard. The check reads the version's newest fairness report
(``loopml.assess_fairness``); with no report, a declared attribute missing from it,
or a group too small to judge, it does not pass and says what evidence is lacking.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loopml.explain.fairness import AttributeFairness
from loopml.registry.entities import ModelVersion
from loopml.registry.gates import EXTRA_CHECKS, Check, check_rule, holds

HEURISTIC = "a heuristic, not a legal standard"
DEFAULT_LIMITS = {
    "classification": {"demographic_parity_ratio": ">= 0.8"},
    "regression": {"error_ratio": ">= 0.8"},
}


class FairnessLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sensitive: list[str] = Field(
        default_factory=list, description="Attributes that must be assessed."
    )
    limits: dict[str, str] = Field(
        default_factory=dict, description='e.g. {"demographic_parity_ratio": ">= 0.8"}'
    )
    min_group_rows: int = Field(
        default=30, ge=1, description="Fewer rows in a group: too little to judge."
    )

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: dict[str, str]) -> dict[str, str]:
        return {metric: check_rule(rule) for metric, rule in value.items()}


class FairnessCheck:
    """The check itself; ``validate_settings`` lets ``set_gate`` refuse bad limits early."""

    def validate_settings(self, settings: Any) -> dict[str, Any]:
        return FairnessLimits.model_validate(settings or {}).model_dump()

    def __call__(
        self, candidate: ModelVersion, champion: ModelVersion | None, settings: Any, store: Any
    ) -> Check:
        return fairness_check(candidate, FairnessLimits.model_validate(settings or {}), store)


def fairness_check(candidate: ModelVersion, spec: FairnessLimits, store: Any) -> Check:
    from loopml.explain.service import fairness_of

    report = fairness_of(store, candidate) if store is not None else None
    if report is None:
        return Check(
            "fairness",
            False,
            f"no fairness assessment is recorded for v{candidate.version}; "
            f"run loopml.assess_fairness({candidate.name!r}, {candidate.version}, data, "
            "target=..., sensitive=[...])",
        )
    measured = {a.attribute: a for a in report.attributes}
    missing = [name for name in spec.sensitive if name not in measured]
    if missing:
        return Check(
            "fairness",
            False,
            f"the fairness assessment lacks {', '.join(missing)}; "
            "assess the version with those sensitive columns",
        )
    details, values, passed = [], {}, True
    for attribute in measured.values():
        ok, detail = _judge(attribute, spec)
        passed = passed and ok
        details.append(detail)
        # the numbers, the rule they were held to and the verdict, for the audit trail
        values[attribute.attribute] = {
            "summary": attribute.summary,
            "groups": attribute.groups,
            "passed": ok,
            "limits": _limits(attribute, spec),
            "default_limits": not spec.limits,
            "min_group_rows": spec.min_group_rows,
        }
    return Check("fairness", passed, "; ".join(details), values)


def _limits(attribute: AttributeFairness, spec: FairnessLimits) -> dict[str, str]:
    return spec.limits or DEFAULT_LIMITS[attribute.task]


def _judge(attribute: AttributeFairness, spec: FairnessLimits) -> tuple[bool, str]:
    group, rows = attribute.smallest_group
    if rows < spec.min_group_rows:
        return False, (
            f"{attribute.attribute}: group {group!r} has {rows} rows, too few to judge "
            f"(needs >= {spec.min_group_rows}); assess on more data"
        )
    limits = _limits(attribute, spec)
    parts, ok = [], True
    for metric, rule in limits.items():
        value = attribute.summary.get(metric)
        if value is None:
            return (
                False,
                f"{attribute.attribute}: {metric} is not measured for a {attribute.task} model",
            )
        if math.isnan(value):  # a group lacks the true positives or negatives it rests on
            return False, (
                f"{attribute.attribute}: {metric} cannot be measured: a group has no "
                "rows of one true class; assess on rows where every group has both"
            )
        meets = holds(rule, value)
        ok = ok and meets
        parts.append(
            f"{metric} = {value:.3g} (needs {rule}{'' if spec.limits else '; ' + HEURISTIC})"
        )
    return ok, f"{attribute.attribute}: {', '.join(parts)}; groups {_groups(attribute)}"


def _groups(attribute: AttributeFairness) -> str:
    metric = "selection_rate" if attribute.task == "classification" else "mean_absolute_error"
    return ", ".join(
        f"{group} {values[metric]:.3g} (n={int(values['rows'])})"
        for group, values in attribute.groups.items()
    )


EXTRA_CHECKS["fairness"] = FairnessCheck()
