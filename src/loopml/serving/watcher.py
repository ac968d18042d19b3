"""Learn of alias moves made by any process and swap the pool in the background.

Every ``interval`` seconds one cheap registry query reads the alias moves made
since the last poll. A loaded key whose version changed is loaded again and
swapped on this thread; requests never wait for it. A key that is not loaded is
only forgotten, so a move costs the same with 10 segments or 10,000. Many replicas each run their own
watcher against the shared store, so a promotion reaches all of them.
"""

from __future__ import annotations

import logging
import threading

from loopml.serving.pool import ModelPool

log = logging.getLogger("loopml.serving")


class AliasWatcher:
    def __init__(self, pool: ModelPool, *, interval: float) -> None:
        self.pool = pool
        self.interval = interval
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loopml-alias-watcher", daemon=True)

    def start(self) -> AliasWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def poll(self) -> int:
        """Apply every alias move since the last poll; return how many loaded keys changed."""
        self.pool.read_model_names()
        changed = sum(
            self.pool.moved(key, target) for key, target in self.pool.source.alias_moves().items()
        )
        self.polls += 1
        return changed

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the store may be briefly down; keep serving what is loaded
                log.exception("alias watcher: poll failed; serving the loaded versions")
