"""Checks on what users log: names, parameter values, metric values."""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

from loopml.errors import InvalidInput

MAX_KEY = 250


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise InvalidInput(
            f"{what} name {key!r} is not valid.",
            hint=f"Use a non-empty string of at most {MAX_KEY} characters.",
        )
    return key


def metric_value(key: str, value: Any) -> float:
    """A metric is a real number; NaN and infinities are kept as they are."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"Metric {key!r} got {value!r} ({type(value).__name__}); metrics are numbers.",
            hint="Log a number, or record text with log_param or set_tag.",
        )
    return float(value)


def metric_step(key: str, step: Any) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInput(
            f"Metric {key!r} got step {step!r}; a step is a whole number.",
            hint="Pass step=int(...) or leave it out to count up from 0.",
        )
    return int(step)


def text_value(value: Any) -> str:
    """Params and tags are stored as text; structured values as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return str(value)
