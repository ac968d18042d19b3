"""The loaded models of one server, keyed by (model, segment, alias), swapped atomically.

A lookup that misses loads the version its alias names (once, however many
requests ask at the same time) and remembers "no such alias" for a moment, so
unknown segments do not cost a store query per request. A swap loads the new
version first and then replaces one dictionary entry: requests that already
hold the old ``Served`` finish on it, later ones get the new one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from loopml.errors import LoopmlError
from loopml.registry.segments import parse_segment
from loopml.serving.scoring import Served
from loopml.serving.source import AliasKey, RegistrySource

log = logging.getLogger("loopml.serving")

MISS = object()  # not looked up yet: the caller must ``get`` (which may load)
RETRY_BROKEN = 30.0  # seconds before a version that failed to load is tried again


class ModelUnavailable(LoopmlError):
    """The version an alias names cannot be loaded (corrupt artifact, untrusted file …)."""

    status_code = 503


# Keys come from clients (any model name, any segment), so what is remembered
# about absent ones is bounded, and loads lock one of a fixed set of locks.
MAX_ABSENT = 10_000
NAMES_FRESH = 0.05  # seconds a list of model names answers "unknown" without a query
LOCK_STRIPES = 64
EVICT_SHARE = 0.1  # a full pool drops this share at once: sorting by age is paid rarely


class ModelPool:
    def __init__(
        self,
        source: RegistrySource,
        *,
        executor: Executor | None,
        max_rows: int,
        max_wait: float,
        miss_ttl: float = 1.0,
        on_swap: Callable[[Served, Served | None], None] | None = None,
        on_batch: Callable[[str, int], None] | None = None,
        max_models: int | None = None,
        on_evict: Callable[[Served], None] | None = None,
    ) -> None:
        self.source = source
        self.executor = executor
        self.max_rows = max_rows
        self.max_wait = max_wait
        self.miss_ttl = miss_ttl
        self.on_swap = on_swap
        self.on_batch = on_batch
        self.max_models = max_models  # None: every version asked for stays loaded
        self.on_evict = on_evict
        self._used: dict[AliasKey, float] = {}  # when each loaded key last answered
        self._evicting = threading.Lock()
        self._served: dict[AliasKey, Served] = {}
        self._absent: dict[AliasKey, float] = {}
        self._broken: dict[AliasKey, tuple[float, ModelUnavailable]] = {}
        self._fields: dict[str, tuple[str, ...]] = {}
        self._names: frozenset[str] | None = None
        self._names_read = 0.0
        self._stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def cached(self, key: AliasKey) -> Served | object | None:
        """What is known without I/O: a Served, None (no such alias) or MISS."""
        served = self._served.get(key)
        if served is not None:
            self._used[key] = time.monotonic()
            return served
        broken = self._broken.get(key)
        if broken is not None and time.monotonic() - broken[0] < RETRY_BROKEN:
            raise broken[1]
        since = self._absent.get(key)
        if since is not None and time.monotonic() - since < self.miss_ttl:
            return None
        return MISS

    def get(self, key: AliasKey) -> Served | None:
        """The Served for ``key``, loading it if needed; None if the alias names no version."""
        found = self.cached(key)
        if found is not MISS:
            return found  # type: ignore[return-value]
        with self._lock(key):
            found = self.cached(key)
            if found is not MISS:
                return found  # type: ignore[return-value]
            version = self.source.resolve(key)
            if version is None:
                self._remember_absent(key)
                return None
            return self._install(key, version)

    def preload(
        self, name: str, alias: str, segments: list[str]
    ) -> list[tuple[AliasKey, Exception]]:
        """Load ``alias`` of these segments of ``name`` (their versions read in a few
        queries), up to ``max_models``; returns the keys that failed and why."""
        failed: list[tuple[AliasKey, Exception]] = []
        room = None if self.max_models is None else self.max_models - len(self._served)
        wanted = segments if room is None else segments[: max(room, 0)]
        found = self.source.resolve_many(name, alias, wanted)
        for segment in wanted:  # in the order asked, not the store's
            version = found.get(segment)
            if version is None:
                continue
            key = (name, segment, alias)
            with self._lock(key):
                if key not in self._served:
                    try:
                        self._install(key, version)
                    except ModelUnavailable as error:
                        failed.append((key, error))
        return failed

    def surely_unknown(self, name: str) -> bool:
        """``name`` is no registered model, by a list read moments ago (no I/O). A miss
        reads the list again, so a stream of invented names costs at most a query per
        ``NAMES_FRESH``; the watcher's reads keep the list current but never let it
        refuse a name on its own (one may have been read just before a model was
        registered, and the model must then be looked up, not refused)."""
        if self._names is None or name in self._names:
            return False
        return time.monotonic() - self._names_read < NAMES_FRESH

    def read_model_names(self, *, after_miss: bool = False) -> None:
        """Read the registered models again, for ``surely_unknown``; ``after_miss``: a
        name was just looked up and not found, so the list may answer for a moment."""
        started = time.monotonic()
        self._names = frozenset(self.source.model_names())
        if after_miss:
            self._names_read = started

    def model_names(self) -> list[str]:
        return sorted(self._names or ())

    def known_fields(self, name: str) -> tuple[str, ...] | None:
        """The segment fields of ``name`` if already known (no I/O), else None."""
        return self._fields.get(name)

    def segment_fields(self, name: str) -> tuple[str, ...]:
        fields = self._fields.get(name)
        if fields is None:
            fields = self._fields[name] = self.source.segment_fields(name)
        return fields

    def swap(self, key: AliasKey, version: Any | None) -> None:
        """Put ``version`` behind ``key`` (None: the alias was removed)."""
        with self._lock(key):
            current = self._served.get(key)
            if version is None:
                self._served.pop(key, None)
                self._used.pop(key, None)
                self._remember_absent(key)
            elif current is None or (current.version.id, current.version.onnx_digest) != (
                version.id,
                version.onnx_digest,
            ):  # another version, or the same one with another runtime
                self._install(key, version)

    def moved(self, key: AliasKey, target: int | None) -> bool:
        """The alias behind ``key`` now names version id ``target`` (None: removed). A
        loaded key is swapped (True); one not loaded only forgets what was remembered of
        it, so its next request loads the new version: nothing else is touched."""
        self._absent.pop(key, None)
        self._broken.pop(key, None)
        fields = self._fields.get(key[0])
        if fields is not None and not set(parse_segment(key[1])) <= set(fields):
            self._fields.pop(key[0], None)  # a segment with new key fields
        served = self._served.get(key)
        if served is None:
            return False
        # A move to the version already served may change how it scores (its runtime):
        # ``swap`` loads it again only then.
        self.swap(key, None if target is None else self.source.resolve(key))
        return self._served.get(key) is not served

    def serves(self, name: str) -> bool:
        return any(key[0] == name for key in list(self._served))

    def items(self) -> list[tuple[AliasKey, Served]]:
        return list(self._served.items())

    def unavailable(self) -> dict[str, str]:
        """What cannot be served and why: ``{"churn@champion version 3": reason}``."""
        return {
            _label(key, error.version): error.reason
            for key, (_, error) in list(self._broken.items())
        }

    def _load(self, key: AliasKey, version: Any) -> tuple[Any, Any]:
        try:
            return self.source.load(version), self.source.checker(version)
        except Exception as error:
            reason = (
                error.message
                if isinstance(error, LoopmlError)
                else f"{type(error).__name__}: {error}"
            )
            unavailable = ModelUnavailable(
                f"Model {_label(key, version.version)} cannot be loaded: {reason}",
                hint="Fix the version's artifact or point the alias at another version "
                "(loopml.set_alias); GET /readyz lists what cannot be served.",
            )
            unavailable.reason, unavailable.version = reason, version.version
            self._broken[key] = (time.monotonic(), unavailable)
            log.error("%s", unavailable.message)
            raise unavailable from error

    def _install(self, key: AliasKey, version: Any) -> Served:
        started = time.perf_counter()
        model, checker = self._load(key, version)
        self._broken.pop(key, None)
        served = Served(
            name=key[0],
            segment=key[1],
            alias=key[2],
            version=version,
            model=model,
            checker=checker,
        ).attach_batcher(
            self.executor,
            max_rows=self.max_rows,
            max_wait=self.max_wait,
            observe=self._observer(key[0]),
        )
        previous = self._served.get(key)
        self._served[key] = served  # the swap: one dictionary assignment
        self._used[key] = time.monotonic()
        self._absent.pop(key, None)
        log.info(
            "serving %s%s@%s version %s (loaded in %.0f ms)",
            key[0],
            f"[{key[1]}]" if key[1] else "",
            key[2],
            served.number,
            (time.perf_counter() - started) * 1000,
        )
        if self.on_swap:
            self.on_swap(served, previous)
        self._evict_over_budget()
        return served

    def loaded(self) -> int:
        return len(self._served)

    @property
    def full(self) -> bool:
        return self.max_models is not None and len(self._served) >= self.max_models

    def _evict_over_budget(self) -> None:
        """Past ``max_models``, drop the least recently used tenth of the loaded versions.
        A request that already holds one finishes on it; the next loads it again."""
        if self.max_models is None or len(self._served) <= self.max_models:
            return
        with self._evicting:
            excess = len(self._served) - self.max_models
            if excess <= 0:
                return
            count = max(excess, int(self.max_models * EVICT_SHARE))
            oldest = sorted(list(self._used.items()), key=lambda item: item[1])[:count]
            for key, _when in oldest:  # no stripe lock: the caller may hold this key's
                served = self._served.pop(key, None)
                self._used.pop(key, None)
                if served is not None and self.on_evict:
                    self.on_evict(served)

    def _observer(self, name: str) -> Callable[[int], None] | None:
        on_batch = self.on_batch
        if on_batch is None:
            return None
        return lambda rows: on_batch(name, rows)

    def _remember_absent(self, key: AliasKey) -> None:
        self._broken.pop(key, None)
        self._absent.pop(key, None)  # re-inserted last: the dict's order is its age
        self._absent[key] = time.monotonic()
        while len(self._absent) > MAX_ABSENT:
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # other threads
                self._absent.pop(next(iter(self._absent)))

    def _lock(self, key: AliasKey) -> threading.Lock:
        return self._stripes[hash(key) % LOCK_STRIPES]


def _label(key: AliasKey, number: Any) -> str:
    segment = f"[{key[1]}]" if key[1] else ""
    return f"{key[0]!r}{segment}@{key[2]} version {number}"
