"""Names that become parts of paths: refused when they could leave their folder.

Artifact paths of runs, model names and dataset names end up in folders and
URLs on every backend (a local folder, S3 through fsspec, a download
destination). A ``..`` part, an absolute path, a backslash or a control
character (NUL above all, which ends a path in C) could reach outside the
folder meant for them, so they are refused before anything is written.
"""

from __future__ import annotations

import re
from typing import Any

from loopml.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def check_relative_path(path: Any, what: str) -> str:
    """A relative path of ``/``-separated parts, none of them ``..`` or ``.`` or empty."""
    problem = _problem(path)
    if problem is None:
        parts = path.split("/")
        if path.startswith("/") or _DRIVE.match(path):
            problem = "is absolute"
        elif any(part in ("", ".", "..") for part in parts):
            problem = "has an empty, '.' or '..' part"
    if problem:
        raise InvalidInput(
            f"{what} {path!r} {problem}, so it could point outside its folder.",
            hint="Use a relative path of plain parts, such as 'plots/loss.png'.",
        )
    return path


def check_name(name: Any, what: str) -> str:
    """One path part: no ``/``, not ``.`` or ``..``."""
    problem = _problem(name)
    if problem is None and ("/" in name or name.strip() in (".", "..")):
        problem = "is not a single plain name"
    if problem:
        raise InvalidInput(
            f"{what} {name!r} {problem}, so it could point outside its folder.",
            hint="Use letters, digits and - _ . (not only dots), e.g. 'demand'.",
        )
    return name


def _problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "is empty or not text"
    if _CONTROL.search(value):
        return "holds a control character"
    if "\\" in value:
        return "holds a backslash"
    return None
