"""Checks on what users log: names, parameter values, metric values."""

from __future__ import annotations

import json
import math
import numbers
import re
import sys
from typing import Any

from loopml.errors import InvalidInput

MAX_KEY = 250
# Steps are stored as 64-bit integers on every database.
MIN_STEP, MAX_STEP = -(2**63), 2**63 - 1
# NUL ends a string in PostgreSQL's protocol, and other control characters hide in logs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise InvalidInput(
            f"{what} name {key!r} is not valid.",
            hint=f"Use a non-empty string of at most {MAX_KEY} characters.",
        )
    if _CONTROL.search(key):
        raise InvalidInput(
            f"{what} name {key!r} holds a control character (NUL, newline, tab …).",
            hint="Use printable characters only; nothing of this call was stored.",
        )
    return key


def metric_value(key: str, value: Any) -> float:
    """A metric is a real number; NaN and infinities are kept as they are."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"Metric {key!r} got {value!r} ({type(value).__name__}); metrics are numbers.",
            hint="Log a number, or record text with log_param or set_tag.",
        )
    try:
        return float(value)
    except OverflowError:
        raise InvalidInput(
            f"Metric {key!r} got {value!r}, beyond the largest float ({sys.float_info.max:.3g}).",
            hint="Log a float (inf where it is unbounded); nothing of this call was stored.",
        ) from None


def metric_step(key: str, step: Any) -> int | None:
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInput(
            f"Metric {key!r} got step {step!r}; a step is a whole number.",
            hint="Pass step=int(...) or leave it out to count up from 0.",
        )
    step = int(step)
    if not MIN_STEP <= step <= MAX_STEP:
        raise InvalidInput(
            f"Metric {key!r} got step {step}, outside the 64-bit range [{MIN_STEP}, {MAX_STEP}].",
            hint="Use a smaller step; nothing of this call was stored.",
        )
    return step


def text_value(value: Any) -> str:
    """Params and tags are stored as text; structured values as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return str(value)


def check_text(key: str, text: str) -> str:
    """PostgreSQL stores no NUL in text; SQLite would, so both refuse it alike."""
    if "\x00" in text:
        raise InvalidInput(
            f"The value of {key!r} holds a NUL character.",
            hint="Remove it (or log the value as an artifact); nothing of this call was stored.",
        )
    return text
