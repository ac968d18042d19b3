"""Resource usage of a run: wall time, CPU seconds, peak resident memory."""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class ResourceUsage:
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int


class ResourceMeter:
    """Started with a run; ``read()`` gives the usage since then.

    CPU seconds include finished child processes (joblib workers, for one).
    Peak memory is the larger of this process's and its children's peak.
    """

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = _cpu_seconds()

    def read(self) -> ResourceUsage:
        peak = max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        return ResourceUsage(
            wall_seconds=time.perf_counter() - self._wall,
            cpu_seconds=_cpu_seconds() - self._cpu,
            peak_rss_bytes=peak * _RSS_UNIT,
        )


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class TrainingCpu:
    """The CPU time of what a run's own code does while it is open: the fit, not loopml.

    Measured on the thread that started the run (``time.thread_time``), so the other
    threads of the process (a server's, loopml's log writers, another run's) are not
    counted; loopml's own calls inside the run (``log_model``, ``log_dataset`` …) pause
    it, so the imports, hashing and registering they do are not counted either: the
    first version logged in a process costs what the next identical one does. CPU of
    child processes that finished meanwhile (``os.times``) is added, as for runs. Threads
    a fit starts itself (OpenMP, ``n_jobs`` threads) are not seen by a thread clock.
    """

    def __init__(self) -> None:
        self._thread = threading.get_ident()
        self._started = _own_clock()
        self._paused = 0.0
        self._depth = 0
        self._paused_at = 0.0

    @contextmanager
    def paused(self) -> Iterator[None]:
        if threading.get_ident() != self._thread:  # another thread's time is not counted
            yield
            return
        self._depth += 1
        if self._depth == 1:
            self._paused_at = _own_clock()
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:  # children loopml ran meanwhile (git, say) are its own too
                self._paused += _own_clock() - self._paused_at

    def read(self) -> float | None:
        """Seconds so far; None on another thread than the run's, whose clock it cannot read."""
        if threading.get_ident() != self._thread:
            return None
        return max(0.0, _own_clock() - self._started - self._paused)


def _own_clock() -> float:
    """This thread's CPU seconds plus those of the finished child processes."""
    times = os.times()
    return time.thread_time() + times.children_user + times.children_system
