"""Gates: the checks a version must pass before an alias may point to it.

A model's gate is plain data, stored with the model::

    {"thresholds": {"mae": "<= 3.0"}, "beat_champion": "mae", "margin": 0.02,
     "require_validation": true, "require_approval": false}

Each check reports its numbers, so a refusal says exactly what failed. Extra
checks (fairness limits, for one) register themselves in ``EXTRA_CHECKS``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loopml.errors import InvalidInput, LoopmlError
from loopml.metrics import lower_is_better
from loopml.registry.entities import ModelVersion

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_THRESHOLD = re.compile(r"^\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")


class GateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, str] = Field(default_factory=dict, description='e.g. {"mae": "<= 3.0"}')
    beat_champion: str | None = Field(default=None, description="Metric the champion must lose on.")
    margin: float = Field(default=0.0, ge=0, description="By this share of the champion's value.")
    require_validation: bool = Field(default=False, description="Data validation must have passed.")
    require_approval: bool = Field(default=False, description="A person approves each promotion.")
    signature: str = Field(default="compatible", pattern="^(compatible|any)$")
    extra: dict[str, Any] = Field(default_factory=dict, description="Settings of extra checks.")

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: dict[str, str]) -> dict[str, str]:
        for metric, rule in value.items():
            if not _THRESHOLD.match(str(rule)):
                raise ValueError(f"threshold for {metric!r} must look like '<= 3.0', not {rule!r}")
        return value

    @field_validator("extra")
    @classmethod
    def _extra(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, settings in value.items():
            validate = getattr(extra_check(name), "validate_settings", None)
            if validate is not None:
                value[name] = validate(settings)
        return value


def parse_gate(gate: GateSpec | Mapping[str, Any] | None) -> GateSpec:
    """A gate from its stored or written form; a wrong one is refused with the setting."""
    from pydantic import ValidationError

    if isinstance(gate, GateSpec):
        return gate
    try:
        return GateSpec.model_validate(dict(gate or {}))
    except ValidationError as error:
        first = error.errors()[0]
        setting = ".".join(str(p) for p in first["loc"]) or "gate"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(
            f"The gate setting {setting!r} is wrong: {message}.",
            hint="See docs/registry.md for the gate's settings.",
        ) from None


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    values: dict[str, Any] | None = None  # the numbers behind the detail, kept in the audit


@dataclass(frozen=True)
class GateResult:
    checks: tuple[Check, ...] = field(default_factory=tuple)
    require_approval: bool = False

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "require_approval": self.require_approval,
            "checks": [vars(c) for c in self.checks],
        }


# (candidate, champion, the check's settings, the store) -> Check
ExtraCheck = Callable[[ModelVersion, ModelVersion | None, Any, Any], Check]
EXTRA_CHECKS: dict[str, ExtraCheck] = {}
# Built-in extra checks, imported when a gate first names them (they register themselves).
BUILTIN_CHECKS = {"fairness": "loopml.explain.gate"}


class GateFailed(LoopmlError, ValueError):
    status_code = 409

    def __init__(self, name: str, version: int, result: GateResult) -> None:
        reasons = "; ".join(f"{c.name}: {c.detail}" for c in result.failures())
        super().__init__(
            f"Version {version} of {name!r} did not pass the gate: {reasons}.",
            hint="Improve the model, or change the gate (loopml.set_gate) if the rule is wrong.",
        )
        self.result = result


def evaluate(
    spec: GateSpec | Mapping[str, Any] | None,
    candidate: ModelVersion,
    champion: ModelVersion | None,
    *,
    evaluation: Mapping[str, Mapping[str, float]] | None = None,
    allow_breaking_signature: bool = False,
    store: Any = None,
) -> GateResult:
    """Run every check. ``evaluation`` may give both models' metrics on the same data:
    ``{"candidate": {"mae": 2.1}, "champion": {"mae": 2.6}}``; else logged metrics are used."""
    spec = parse_gate(spec)
    mine = dict(candidate.metrics) | dict((evaluation or {}).get("candidate", {}))
    theirs = dict(champion.metrics if champion else {}) | dict(
        (evaluation or {}).get("champion", {})
    )
    checks = [_threshold(metric, rule, mine) for metric, rule in spec.thresholds.items()]
    if spec.beat_champion and champion is not None and champion.id != candidate.id:
        checks.append(_beats(spec.beat_champion, spec.margin, mine, theirs, champion.version))
    if spec.require_validation:
        ok = bool((candidate.validation or {}).get("ok"))
        checks.append(
            Check(
                "validation",
                ok,
                "data validation passed" if ok else "no passing data validation is recorded",
            )
        )
    if (
        spec.signature == "compatible"
        and champion is not None
        and champion.signature
        and candidate.signature
    ):
        problems = champion.signature.breaking_changes(candidate.signature)
        ok = not problems or allow_breaking_signature
        detail = "compatible with the champion" if not problems else "; ".join(problems)
        checks.append(
            Check("signature", ok, detail + (" (override given)" if problems and ok else ""))
        )
    for name, settings in spec.extra.items():
        checks.append(extra_check(name)(candidate, champion, settings, store))
    return GateResult(tuple(checks), spec.require_approval)


def extra_check(name: str) -> ExtraCheck:
    if name not in EXTRA_CHECKS and name in BUILTIN_CHECKS:
        import importlib

        importlib.import_module(BUILTIN_CHECKS[name])
    if name not in EXTRA_CHECKS:
        known = sorted({*EXTRA_CHECKS, *BUILTIN_CHECKS})
        raise InvalidInput(f"Unknown gate check {name!r}.", hint=f"Known: {', '.join(known)}.")
    return EXTRA_CHECKS[name]


def check_rule(rule: str) -> str:
    """``rule`` if it reads like ``'>= 0.8'``; else a ValueError saying how it should."""
    if not _THRESHOLD.match(str(rule)):
        raise ValueError(f"a limit must look like '>= 0.8' or '<= 3.0', not {rule!r}")
    return rule


def holds(rule: str, value: float) -> bool:
    """Does ``value`` meet ``rule`` (``'>= 0.8'``)? NaN meets none."""
    op, bound = _THRESHOLD.match(rule).groups()
    return bool(_OPS[op](value, float(bound)))


def _threshold(metric: str, rule: str, metrics: Mapping[str, float]) -> Check:
    op, bound = _THRESHOLD.match(rule).groups()
    value = metrics.get(metric)
    if value is None:
        return Check(f"{metric} {op} {bound}", False, f"{metric} was not logged for this version")
    ok = holds(rule, value)
    return Check(f"{metric} {op} {bound}", ok, f"{metric} = {value:.6g}")


def _beats(metric: str, margin: float, mine, theirs, champion_version: int) -> Check:
    name = f"beats champion on {metric}"
    if mine.get(metric) is None or theirs.get(metric) is None:
        return Check(
            name, False, f"{metric} is missing for the candidate or champion v{champion_version}"
        )
    lower = lower_is_better(metric)
    need = theirs[metric] * (1 - margin) if lower else theirs[metric] * (1 + margin)
    ok = mine[metric] <= need if lower else mine[metric] >= need
    return Check(
        name,
        ok,
        f"{metric} {mine[metric]:.6g} vs champion v{champion_version} {theirs[metric]:.6g} "
        f"(needs {'<=' if lower else '>='} {need:.6g})",
        {"metric": metric, "candidate": mine[metric], "champion": theirs[metric], "needed": need},
    )
