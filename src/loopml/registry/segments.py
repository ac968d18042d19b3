"""Segment keys: one slice of a model family, such as ``store=12,sku=A7``.

A segment is a mapping of key fields to values; its canonical string sorts the
keys, so ``{"store": 12, "sku": "A7"}`` and ``"store=12,sku=A7"`` name the same
segment everywhere: registry, routing, prediction log and monitoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loopml.errors import InvalidInput


def canonical_segment(segment: Mapping[str, Any] | str | None) -> str:
    """``{"store": 12, "sku": "A7"}`` → ``"sku=A7,store=12"``; ``""`` when there is none."""
    if not segment:
        return ""
    if isinstance(segment, str):
        segment = parse_segment(segment)
    return ",".join(f"{key}={segment[key]}" for key in sorted(segment))


def parse_segment(text: str) -> dict[str, str]:
    """``"sku=A7,store=12"`` → ``{"sku": "A7", "store": "12"}`` (values stay text)."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
        raise InvalidInput(
            f"Segment {text!r} is not of the form key=value,key=value.",
            hint='Write it like "sku=A7,store=12".',
        )
    return {key.strip(): value.strip() for key, value in pairs}
