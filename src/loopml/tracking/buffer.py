"""Metric points buffered in memory and written in batches.

``add`` costs about a microsecond: it appends to a list under a lock. Points
are written when the buffer reaches its size, when its interval has passed,
when the run ends and when the interpreter exits. Size and interval flushes
happen on a background thread, so a training loop keeps running while its
points are written (the database releases the GIL while it works); should the
writer fall behind, the logging thread writes itself, which bounds the memory.

The same thread writes each run's heartbeat (tracking/liveness.py).

Points are checked when logged (values.py), so a write fails only when the
store does: the points stay buffered and the background thread tries again,
``MAX_ATTEMPTS`` times in a row at most. Then it stops trying and logs a
warning naming the run and the points at risk; an explicit flush or the run's
end tries again, and the warning is repeated should that fail too.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence

Point = tuple[str, float, int, float]
Writer = Callable[[Sequence[Point]], None]

# A logging thread writes itself once this many full batches are waiting.
BACKLOG = 4
# Failed background writes in a row after which the thread stops trying and says so.
MAX_ATTEMPTS = 5

log = logging.getLogger("loopml.tracking")


class MetricBuffer:
    def __init__(
        self,
        write: Writer,
        *,
        size: int,
        interval: float,
        name: str = "",
        heartbeat: Callable[[], None] | None = None,
        heartbeat_interval: float = 10.0,
    ) -> None:
        self.name = name  # the run's id, for the warning
        self.failures = 0
        self._heartbeat = heartbeat  # says the run's process is alive (tracking/liveness.py)
        self._heartbeat_interval = heartbeat_interval
        self._last_beat = time.monotonic()
        self._write = write
        self._size = size
        self.interval = interval
        self._points: list[Point] = []
        self._next_step: dict[str, int] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._requested = False
        self.last_flush = time.monotonic()
        _flusher.watch(self)

    def add(self, key: str, value: float, step: int | None) -> None:
        with self._lock:
            if step is None:
                step = self._next_step.get(key, 0)
            if step >= self._next_step.get(key, 0):
                self._next_step[key] = step + 1
            self._points.append((key, value, step, time.time()))
            waiting = len(self._points)
        if waiting >= self._size:
            self._full(waiting)

    def add_many(self, items: Iterable[tuple[str, float]], step: int | None) -> None:
        """Points of several keys at one step (each key's next step when ``step`` is None)."""
        now = time.time()
        with self._lock:
            next_step = self._next_step
            for key, value in items:
                at = next_step.get(key, 0) if step is None else step
                if at >= next_step.get(key, 0):
                    next_step[key] = at + 1
                self._points.append((key, value, at, now))
            waiting = len(self._points)
        if waiting >= self._size:
            self._full(waiting)

    def _full(self, waiting: int) -> None:
        if waiting >= self._size * BACKLOG:
            self.flush()
        elif not self._requested:
            self._requested = True
            _flusher.request()

    def flush(self) -> None:
        """Write what is buffered; on failure the points stay for the next try."""
        self._drain(self._write, always=False)

    def close(self, final: Writer | None = None) -> None:
        """Stop buffering. The remaining points go to ``final`` when given, called even
        with none, so that it can end the run in the same transaction."""
        self._drain(final or self._write, always=final is not None)
        _flusher.forget(self)

    def due(self, now: float) -> bool:
        if self.failures >= MAX_ATTEMPTS:
            return False  # reported; the run's end or an explicit flush tries again
        return self._requested or now - self.last_flush >= self.interval

    def beat(self, now: float) -> None:
        if self._heartbeat is not None and now - self._last_beat >= self._heartbeat_interval:
            self._last_beat = now
            self._heartbeat()

    @property
    def waiting(self) -> int:
        return len(self._points)

    def _drain(self, write: Writer, *, always: bool) -> None:
        with self._flush_lock:
            with self._lock:
                points, self._points = self._points, []
                self._requested = False
            self.last_flush = time.monotonic()
            if not points and not always:
                return
            try:
                write(points)
            except BaseException as error:
                with self._lock:
                    self._points[:0] = points
                self._failed(error)
                raise
            self.failures = 0

    def _failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.failures % MAX_ATTEMPTS == 0:
            log.warning(
                "Metrics of run %s: %d writes failed in a row (%s); %d points at risk. They stay "
                "buffered until the run ends or is flushed; fix the store to keep them.",
                self.name,
                self.failures,
                error,
                self.waiting,
            )


class _Flusher:
    """One daemon thread for the process that writes full buffers and those past
    their interval."""

    def __init__(self) -> None:
        self._buffers: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def watch(self, buffer: MetricBuffer) -> None:
        with self._lock:
            self._buffers.add(buffer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="loopml-metrics", daemon=True
                )
                self._thread.start()

    def forget(self, buffer: MetricBuffer) -> None:
        with self._lock:
            self._buffers.discard(buffer)

    def request(self) -> None:
        """A buffer is full: write it now rather than at the next tick."""
        self._wake.set()

    def flush_all(self) -> None:
        for buffer in self._snapshot():
            try:
                buffer.flush()
            except Exception:  # at exit a broken store must not mask the real error
                continue

    def _snapshot(self) -> list[MetricBuffer]:
        with self._lock:
            return list(self._buffers)

    def _loop(self) -> None:
        while True:
            buffers = self._snapshot()
            interval = min((b.interval for b in buffers), default=1.0)
            self._wake.wait(min(interval, 1.0) / 2)
            self._wake.clear()
            now = time.monotonic()
            for buffer in self._snapshot():
                try:
                    buffer.beat(now)
                    if buffer.due(now):
                        buffer.flush()
                except Exception:  # points stay buffered (the run's end retries); beats resume
                    continue


_flusher = _Flusher()
atexit.register(_flusher.flush_all)
