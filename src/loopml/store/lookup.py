"""Finding a row by its unique name, with the error that lists the names there are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopml.errors import NotFound

SHOWN = 20  # names listed in the hint of an unknown name


def known_names(session: Session, table: Any) -> Sequence[str]:
    return session.scalars(select(table.name).order_by(table.name).limit(SHOWN)).all()


def unknown_name(noun: str, name: str, names: Sequence[str], *, otherwise: str) -> NotFound:
    """``No monitor named 'x'.``, hinting at the known names or, with none, at `otherwise`."""
    shown = ", ".join(names[:SHOWN])
    return NotFound(
        f"No {noun} named {name!r}.",
        hint=f"{noun.capitalize()}s: {shown}." if shown else otherwise,
    )


def row_named(session: Session, table: Any, name: str, *, noun: str, otherwise: str) -> Any:
    row = session.scalar(select(table).where(table.name == name))
    if row is None:
        raise unknown_name(noun, name, known_names(session, table), otherwise=otherwise)
    return row
