"""The scheduler inside ``loopml serve``: due monitors, then policies, on one replica.

Every ``interval`` seconds one elected replica runs a tick. Election is a lock
the store already offers: a PostgreSQL advisory lock held on a connection of
its own (released if the replica dies), or an exclusive file lock beside an
embedded SQLite store. Replicas that lose simply try again next tick.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from pathlib import Path

from sqlalchemy import text

from loopml._context import Context
from loopml.automation.loop import run_policies
from loopml.errors import LoopmlError
from loopml.monitoring.runner import run_monitors
from loopml.pipeline.project import load_project
from loopml.registry import approvals

log = logging.getLogger("loopml.scheduler")
_LOCK_KEY = 7426617


class Leadership:
    """Held by at most one scheduler per store at a time."""

    def __init__(self, store) -> None:
        self.store = store
        self._held = None

    def acquire(self) -> bool:
        if self._held is not None:
            return True
        if self.store.dialect == "postgresql":
            connection = self.store.engine.connect()
            won = connection.execute(text(f"SELECT pg_try_advisory_lock({_LOCK_KEY})")).scalar()
            connection.commit()
            if won:
                self._held = connection
            else:
                connection.close()
            return bool(won)
        handle = open(Path(f"{self.store.engine.url.database}.scheduler.lock"), "w")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._held = handle
        return True

    def release(self) -> None:
        if self._held is not None:
            with contextlib.suppress(Exception):
                self._held.close()  # closing the connection or file releases the lock
            self._held = None


class Scheduler:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.interval = context.settings.scheduler_interval
        self.leadership = Leadership(context.store)
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="loopml-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        self.leadership.release()

    def tick(self) -> None:
        """Expire stale approval requests, run due monitors, then every policy of the
        project file, once."""
        context, settings = self.context, self.context.settings
        approvals.expire_stale(context.store, actor="scheduler", max_age=settings.approval_max_age)
        run_monitors(
            context.store,
            context.artifacts,
            settings.resolved_artifact_uri,
            actor="scheduler",
            webhook=settings.alert_webhook,
        )
        if settings.project_file.is_file():
            policies = load_project(settings.project_file).policies
            if policies:
                run_policies(
                    context.store,
                    context.artifacts,
                    settings.resolved_artifact_uri,
                    policies,
                    actor="scheduler",
                    project=settings.project,
                )
        self.ticks += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.leadership.acquire():
                    self.tick()
            except (
                LoopmlError
            ) as error:  # a bad project file, a store that is down: say it once a tick
                log.error("scheduler tick failed: %s %s", error.message, error.hint or "")
            except Exception:  # a failed tick must not stop the next one
                log.exception("scheduler tick failed; trying again in %.0f s", self.interval)
