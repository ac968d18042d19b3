"""uvicorn, configured so that no client can hold the server: ``server_config``.

uvicorn closes an idle keep-alive connection only after a first response, so a
client that connects and never sends a request (or trickles its headers) would
hold a socket forever; about a thousand of them exhaust the file descriptors.
The protocols below add a deadline for a request's headers, armed when the
connection opens and again after every response, and a cap on header bytes.
Everything else is uvicorn's own settings: ``timeout_keep_alive``,
``limit_concurrency`` (a 503 beyond it) and ``h11_max_incomplete_event_size``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

    from loopml.config import Settings


class _HeaderDeadline:
    """Mixin for uvicorn's HTTP protocols: close a connection whose request headers
    are not complete ``header_timeout`` seconds after it opened or last answered."""

    header_timeout: float = 10.0
    max_header_bytes: int = 16 * 1024
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)  # type: ignore[attr-defined]

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        cycle = self.cycle  # type: ignore[attr-defined]
        waiting_for_headers = cycle is None or cycle.response_complete
        if waiting_for_headers and not self.transport.is_closing():  # type: ignore[attr-defined]
            self.transport.close()  # type: ignore[attr-defined]


def _httptools_protocol(header_timeout: float, max_header_bytes: int) -> type:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Protocol(_HeaderDeadline, HttpToolsProtocol):
        _header_bytes = 0

        def on_message_begin(self) -> None:
            self._header_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value))
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            # h11 enforces its own cap (h11_max_incomplete_event_size); httptools has none.
            self._header_bytes += size
            if self._header_bytes > self.max_header_bytes:
                raise _HeadersTooLarge

    Protocol.header_timeout, Protocol.max_header_bytes = header_timeout, max_header_bytes
    return Protocol


class _HeadersTooLarge(Exception):
    """Raised inside httptools' callbacks: the parser stops, uvicorn answers 400 and closes."""


def _h11_protocol(header_timeout: float, max_header_bytes: int) -> type:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(_HeaderDeadline, H11Protocol):
        pass

    Protocol.header_timeout, Protocol.max_header_bytes = header_timeout, max_header_bytes
    return Protocol


def protocol_class(settings: Settings) -> type:
    """httptools when installed (as uvicorn's ``auto``), else h11; both with the deadline."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return _h11_protocol(settings.server_header_timeout, settings.server_max_header_bytes)
    return _httptools_protocol(settings.server_header_timeout, settings.server_max_header_bytes)


def server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """A ``uvicorn.Config`` for ``app`` with loopml's timeouts and limits; ``options``
    are passed on (host, port, log_level …)."""
    import uvicorn

    return uvicorn.Config(
        app,
        http=protocol_class(settings),
        timeout_keep_alive=settings.server_keep_alive_timeout,
        limit_concurrency=settings.server_limit_concurrency,
        h11_max_incomplete_event_size=settings.server_max_header_bytes,
        **options,
    )
