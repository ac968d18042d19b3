"""A user of each role with a live personal token, and a service token."""

from __future__ import annotations

from loopml.auth import tokens, users

ROLES = ("viewer", "operator", "admin")


def make_people(store, *, password: str | None = None) -> dict[str, str]:
    """Role (or "service") -> the secret of a token that acts as it."""
    people = {}
    for role in ROLES:
        users.add_user(store, role, role=role, password=password, actor="setup")
        people[role] = tokens.create_token(store, f"{role}-token", user=role, actor="setup").secret
    people["service"] = tokens.create_token(store, "scoring", service=True, actor="setup").secret
    return people


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
