"""Slowing down password guessing: failed sign-ins counted per user name and per client
address in a sliding window, in a bounded amount of memory.

After ``max_failures`` failures of one name (or ``max_address_failures`` from one
address, which an office behind one NAT shares) within ``window``, sign-in for it
is refused until the oldest of those failures leaves the window; the refusal says
when. A successful sign-in clears the name's failures, not the address's: an
attacker with an account of their own cannot wipe the count of their guesses at
other names. At most ``max_keys`` names and addresses are tracked, the least
recently failed forgotten first, so a flood of invented names cannot exhaust
memory. The counts live in the process: each replica counts its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 15 * 60
MAX_FAILURES = 5  # of one user name within the window
MAX_ADDRESS_FAILURES = 20  # from one client address within the window
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds until a sign-in is accepted again
    reason: str


class SignInThrottle:
    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        max_failures: int = MAX_FAILURES,
        max_address_failures: int = MAX_ADDRESS_FAILURES,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.limits = {"name": max_failures, "address": max_address_failures}
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, name: str, address: str) -> Refusal | None:
        """Whether a sign-in of ``name`` from ``address`` may be tried now."""
        now = self.clock()
        with self._lock:
            for kind, key in (("name", name), ("address", address)):
                times = self._recent((kind, key), now)
                if times is not None and len(times) >= self.limits[kind]:
                    wait = max(1, math.ceil(times[0] + self.window - now))
                    # Never the typed name: it may be a password typed in the wrong field.
                    who = "this user name" if kind == "name" else f"address {address}"
                    return Refusal(
                        wait,
                        f"{len(times)} failed sign-ins of {who} within "
                        f"{self.window / 60:.0f} minutes",
                    )
        return None

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (("name", name), ("address", address)):
                times = self._recent(key, now)
                if times is None:
                    times = self._failures[key] = deque(maxlen=max(self.limits.values()))
                times.append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name), None)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        """The key's failures within the window (older ones dropped), or None."""
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
