"""Learn of alias moves made by any process and swap the pool in the background.

Every ``interval`` seconds one cheap registry query says where the aliases of
the served models point. A key whose version changed is loaded and swapped on
this thread; requests never wait for it. Many replicas each run their own
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
        """Apply every alias move since the last poll; return how many keys changed."""
        self.pool.read_model_names()
        names = self.pool.models()
        if not names:
            return 0
        state = self.pool.source.alias_state(names)
        changed = 0
        for key, served in self.pool.items():
            target = state.get(key)
            if target != served.version.id or key in self.pool.source.moved:
                version = None if target is None else self.pool.source.resolve(key)
                self.pool.swap(key, version)
                changed += 1
        served_keys = {key for key, _ in self.pool.items()}
        for name in {key[0] for key in state if key not in served_keys}:
            self.pool.forget_absent(name)
        self.polls += 1
        return changed

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the store may be briefly down; keep serving what is loaded
                log.exception("alias watcher: poll failed; serving the loaded versions")
