"""The serving core: route rows, check them, score them in micro-batches, log, count.

No web framework here: the HTTP routes call ``predict`` and batch scoring
calls ``plan_sync`` and ``Served.score`` directly, so both route the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from loopml.errors import LoopmlError, NotFound
from loopml.serving.event_time import take_event_times
from loopml.serving.logsink import Answered, PredictionSink
from loopml.serving.metrics import ServingMetrics
from loopml.serving.pool import MISS, ModelPool
from loopml.serving.prediction_ids import new_ids
from loopml.serving.router import Route, no_version, plan
from loopml.serving.rows import Rows
from loopml.serving.scoring import Scores, Served
from loopml.serving.source import AliasKey, RegistrySource
from loopml.serving.traffic import ServingConfig, request_draw
from loopml.serving.watcher import AliasWatcher

log = logging.getLogger("loopml.serving")

# Requests for models this server does not serve are counted under one label:
# a label per name a client invents would grow /metrics without bound.
UNKNOWN_MODEL = "(unknown)"
PRELOAD_CHUNK = 200  # versions read per query while preloading


@dataclass(frozen=True)
class Answer:
    """One request's answer, a value per row."""

    model: str
    prediction_ids: list[str]
    predictions: list[Any]
    proba: list[float | None] | None
    versions: list[int]
    segments: list[str]
    roles: list[str]
    flags: list[list[str]]
    runtimes: list[str]  # what scored each row: "native" or "onnx" (onnxruntime)


class _NeedsLoad(Exception):
    """The fast path met a key that is not loaded; plan again on a worker thread."""


class ServingEngine:
    def __init__(
        self,
        source: RegistrySource,
        config: ServingConfig | None = None,
        *,
        max_batch_rows: int = 1024,
        max_wait: float = 0.0,
        poll_interval: float = 1.0,
        workers: int = 2,
        prediction_log=None,
        metrics: ServingMetrics | None = None,
        attributions=None,
        max_models: int | None = None,
    ) -> None:
        self.config = config or ServingConfig()
        self.metrics = metrics or ServingMetrics()
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="loopml-score")
        self.loader = ThreadPoolExecutor(1, thread_name_prefix="loopml-load")
        self.pool = ModelPool(
            source,
            executor=self.executor,
            max_rows=max_batch_rows,
            max_wait=max_wait,
            miss_ttl=poll_interval,
            on_swap=self._swapped,
            on_batch=lambda name, rows: self.metrics.of(self.metrics.batch_rows, name).observe(
                rows
            ),
            max_models=max_models,
            on_evict=self._evicted,
        )
        self.metrics.models_loaded.set_function(self.pool.loaded)
        self.watcher = AliasWatcher(self.pool, interval=poll_interval)
        self.sink = (
            PredictionSink(prediction_log, attributions=attributions)
            if prediction_log is not None
            else None
        )
        self._ready = threading.Event()
        self._preloaded = threading.Event()
        self._closing = threading.Event()
        self._started = time.monotonic()
        self.ready_after: float | None = None  # seconds from start to ready
        self.preloaded_after: float | None = None  # ... to the background preload's end
        self._shadow_tasks: set[asyncio.Task] = set()

    # lifecycle ------------------------------------------------------------

    def start(self) -> ServingEngine:
        """Read where the aliases point, report ready, then load the served versions in
        the background up to the pool's budget (the rest load on their first request);
        watch aliases from now on."""
        self._started = time.monotonic()
        threading.Thread(target=self._warm_up, name="loopml-preload", daemon=True).start()
        self.watcher.start()
        return self

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def preloading(self) -> bool:
        """Ready, and still loading served versions in the background."""
        return self._ready.is_set() and not self._preloaded.is_set()

    async def aclose(self) -> None:
        """Finish shadow work, stop watching, flush the prediction log."""
        if self._shadow_tasks:
            await asyncio.wait(self._shadow_tasks, timeout=10)
        self.close()

    def close(self) -> None:
        self._closing.set()
        self.watcher.stop()
        if self.sink is not None:
            self.sink.close()
        self.executor.shutdown(wait=True)
        self.loader.shutdown(wait=True)

    def _warm_up(self) -> None:
        """Readiness costs one query (the alias table) and one model load, whatever the
        number of segments: the first load imports the flavor's libraries, which would
        otherwise fall on the first request, and tells whether anything can be served.
        Loading the rest does not delay it."""
        keys: list[AliasKey] = []
        try:
            keys = self._served_keys()
            while keys and not self.pool.loaded():  # past broken ones, to one that loads
                self._preload(keys[:1])
                keys = keys[1:]
        except Exception:
            log.exception("could not read the aliases; models load on their first request")
        finally:
            self.ready_after = time.monotonic() - self._started
            self._ready.set()
        try:
            self._preload(keys)
        except Exception:
            log.exception("could not preload models; they load on their first request")
        finally:
            self.preloaded_after = time.monotonic() - self._started
            self._preloaded.set()

    def _served_keys(self) -> list[AliasKey]:
        """The keys requests are routed to, each model's served alias first, then its
        challenger when a canary or shadow takes it; segments in order within each."""
        served: dict[str, str] = {}
        challenger: dict[str, str | None] = {}
        keys = []
        for key in list(self.pool.source.aliases()):  # the watcher may move one meanwhile
            name = key[0]
            if name not in served:
                served[name] = self.config.for_model(name).alias
                challenger[name] = self._challenger(name)
            if key[2] in (served[name], challenger[name]):
                keys.append(key)
        return sorted(keys, key=lambda k: (k[0], k[2] != served[k[0]], k[2], k[1]))

    def _preload(self, keys: list[AliasKey]) -> None:
        """Load ``keys`` a chunk of one model's alias at a time (its versions read in a
        few queries), until the budget is full or the server closes."""
        for (name, alias), group in itertools.groupby(keys, key=lambda k: (k[0], k[2])):
            segments = [key[1] for key in group]
            for start in range(0, len(segments), PRELOAD_CHUNK):
                if self.pool.full or self._closing.is_set():
                    return
                chunk = segments[start : start + PRELOAD_CHUNK]
                for key, error in self.pool.preload(name, alias, chunk):
                    log.error("model %s (%s) is not served: %s", name, key[2], error)

    def _challenger(self, name: str) -> str | None:
        deployment = self.config.for_model(name)
        return deployment.challenger if deployment.canary_percent or deployment.shadow else None

    def _evicted(self, served: Served) -> None:
        self.metrics.evictions.inc()
        with contextlib.suppress(KeyError):  # /metrics lists what is loaded, not 10,000 segments
            self.metrics.served_version.remove(served.name, served.segment, served.alias)

    def _swapped(self, served: Served, previous: Served | None) -> None:
        self.metrics.swaps.labels(served.name, served.alias).inc()
        self.metrics.served_version.labels(served.name, served.segment, served.alias).set(
            served.number
        )

    # real time ------------------------------------------------------------

    async def predict(self, name: str, rows: Rows) -> Answer:
        started = time.perf_counter()
        answered_at = datetime.now(timezone.utc)
        try:
            rows, event_times = take_event_times(rows, answered_at)
            routes, shadows = await self._plan(name, rows)
            checked = [(route, self._check(name, route, rows)) for route in routes]
            if len(checked) == 1:  # a lone route awaits its batcher itself: no task to gather
                scores = [await checked[0][0].served.batcher.submit(checked[0][1][0])]
            else:
                scores = await asyncio.gather(
                    *(route.served.batcher.submit(sub) for route, (sub, _) in checked)
                )
        except LoopmlError as error:
            label = name if self.pool.serves(name) else UNKNOWN_MODEL
            self.metrics.errors.labels(label, "", type(error).__name__).inc()
            raise
        answer = self._assemble(name, rows, checked, scores, event_times)
        seconds = time.perf_counter() - started
        first = str(answer.versions[0])
        self.metrics.of(self.metrics.requests, name, first).inc()
        self.metrics.of(self.metrics.latency, name, first).observe(seconds)
        self._log(answer, checked, scores, seconds, answered_at, event_times)
        for route in shadows:
            self._shadow(route, rows, answer, seconds, event_times)
        return answer

    def flush_log(self) -> None:
        """Write the predictions answered so far to the prediction log now."""
        if self.sink is not None:
            self.sink.drain()
            self.sink.log.flush()

    def reference(self, name: str) -> Served:
        """A served version of ``name`` that tells its signature and flavor (may load)."""
        deployment = self.config.for_model(name)
        served = self.pool.get((name, "", deployment.alias))
        if served is not None:
            return served
        for key, served in self.pool.items():
            if key[0] == name and key[2] == deployment.alias:
                return served
        for key in list(self.pool.source.aliases()):
            if (
                key[0] == name
                and key[2] == deployment.alias
                and (served := self.pool.get(key)) is not None
            ):
                return served
        raise no_version(name, [""], deployment)

    async def areference(self, name: str) -> Served:
        alias = self.config.for_model(name).alias
        for key, served in self.pool.items():
            if key[0] == name and key[2] == alias:
                return served
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.loader, self.reference, name)

    def plan_sync(self, name: str, rows: Rows) -> tuple[list[Route], list[Route]]:
        try:
            fields = self.pool.segment_fields(name)
        except NotFound:
            self.pool.read_model_names(after_miss=True)  # the next invented names need no query
            raise
        return plan(name, rows, fields, self.config.for_model(name), self.pool.get, request_draw())

    async def _plan(self, name: str, rows: Rows):
        if self.pool.surely_unknown(name):
            from loopml.registry.service import unknown_model

            raise unknown_model(name, self.pool.model_names())
        fields = self.pool.known_fields(name)
        if fields is not None:
            try:
                deployment = self.config.for_model(name)
                return plan(name, rows, fields, deployment, self._cached, request_draw())
            except _NeedsLoad:
                pass
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.loader, self.plan_sync, name, rows)

    def _cached(self, key: AliasKey) -> Served | None:
        found = self.pool.cached(key)
        if found is MISS:
            raise _NeedsLoad
        return found  # type: ignore[return-value]

    def _check(self, name: str, route: Route, rows: Rows) -> tuple[Rows, list[list[str]]]:
        sub = rows.take(route.indices)
        strict = self.config.for_model(name).strict
        flags = route.served.checker.check(sub, strict=strict)
        for row_flags in flags:
            for flag in row_flags:
                self.metrics.of(self.metrics.flagged, name, flag).inc()
        return sub, flags

    def _assemble(self, name, rows: Rows, checked, scores: list[Scores], event_times) -> Answer:
        n = rows.length
        if len(checked) == 1 and len(checked[0][0].indices) == n:
            return self._assemble_one(name, checked[0], scores[0], event_times)
        predictions: list[Any] = [None] * n
        proba: list[float | None] = [None] * n
        versions = [0] * n
        segments = [""] * n
        roles = [""] * n
        flags: list[list[str]] = [[] for _ in range(n)]
        runtimes = [""] * n
        has_proba = False
        for (route, (_, route_flags)), score in zip(checked, scores, strict=True):
            served = route.served
            # What is the same for every row of the route, read once, not once a row.
            number, segment, runtime = served.number, served.segment, served.runtime
            self.metrics.of(self.metrics.rows, name, str(number), route.role).inc(
                len(route.indices)
            )
            has_proba = has_proba or score.proba is not None
            for position, index in enumerate(route.indices):
                predictions[index] = score.predictions[position]
                if score.proba is not None:
                    proba[index] = score.proba[position]
                versions[index] = number
                segments[index] = segment
                roles[index] = route.role
                flags[index] = route_flags[position]
                runtimes[index] = runtime
        ids = new_ids(n, event_times)
        return Answer(
            name,
            ids,
            predictions,
            proba if has_proba else None,
            versions,
            segments,
            roles,
            flags,
            runtimes,
        )

    def _assemble_one(self, name, checked, score: Scores, event_times) -> Answer:
        """All the rows answered by one version, in order (the common case)."""
        route, (_, flags) = checked
        served, n = route.served, len(route.indices)
        self.metrics.of(self.metrics.rows, name, str(served.number), route.role).inc(n)
        return Answer(
            name,
            new_ids(n, event_times),
            list(score.predictions),
            None if score.proba is None else list(score.proba),
            [served.number] * n,
            [served.segment] * n,
            [route.role] * n,
            flags,
            [served.runtime] * n,
        )

    def _log(self, answer: Answer, checked, scores, seconds: float, now, event_times) -> None:
        if self.sink is None:
            return
        for (route, (sub, flags)), score in zip(checked, scores, strict=True):
            pick = route.indices
            self.sink.put(
                Answered(
                    time=now,
                    event_times=_picked(event_times, pick),
                    model=answer.model,
                    version=route.served.number,
                    segments=[answer.segments[i] for i in pick],
                    rows=sub,
                    prediction_ids=[answer.prediction_ids[i] for i in pick],
                    predictions=score.predictions,
                    proba=score.proba,
                    flags=flags,
                    latency_ms=seconds * 1000,
                    served=route.served,
                    cpu_seconds=score.cpu_seconds,
                )
            )

    def _shadow(
        self, route: Route, rows: Rows, answer: Answer, seconds: float, event_times
    ) -> None:
        """Score the challenger off the answer's path; log it under the same prediction ids."""

        async def run() -> None:
            sub = rows.take(route.indices)
            try:
                flags = route.served.checker.check(sub)
                score = await route.served.batcher.submit(sub)
            except Exception as error:
                self.metrics.errors.labels(
                    answer.model, str(route.served.number), type(error).__name__
                ).inc()
                return
            self.metrics.rows.labels(answer.model, str(route.served.number), "shadow").inc(
                sub.length
            )
            if self.sink is not None:
                self.sink.put(
                    Answered(
                        time=datetime.now(timezone.utc),
                        event_times=_picked(event_times, route.indices),
                        model=answer.model,
                        version=route.served.number,
                        segments=[route.served.segment] * sub.length,
                        rows=sub,
                        prediction_ids=[answer.prediction_ids[i] for i in route.indices],
                        predictions=score.predictions,
                        proba=score.proba,
                        flags=flags,
                        latency_ms=seconds * 1000,
                        shadow=True,
                        cpu_seconds=score.cpu_seconds,
                    )
                )

        task = asyncio.get_running_loop().create_task(run())
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)


def _picked(values: list | None, indices: list[int]) -> list | None:
    return None if values is None else [values[i] for i in indices]
