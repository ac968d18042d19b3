"""A participant's data as the coordinator sees it: a fingerprint, and the signature it must meet.

A fingerprint is the content hash, the schema and the row count of a dataset
version, never a row. The signature is the federation's feature columns with
their logical types, plus the binary target.
"""

from __future__ import annotations

from typing import Any

from loopml.errors import InvalidInput

NUMERIC = {"integer", "float", "boolean"}


def fingerprint(version: Any) -> dict[str, Any]:
    return {"digest": version.digest, "schema": list(version.schema), "num_rows": version.num_rows}


def signature_problems(
    schema: list[dict[str, str]], features: list[dict[str, str]], target: str
) -> list[str]:
    """What keeps data with ``schema`` out of a federation; empty when it fits."""
    types = {column["name"]: column["type"] for column in schema}
    problems = [f"column {f['name']!r} is missing" for f in features if f["name"] not in types]
    problems += [
        f"column {f['name']!r} is {types[f['name']]}, the federation needs {f['type']}"
        for f in features
        if f["name"] in types and not _compatible(types[f["name"]], f["type"])
    ]
    if target not in types:
        problems.append(f"target column {target!r} is missing")
    return problems


def check_signature(schema, features, target: str, *, who: str) -> None:
    problems = signature_problems(schema, features, target)
    if problems:
        raise InvalidInput(
            f"The data of {who} does not match the federation's signature: {'; '.join(problems)}.",
            hint="Give every feature column the federation names, with its type, and the target.",
        )


def features_of(schema: list[dict[str, str]], target: str) -> list[dict[str, str]]:
    """A federation's signature from a sample of its data: every numeric column but the target."""
    return [
        {"name": c["name"], "type": c["type"]}
        for c in schema
        if c["name"] != target and c["type"] in NUMERIC
    ]


def _compatible(found: str, needed: str) -> bool:
    # Integers and floats are one number for a linear model; anything else must match.
    return found == needed or {found, needed} <= {"integer", "float"}
