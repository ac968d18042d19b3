"""Runs whose process died: a heartbeat while the process lives, ``killed`` once it stops.

A SIGKILLed or crashed process cannot end its run, which would otherwise say
``running`` forever. The process that owns a run writes its heartbeat every
``run_heartbeat_interval`` seconds (from the metric thread, so a busy training
loop keeps beating); a run silent for ``run_heartbeat_timeout`` seconds is
marked ``killed`` by the next process that starts a run or reads runs. Its end
time is its last heartbeat, the last moment it is known to have lived. Only
runs started with ``start_run`` beat; runs that pipelines and policies create
and end themselves have no heartbeat and are never marked.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, select, update

from loopml import audit
from loopml.store import Store, utcnow
from loopml.store.tables import RunRow
from loopml.tracking.entities import RunStatus

_runs = RunRow.__table__
_RUNNING = RunStatus.RUNNING.value


def beat(store: Store, run_id: str) -> None:
    with store.write_connection() as connection:
        connection.execute(
            update(_runs)
            .where(and_(_runs.c.id == run_id, _runs.c.status == _RUNNING))
            .values(heartbeat_at=utcnow())
        )


def reap_dead_runs(store: Store, timeout: float, run_id: str | None = None) -> list[str]:
    """Mark ``killed`` the running runs (or only ``run_id``) silent for ``timeout`` seconds."""
    last_seen = _runs.c.heartbeat_at  # NULL for runs that never beat: never marked
    silent = and_(_runs.c.status == _RUNNING, last_seen < utcnow() - timedelta(seconds=timeout))
    if run_id is not None:
        silent = and_(silent, _runs.c.id == run_id)
    with store.read() as session:  # most calls find none: no write lock for them
        if session.execute(select(_runs.c.id).where(silent).limit(1)).first() is None:
            return []
    reason = (
        f"No heartbeat for {timeout:g} s: the run's process died (killed, crashed, or its "
        "machine stopped) before it could end the run."
    )
    with store.write() as session:
        dead = list(session.scalars(select(_runs.c.id).where(silent)))
        if dead:
            session.execute(
                update(_runs)
                .where(_runs.c.id.in_(dead))
                .values(status=RunStatus.KILLED.value, end_time=last_seen, error=reason)
            )
        for dead_id in dead:
            audit.record(
                session,
                actor="loopml",
                action="run.killed",
                entity_type="run",
                entity_id=dead_id,
                reason=reason,
            )
    return dead
