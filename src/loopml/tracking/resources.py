"""Resource usage of a run: wall time, CPU seconds, peak resident memory."""

from __future__ import annotations

import os
import resource
import sys
import time
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
