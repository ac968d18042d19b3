"""Secrets out of what the server shows and logs: run params, tracebacks, webhook URLs.

One set of rules, used by API answers and by the server's log handlers. A
value is hidden when its name says it is secret (``password``, ``token``,
``api_key`` …); free text (a traceback, a URL) keeps its shape with the secret
parts replaced: passwords in URLs, ``token=…``/``key=…`` pairs, bearer
credentials, loopml tokens and the secret paths of Slack, Teams and Discord
webhooks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

HIDDEN = "***"

_SECRET_WORD = (
    r"(?:[\w.-]*[_.-])?(?:password|passwd|pwd|secret|token|api_?key|apikey|key|"
    r"access_?key|private_?key|auth|credentials?|signature|sig)"
)
_SECRET_NAME = re.compile(_SECRET_WORD, re.I)
_RULES = [
    # scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@", re.I), rf"\1:{HIDDEN}@"),
    # token=..., "password": "...", api_key: ... (a quoted value is hidden up to its quote)
    (
        re.compile(
            rf"\b({_SECRET_WORD})([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&\"',;)}}\]]+)", re.I
        ),
        lambda m: m[1] + m[2] + (m[3][0] + HIDDEN + m[3][0] if m[3][0] in "\"'" else HIDDEN),
    ),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.I), rf"\1 {HIDDEN}"),
    (re.compile(r"\blml_[A-Za-z0-9_-]{16,}"), f"lml_{HIDDEN}"),
    (
        re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s\"'?#]+"),
        rf"\1{HIDDEN}",
    ),
    (re.compile(r"(\.webhook\.office\.com/webhookb2/)[^\s\"'?#]+"), rf"\1{HIDDEN}"),
    (re.compile(r"(\.logic\.azure\.com(?::\d+)?/workflows/)[^\s\"'?#]+"), rf"\1{HIDDEN}"),
    (re.compile(r"(outlook\.office(?:365)?\.com/webhook/)[^\s\"'?#]+"), rf"\1{HIDDEN}"),
    (re.compile(r"(discord(?:app)?\.com/api/webhooks/)[^\s\"'?#]+"), rf"\1{HIDDEN}"),
]


def redact_text(text: str | None) -> str | None:
    """``text`` with every secret-looking part replaced by ``***``."""
    if not text:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.fullmatch(name))


def redact_mapping(values: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Params, tags or settings: a value whose name is secret is hidden whole, other
    text values are redacted as text. ``prefix`` (e.g. ``params.``) marks the keys to
    judge by the name after it, as in a table of runs; other keys pass unchanged."""
    out = {}
    for key, value in values.items():
        if not key.startswith(prefix):
            out[key] = value
            continue
        name = key[len(prefix) :]
        if is_secret_name(name) and value is not None:
            out[key] = HIDDEN
        else:
            out[key] = redact_text(value) if isinstance(value, str) else value
    return out


class RedactingFilter(logging.Filter):
    """Redacts each record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it itself
            return True
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact_text(record.exc_text)
        record.stack_info = redact_text(record.stack_info)
        return True


def redact_logs(*names: str) -> None:
    """Put the filter on every handler of the root logger and of ``names`` (once)."""
    for logger in (logging.getLogger(), *(logging.getLogger(n) for n in names)):
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
