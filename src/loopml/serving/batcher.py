"""Adaptive micro-batching: concurrent requests to one model share one model call.

A small model spends most of a single-row call on fixed overhead (input checks,
a DataFrame, dispatch), so scoring 50 rows costs little more than one. Each
request puts its rows in a queue and waits; a drain task takes everything
queued (at most ``max_rows``), calls the model once and hands each request its
slice. While that call runs, new requests queue up and form the next batch, so
batches grow with load by themselves. Small batches are scored on the event
loop itself (a thread hop would cost more than a small model's call, and the
GIL lets no second call run meanwhile); large ones in a worker thread, so the
server keeps reading requests while they run.

Alone, a request goes straight to the model: no waiting. With ``max_wait`` set,
and only when the last batch held more than one request (the server is busy),
the drain task waits up to that long for more rows before calling the model.

If a joined call fails, each request is scored on its own, so one request's bad
rows never fail the others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

from loopml.serving.rows import Rows

Result = TypeVar("Result")


class MicroBatcher(Generic[Result]):
    """Join the rows of concurrent ``submit`` calls into calls of ``score``.

    ``score(rows)`` returns one result for the joined rows and ``split(result,
    start, stop)`` cuts the part of one request out of it.
    """

    def __init__(
        self,
        score: Callable[[Rows], Result],
        split: Callable[[Result, int, int], Result],
        *,
        executor: Executor | None = None,
        max_rows: int = 1024,
        max_wait: float = 0.0,
        observe: Callable[[int], None] | None = None,
        inline_rows: int = 256,
    ) -> None:
        self.score = score
        self.split = split
        self.executor = executor
        self.max_rows = max_rows
        self.max_wait = max_wait
        self.observe = observe
        self.inline_rows = inline_rows
        self._queue: deque[tuple[Rows, asyncio.Future]] = deque()
        self._queued_rows = 0
        self._draining = False
        self._busy = False
        self._task: asyncio.Task | None = None
        self.calls = 0
        self.rows = 0

    async def submit(self, rows: Rows) -> Result:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((rows, future))
        self._queued_rows += rows.length
        if not self._draining:
            self._draining = True
            self._task = loop.create_task(self._drain())  # held: a task may be collected
        return await future

    @property
    def idle(self) -> bool:
        return not self._draining

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                if self._busy and self.max_wait > 0 and self._queued_rows < self.max_rows:
                    await asyncio.sleep(self.max_wait)
                batch = self._take()
                self._busy = len(batch) > 1
                await self._run(loop, batch)
        finally:
            self._draining = False

    def _take(self) -> list[tuple[Rows, asyncio.Future]]:
        batch = [self._queue.popleft()]
        total = batch[0][0].length
        while self._queue and total + self._queue[0][0].length <= self.max_rows:
            item = self._queue.popleft()
            batch.append(item)
            total += item[0].length
        self._queued_rows -= total
        return batch

    async def _run(self, loop: asyncio.AbstractEventLoop, batch) -> None:
        live = [(rows, future) for rows, future in batch if not future.done()]
        if not live:
            return
        joined = Rows.concat([rows for rows, _ in live])
        try:
            if joined.length <= self.inline_rows:
                result = self.score(joined)
            else:
                result = await loop.run_in_executor(self.executor, self.score, joined)
        except Exception as error:
            if len(live) == 1:
                _settle(live[0][1], error=error)
                return
            for rows, future in live:  # find the request that broke the joined call
                await self._run(loop, [(rows, future)])
            return
        self.calls += 1
        self.rows += joined.length
        if self.observe is not None:
            self.observe(joined.length)
        start = 0
        for rows, future in live:
            stop = start + rows.length
            _settle(future, result=result if len(live) == 1 else self.split(result, start, stop))
            start = stop


def _settle(future: asyncio.Future, *, result=None, error: BaseException | None = None) -> None:
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
