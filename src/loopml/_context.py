"""The process-wide context behind the fluent API: settings, store, artifacts.

Library code receives these objects explicitly; only the fluent functions
(``loopml.start_run``, ``loopml.log_model`` …) reach for the current context,
which is built from the environment on first use or by ``loopml.configure``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

from loopml.config import Settings


@dataclass
class Context:
    settings: Settings = field(default_factory=Settings)

    @cached_property
    def store(self):
        from loopml.store import Store

        return Store(
            self.settings.resolved_store_url,
            auto_upgrade=self.settings.auto_upgrade,
            private=self.settings.private_files,
        )

    @cached_property
    def artifacts(self):
        from loopml.artifacts import ArtifactStore

        return ArtifactStore(
            self.settings.resolved_artifact_uri, private=self.settings.private_files
        )

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.dispose()


_lock = threading.Lock()
_current: Context | None = None


def get_context() -> Context:
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = Context()
    return _current


def configure(settings: Settings | None = None, **overrides) -> Context:
    """Point the fluent API at a store: from ``settings``, or the environment plus overrides.

    >>> loopml.configure(home="/tmp/demo")  # doctest: +SKIP
    """
    global _current
    with _lock:
        if _current is not None:
            _current.close()
        _current = Context(settings or Settings(**overrides))
    return _current
