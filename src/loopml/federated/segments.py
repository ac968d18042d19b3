"""Per-segment federations: one global model for each segment every participant holds.

A participant names its segments when it joins (their keys, such as
``region=north``, never rows or counts); the coordinator trains only when every
participant holds the same segments, one engine run for each, and registers one
segment version per segment once all of them trained.
"""

from __future__ import annotations

import re
from typing import Any

from loopml.errors import InvalidInput
from loopml.registry.segments import canonical_segment, parse_segment

NONE = ""  # the one "segment" of a federation without segments


def of(frame: Any, columns: list[str], who: str) -> list[str]:
    """The canonical keys of the segments in ``frame`` (e.g. ``["region=north", ...]``)."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidInput(
            f"The data of {who} has no segment column {', '.join(missing)}.",
            hint="Every participant needs the federation's segment columns.",
        )
    keys = frame[columns].astype(str).drop_duplicates().to_dict("records")
    return sorted(canonical_segment(key) for key in keys)


def agreed(fingerprints: dict[str, dict[str, Any]]) -> tuple[list[str], str | None]:
    """The segments every participant holds, or why they differ."""
    held = {member: set(found.get("segments") or []) for member, found in fingerprints.items()}
    every = set.union(*held.values()) if held else set()
    differ = [
        f"{member} lacks {', '.join(sorted(every - mine))}"
        for member, mine in sorted(held.items())
        if mine != every
    ]
    if differ:
        return [], f"the participants' segments differ: {'; '.join(differ)}"
    return sorted(every), None


def rows_of(frame: Any, segment: str) -> Any:
    """The rows of one segment (all of them for ``NONE``)."""
    if segment == NONE:
        return frame
    mask = True
    for column, value in parse_segment(segment).items():
        mask = mask & (frame[column].astype(str) == value)
    return frame[mask]


def folder_name(segment: str) -> str:
    return "segment-" + re.sub(r"[^A-Za-z0-9_.-]", "_", segment)
