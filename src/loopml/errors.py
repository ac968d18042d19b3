"""One root error; every message says what went wrong and what to do next.

Each subclass also inherits the builtin a caller would naturally catch
(``NotFound`` is a ``LookupError``) and carries the HTTP status the server
answers with, so the CLI, the REST API and Python callers share one vocabulary.
"""

from __future__ import annotations


class LoopmlError(Exception):
    """Base of every error loopml raises on purpose.

    ``message`` says what went wrong, ``hint`` what to do about it.
    """

    status_code = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}" if hint else message)


class NotFound(LoopmlError, LookupError):
    status_code = 404


class InvalidInput(LoopmlError, ValueError):
    status_code = 422


class UntrustedModel(InvalidInput):
    """A model file holds types that could run code when loaded; nobody vouched for them."""


class Unauthorized(LoopmlError, PermissionError):
    """No credentials, or credentials that belong to no one."""

    status_code = 401


class Forbidden(LoopmlError, PermissionError):
    """Known caller, not allowed to do this."""

    status_code = 403


class Conflict(LoopmlError):
    status_code = 409


class TooManyRequests(LoopmlError):
    """Refused for now; ``retry_after`` says in how many seconds to try again."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class StoreUnavailable(LoopmlError, ConnectionError):
    status_code = 503


class StoreCorrupt(LoopmlError):
    """The store's database file is damaged or is no database at all."""

    status_code = 503


class SchemaMismatch(LoopmlError):
    """The store's schema is older or newer than this version of loopml."""

    status_code = 503


class ArtifactCorrupt(LoopmlError):
    """An artifact's content no longer matches the hash it was stored under."""

    status_code = 500


class MissingExtra(LoopmlError, ImportError):
    """An optional dependency is needed; the message names the pip install."""

    status_code = 501

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(
            f"{what} needs an optional dependency that is not installed.",
            hint=f"Install it with: pip install 'loopml[{extra}]'",
        )
        self.extra = extra


def require(module: str, *, what: str, extra: str):
    """Import an optional module or raise ``MissingExtra`` naming the install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(what, extra) from exc
