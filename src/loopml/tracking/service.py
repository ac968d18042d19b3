"""Tracking operations on a store: the functions every adapter calls.

The fluent API, the CLI and the server all go through these; none holds
tracking logic of its own.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import os
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loopml import audit
from loopml.artifacts.paths import check_relative_path
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.store import Store, utcnow
from loopml.store.tables import (
    ArtifactRow,
    ExperimentRow,
    LatestMetricRow,
    MetricRow,
    ParamRow,
    ProjectRow,
    RunRow,
    TagRow,
)
from loopml.store.upsert import upsert
from loopml.tracking.entities import ArtifactInfo, Experiment, MetricPoint, Run, RunStatus
from loopml.tracking.environment import Environment
from loopml.tracking.resources import ResourceUsage
from loopml.tracking.values import check_key, check_text, text_value

Point = tuple[str, float, int, float]  # key, value, step, timestamp
_RUN_KEY_AND_STEP = operator.itemgetter(0, 1, 3)
_ROWS_PER_INSERT = 100  # 500 bound values: within the oldest SQLite limit of 999

# Experiment ids never change once created; remembering them per store saves a
# round trip on every start_run.
_experiment_ids: weakref.WeakKeyDictionary[Store, dict[tuple[str, str], int]] = (
    weakref.WeakKeyDictionary()
)


_MIN_PREFIX = 6  # shorter prefixes of run ids would match by chance


def get_or_create_experiment(store: Store, project: str, name: str, *, actor: str) -> int:
    """The id of experiment ``name`` in ``project``, creating both on first use."""
    check_key(name, "Experiment")
    known = _experiment_ids.setdefault(store, {})
    if (project, name) in known:
        return known[project, name]
    for _attempt in range(3):
        try:
            with store.write() as session:
                experiment_id = _find_or_add_experiment(session, project, name, actor)
            break
        except IntegrityError:  # another process created it between our read and write
            continue
    known[project, name] = experiment_id
    return experiment_id


def _find_or_add_experiment(session: Session, project: str, name: str, actor: str) -> int:
    project_id = session.scalar(select(ProjectRow.id).where(ProjectRow.name == project))
    if project_id is None:
        row = ProjectRow(name=project, created_at=utcnow())
        session.add(row)
        session.flush()
        project_id = row.id
    experiment_id = session.scalar(
        select(ExperimentRow.id).where(
            ExperimentRow.project_id == project_id, ExperimentRow.name == name
        )
    )
    if experiment_id is None:
        row = ExperimentRow(project_id=project_id, name=name, created_at=utcnow())
        session.add(row)
        session.flush()
        experiment_id = row.id
        audit.record(
            session,
            actor=actor,
            action="experiment.created",
            entity_type="experiment",
            entity_id=f"{project}/{name}",
        )
    return experiment_id


def create_run(
    store: Store,
    *,
    project: str,
    experiment: str,
    name: str | None,
    tags: Mapping[str, Any] | None,
    parent_run_id: str | None,
    environment: Environment,
    actor: str,
    run_id: str | None = None,
    start_time: datetime | None = None,
    heartbeat: bool = False,
) -> str:
    """A new running run. ``run_id`` and ``start_time`` are given only by importers,
    which keep the ids and times of the store they copy. ``heartbeat``: the calling
    process will beat for the run (tracking/liveness.py), so the run may be marked
    killed once the beats stop; runs without one never are."""
    experiment_id = get_or_create_experiment(store, project, experiment, actor=actor)
    run_id = run_id or uuid.uuid4().hex
    now = utcnow()
    # Core, not the ORM: starting runs in a loop is a hot path.
    with store.write_connection() as connection:
        connection.execute(
            insert(RunRow.__table__),
            {
                "id": run_id,
                "experiment_id": experiment_id,
                "name": name or f"run-{run_id[:8]}",
                "status": RunStatus.RUNNING.value,
                "start_time": start_time or now,
                "heartbeat_at": now if heartbeat else None,
                "parent_run_id": parent_run_id,
                "user": actor,
                "git_commit": environment.git_commit,
                "git_dirty": environment.git_dirty,
                "host": environment.host,
                "pid": os.getpid(),
                "environment": environment.as_json(),
            },
        )
        _upsert_tags(connection, run_id, tags or {})
    return run_id


def create_runs(
    store: Store,
    *,
    project: str,
    experiment: str,
    runs: Sequence[tuple[str, Mapping[str, Any]]],
    parent_run_id: str | None,
    environment: Environment,
    actor: str,
) -> list[str]:
    """Start many runs (name, tags) under one parent in one transaction: a pipeline's
    segments arrive by the hundred, and a transaction each would cost more than the work."""
    experiment_id = get_or_create_experiment(store, project, experiment, actor=actor)
    now, pid, env = utcnow(), os.getpid(), environment.as_json()
    rows, tag_rows = [], []
    for name, tags in runs:
        run_id = uuid.uuid4().hex
        rows.append(
            {
                "id": run_id,
                "experiment_id": experiment_id,
                "name": name,
                "status": RunStatus.RUNNING.value,
                "start_time": now,
                "parent_run_id": parent_run_id,
                "user": actor,
                "git_commit": environment.git_commit,
                "git_dirty": environment.git_dirty,
                "host": environment.host,
                "pid": pid,
                "environment": env,
            }
        )
        tag_rows += [
            {"run_id": run_id, "key": check_key(k, "Tag"), "value": check_text(k, text_value(v))}
            for k, v in tags.items()
        ]
    if rows:
        with store.write_connection() as connection:
            connection.execute(insert(RunRow.__table__), rows)
            if tag_rows:
                connection.execute(insert(TagRow.__table__), tag_rows)
    return [row["id"] for row in rows]


def end_runs(
    store: Store,
    outcomes: Sequence[tuple[str, RunStatus, ResourceUsage, str | None, Sequence[Point]]],
) -> None:
    """``end_run`` for many runs in one transaction: (run id, status, usage, error, points)."""
    if not outcomes:
        return
    now = utcnow()
    with store.write_connection() as connection:
        # every run's points in the same few statements, not two statements a run
        _insert_points(
            connection,
            [(run_id, *p) for run_id, *_rest, run_points in outcomes for p in run_points],
        )
        connection.execute(
            _END_RUN,
            [
                {
                    "run_id": run_id,
                    "status": status.value,
                    "end_time": now,
                    "wall_seconds": usage.wall_seconds,
                    "cpu_seconds": usage.cpu_seconds,
                    "peak_rss_bytes": usage.peak_rss_bytes,
                    "error": error,
                }
                for run_id, status, usage, error, _points in outcomes
            ],
        )


def log_params(store: Store, run_id: str, params: Mapping[str, Any]) -> None:
    """Record parameters; the same value again is fine, a different one is refused."""
    log_batch(store, run_id, params=params)


def log_batch(
    store: Store,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    points: Sequence[Point] = (),
) -> None:
    """Params, tags and metric points of one run in one transaction (all or nothing)."""
    with store.write_connection() as connection:
        _require_run(connection, run_id)
        if params:
            _insert_params(connection, run_id, params)
        if tags:
            _upsert_tags(connection, run_id, tags)
        _insert_metrics(connection, run_id, points)


def _insert_params(connection: Connection, run_id: str, params: Mapping[str, Any]) -> None:
    values = {
        check_key(key, "Parameter"): check_text(key, text_value(value))
        for key, value in params.items()
    }
    params_table = ParamRow.__table__
    existing = dict(
        connection.execute(
            select(params_table.c.key, params_table.c.value).where(
                params_table.c.run_id == run_id, params_table.c.key.in_(list(values))
            )
        ).all()
    )
    changed = {k: (existing[k], v) for k, v in values.items() if k in existing and existing[k] != v}
    if changed:
        key, (old, new) = next(iter(changed.items()))
        raise Conflict(
            f"Parameter {key!r} of run {run_id} is already {old!r}; it cannot become {new!r}.",
            hint="Parameters are fixed once logged: start a new run for other values, "
            "or record changing values as metrics or tags.",
        )
    new_rows = [
        {"run_id": run_id, "key": k, "value": v} for k, v in values.items() if k not in existing
    ]
    if new_rows:
        connection.execute(insert(params_table), new_rows)


def set_tags(store: Store, run_id: str, tags: Mapping[str, Any]) -> None:
    with store.write_connection() as connection:
        _require_run(connection, run_id)
        _upsert_tags(connection, run_id, tags)


def _upsert_tags(connection: Connection, run_id: str, tags: Mapping[str, Any]) -> None:
    rows = [
        {
            "run_id": run_id,
            "key": check_key(key, "Tag"),
            "value": check_text(key, text_value(value)),
        }
        for key, value in tags.items()
    ]
    upsert(connection, TagRow.__table__, rows, keys=["run_id", "key"], update=["value"])


def write_metrics(store: Store, run_id: str, points: Sequence[Point]) -> None:
    """Append ``(key, value, step, timestamp)`` points and move each key's latest value."""
    if not points:
        return
    with store.write_connection() as connection:
        _insert_metrics(connection, run_id, points)


def _insert_metrics(connection: Connection, run_id: str, points: Sequence[Point]) -> None:
    _insert_points(connection, [(run_id, *point) for point in points])


def _insert_points(connection: Connection, points: Sequence[tuple]) -> None:
    """The history insert and an upsert of the latest values that keeps the point with
    the highest step (then the latest timestamp), each many rows per statement, for the
    points (run id, key, value, step, timestamp) of one run or many. NaN is stored as
    NULL, which SQLite would do anyway, so both databases agree."""
    if not points:
        return
    rows = [
        (run_id, key, value if value == value else None, step, timestamp)
        for run_id, key, value, step, timestamp in points
    ]
    latest: dict[tuple, tuple] = {}
    # Of equal steps the later timestamp wins, then the later logged (MLflow's rule).
    for row in rows:
        current = latest.get(row[:2])
        if current is None or row[3:] >= current[3:]:
            latest[row[:2]] = row
    if len(latest) > 1:
        # Sorted by run, key and step the rows land in few places of the (run, key, step)
        # index, where a batch of many keys in logging order touches a page per key.
        # The sort is stable: points of one step keep their logging order.
        rows.sort(key=_RUN_KEY_AND_STEP)
    _insert_many(connection, _INSERT_METRICS, rows)
    _insert_many(connection, _UPSERT_LATEST, list(latest.values()), suffix=_LATEST_WINS)


_INSERT_METRICS = "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES"
_UPSERT_LATEST = "INSERT INTO latest_metrics (run_id, key, value, step, timestamp) VALUES"
_LATEST_WINS = (
    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, "
    "step = excluded.step, timestamp = excluded.timestamp "
    "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
    "AND excluded.timestamp >= latest_metrics.timestamp)"
)


def _insert_many(
    connection: Connection, insert_sql: str, rows: list[tuple], suffix: str = ""
) -> None:
    """``insert_sql`` (ending in VALUES) for rows of five values, many rows per statement:
    that costs the database far less per row than one statement each. Of an upsert the
    rows must not repeat a key (PostgreSQL refuses to update one row twice in a statement)."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    values = f"({', '.join([marker] * 5)})"
    whole = len(rows) - len(rows) % _ROWS_PER_INSERT
    if whole:
        connection.exec_driver_sql(
            f"{insert_sql} {', '.join([values] * _ROWS_PER_INSERT)} {suffix}",
            [
                tuple(chain.from_iterable(rows[start : start + _ROWS_PER_INSERT]))
                for start in range(0, whole, _ROWS_PER_INSERT)
            ],
        )
    if whole < len(rows):
        connection.exec_driver_sql(f"{insert_sql} {values} {suffix}", rows[whole:])


def record_artifact(store: Store, run_id: str, path: str, digest: str, size: int) -> None:
    check_relative_path(path, "The artifact path")
    with store.write() as session:
        _require_run(session, run_id)
        session.merge(
            ArtifactRow(run_id=run_id, path=path, digest=digest, size=size, created_at=utcnow())
        )


def end_run(
    store: Store,
    run_id: str,
    status: RunStatus,
    usage: ResourceUsage,
    error: str | None = None,
    metrics: Sequence[Point] = (),
    end_time: datetime | None = None,
) -> None:
    """Record the outcome, with the run's last metric points in the same transaction:
    a run is finished exactly when everything it logged is stored."""
    with store.write_connection() as connection:
        _insert_metrics(connection, run_id, metrics)
        connection.execute(
            _END_RUN,
            {
                "run_id": run_id,
                "status": status.value,
                "end_time": end_time or utcnow(),
                "wall_seconds": usage.wall_seconds,
                "cpu_seconds": usage.cpu_seconds,
                "peak_rss_bytes": usage.peak_rss_bytes,
                "error": error,
            },
        )


_runs = RunRow.__table__
_END_RUN = (
    update(_runs)
    .where(_runs.c.id == bindparam("run_id"))
    .values(
        status=bindparam("status"),
        end_time=bindparam("end_time"),
        wall_seconds=bindparam("wall_seconds"),
        cpu_seconds=bindparam("cpu_seconds"),
        peak_rss_bytes=bindparam("peak_rss_bytes"),
        error=bindparam("error"),
    )
)


def resolve_run_id(store: Store, run_id: str) -> str:
    """The full id of a run from its id or a unique prefix of it (as lists print them)."""
    run_id = run_id.strip().lower()
    if len(run_id) == 32 or len(run_id) < _MIN_PREFIX:
        return run_id
    with store.read() as session:
        found = session.scalars(
            select(RunRow.id).where(RunRow.id.startswith(run_id, autoescape=True)).limit(5)
        ).all()
    if len(found) > 1:
        raise InvalidInput(
            f"The run id prefix {run_id!r} is ambiguous: {', '.join(found)}.",
            hint="Give more characters of the id.",
        )
    return found[0] if found else run_id


def get_run(store: Store, run_id: str) -> Run:
    """A run by its id, or a unique prefix of at least six characters of it."""
    run_id = resolve_run_id(store, run_id)
    with store.read() as session:
        found = _runs_with_details(session, [run_id])
        if not found:
            raise _run_not_found(run_id)
        artifacts = tuple(
            ArtifactInfo(a.path, a.digest, a.size)
            for a in session.scalars(
                select(ArtifactRow).where(ArtifactRow.run_id == run_id).order_by(ArtifactRow.path)
            )
        )
    return dataclasses.replace(found[0], artifacts=artifacts)


def get_runs(store: Store, run_ids: Sequence[str]) -> list[Run]:
    """The runs with these ids (unknown ids left out) in the order given, with their
    params, latest metrics and tags; artifacts are left out (``get_run`` has them)."""
    with store.read() as session:
        found = {}
        for start in range(0, len(run_ids), 500):  # within every database's bound-value limit
            found.update(
                (r.id, r) for r in _runs_with_details(session, run_ids[start : start + 500])
            )
    return [found[run_id] for run_id in run_ids if run_id in found]


def _runs_with_details(session: Session, run_ids: Sequence[str]) -> list[Run]:
    # Core rows, not ORM objects: a page of thousands of runs is mostly object set-up otherwise.
    connection = session.connection()
    rows = connection.execute(
        select(*_runs.c, ExperimentRow.name.label("experiment_name"))
        .join(ExperimentRow, ExperimentRow.id == _runs.c.experiment_id)
        .where(_runs.c.id.in_(run_ids))
    ).all()
    found: dict[str, dict[str, dict]] = {"params": {}, "tags": {}, "latest_metrics": {}}
    for kind, table in (("params", ParamRow), ("tags", TagRow)):
        query = select(table.run_id, table.key, table.value).where(table.run_id.in_(run_ids))
        for run_id, key, value in connection.execute(query):
            found[kind].setdefault(run_id, {})[key] = value
    latest = LatestMetricRow.__table__.c
    query = select(latest.run_id, latest.key, latest.value, latest.step, latest.timestamp)
    for run_id, key, value, step, timestamp in connection.execute(
        query.where(latest.run_id.in_(run_ids))
    ):
        point = MetricPoint(key, nan_if_null(value), step, timestamp)
        found["latest_metrics"].setdefault(run_id, {})[key] = point
    return [
        run_to_domain(row, row.experiment_name, **{k: v.get(row.id, {}) for k, v in found.items()})
        for row in rows
    ]


def run_to_domain(row: Any, experiment: str, **details: Any) -> Run:
    """A run from its row (an ORM ``RunRow`` or a Core row of the runs table)."""
    return Run(
        id=row.id,
        experiment=experiment,
        name=row.name,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        parent_run_id=row.parent_run_id,
        user=row.user,
        git_commit=row.git_commit,
        git_dirty=row.git_dirty,
        host=row.host,
        pid=row.pid,
        environment=row.environment,
        wall_seconds=row.wall_seconds,
        cpu_seconds=row.cpu_seconds,
        peak_rss_bytes=row.peak_rss_bytes,
        error=row.error,
        **details,
    )


def runs_by_tag(
    store: Store, key: str, values: Iterable[str], *, status: RunStatus = RunStatus.FINISHED
) -> dict[str, str]:
    """For each value of tag ``key``, the newest run with that status that carries it:
    how a pipeline finds the steps it has already computed."""
    values = list(dict.fromkeys(values))
    found: dict[str, str] = {}
    with store.read() as session:
        for start in range(0, len(values), 500):  # within every database's bound-value limit
            rows = session.execute(
                select(TagRow.value, RunRow.id)
                .join(RunRow, RunRow.id == TagRow.run_id)
                .where(
                    TagRow.key == key,
                    TagRow.value.in_(values[start : start + 500]),
                    RunRow.status == status.value,
                )
                .order_by(RunRow.start_time)
            )
            found.update(dict(rows.all()))
    return found


def find_tag(store: Store, key: str) -> tuple[str, str] | None:
    """The (run id, value) of the run carrying tag ``key``, for keys that name one thing."""
    with store.read() as session:
        row = session.execute(
            select(TagRow.run_id, TagRow.value).where(TagRow.key == key).limit(1)
        ).first()
    return tuple(row) if row else None


def get_metric_history(store: Store, run_id: str, key: str) -> list[MetricPoint]:
    """Every point logged for ``key``, in step order (ties in logging order)."""
    with store.read() as session:
        _require_run(session, run_id)
        rows = session.execute(
            select(MetricRow.key, MetricRow.value, MetricRow.step, MetricRow.timestamp)
            .where(MetricRow.run_id == run_id, MetricRow.key == key)
            .order_by(MetricRow.step, MetricRow.id)
        ).all()
    return [MetricPoint(key, nan_if_null(value), step, ts) for key, value, step, ts in rows]


def nan_if_null(value: float | None) -> float:
    return math.nan if value is None else value


def artifact_digest(store: Store, run_id: str, path: str) -> ArtifactInfo:
    with store.read() as session:
        row = session.get(ArtifactRow, (run_id, path))
        if row is None:
            _require_run(session, run_id)
            known = session.scalars(
                select(ArtifactRow.path).where(ArtifactRow.run_id == run_id)
            ).all()
            raise NotFound(
                f"Run {run_id} has no artifact {path!r}.",
                hint=f"Its artifacts: {', '.join(known) or 'none'}.",
            )
        return ArtifactInfo(row.path, row.digest, row.size)


def list_experiments(store: Store, project: str) -> list[Experiment]:
    counts = (
        select(
            RunRow.experiment_id,
            func.count().label("runs"),
            func.max(RunRow.start_time).label("last"),
        )
        .group_by(RunRow.experiment_id)
        .subquery()
    )
    query = (
        select(ExperimentRow, counts.c.runs, counts.c.last)
        .join(ProjectRow, ProjectRow.id == ExperimentRow.project_id)
        .outerjoin(counts, counts.c.experiment_id == ExperimentRow.id)
        .where(ProjectRow.name == project)
        .order_by(ExperimentRow.name)
    )
    with store.read() as session:
        return [
            Experiment(row.id, row.name, project, row.created_at, runs or 0, last)
            for row, runs, last in session.execute(query)
        ]


def experiment_names(store: Store, project: str) -> dict[str, int]:
    """Name -> id of the project's experiments: one indexed query, no run counts."""
    query = (
        select(ExperimentRow.id, ExperimentRow.name)
        .join(ProjectRow)
        .where(ProjectRow.name == project)
    )
    with store.read() as session:
        return {name: id_ for id_, name in session.execute(query)}


def experiment_ids(store: Store, project: str, names: Iterable[str] | None) -> list[int]:
    """Ids of the named experiments (all of the project's when ``names`` is None)."""
    found = experiment_names(store, project)
    if names is None:
        return list(found.values())
    missing = [name for name in names if name not in found]
    if missing:
        raise NotFound(
            f"No experiment named {missing[0]!r} in project {project!r}.",
            hint=f"Experiments: {', '.join(sorted(found)) or 'none yet'}.",
        )
    return [found[name] for name in names]


_RUN_EXISTS = select(_runs.c.id).where(_runs.c.id == bindparam("run_id"))


def _require_run(connection: Session | Connection, run_id: str) -> None:
    # A plain primary-key lookup: loading the whole row would cost more than the write.
    if connection.scalar(_RUN_EXISTS, {"run_id": run_id}) is None:
        raise _run_not_found(run_id)


def _run_not_found(run_id: str) -> NotFound:
    if not isinstance(run_id, str) or len(run_id) > 32 or len(run_id) < _MIN_PREFIX:
        return NotFound(
            f"{run_id!r} is not a run id.",
            hint=f"Give a run's id or at least {_MIN_PREFIX} of its first characters; "
            "`loopml runs list` shows them.",
        )
    return NotFound(f"No run with id {run_id}.", hint="`loopml runs list` shows the runs.")
