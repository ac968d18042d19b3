"""Dataset operations on a store: log versions, find them, record and answer lineage.

The data is read and checked before anything is stored. Its Parquet goes
straight into the artifact store, hashed on the way, while the profile is
computed beside it; the summaries follow (content-addressed, so a retry
rewrites nothing), then the version row, its run input and its audit event are
written in one transaction. A failure anywhere leaves no version.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loopml import audit
from loopml.data.entities import Dataset, DatasetVersion
from loopml.errors import InvalidInput, NotFound
from loopml.store import Store, utcnow
from loopml.store.lookup import row_named
from loopml.store.tables import (
    DatasetRow,
    DatasetRulesRow,
    DatasetVersionRow,
    ExperimentRow,
    RunInputRow,
    RunRow,
)
from loopml.store.upsert import upsert

if TYPE_CHECKING:
    import pyarrow as pa

    from loopml.artifacts import ArtifactStore
    from loopml.data.rules import Rules
    from loopml.data.summary import TableSummary
    from loopml.tracking.entities import Run

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$")
_ID = re.compile(r"^[0-9a-f]{32}$")


def log_version(
    store: Store,
    artifacts: ArtifactStore,
    data: Any,
    name: str,
    *,
    run_id: str | None = None,
    actor: str,
) -> DatasetVersion:
    """Store ``data`` as a version of ``name``; the same content again is the same version."""
    from concurrent.futures import ThreadPoolExecutor

    from loopml.data.frames import as_table, write_parquet
    from loopml.data.profile import profile_table

    check_name(name)
    table = as_table(data, f"data for dataset {name!r}")
    # Profile beside the write: both spend their time in Arrow and numpy, outside the GIL.
    with ThreadPoolExecutor(1) as pool:
        profiling = pool.submit(profile_table, table)
        with artifacts.writer() as sink:
            write_parquet(table, sink)
        stored = sink.stored
        existing = _find_by_digest(store, name, stored.digest)
        if existing is not None:
            profiling.cancel()
            if run_id is not None:
                record_run_input(store, run_id, existing.id)
            return existing
        profile, summary = profiling.result()
    summary_digest = artifacts.put_bytes(_summary_bytes(summary)).digest
    fields = {
        "digest": stored.digest,
        "size": stored.size,
        "num_rows": table.num_rows,
        "num_columns": table.num_columns,
        "schema": _schema(table),
        "profile": profile,
        "summary_digest": summary_digest,
        "source": _source(data),
        "run_id": run_id,
    }
    for _attempt in range(3):
        try:
            return _insert_version(store, name, fields, actor)
        except IntegrityError:  # a concurrent first log of the same name or content
            continue
    raise InvalidInput(f"Could not log a version of dataset {name!r}.", hint="Try again.")


def _insert_version(store: Store, name: str, fields: dict[str, Any], actor: str) -> DatasetVersion:
    with store.write() as session:
        if fields["run_id"] is not None:
            _require_run(session, fields["run_id"])
        dataset = _lock_dataset(session, name, actor)
        row = session.scalar(
            select(DatasetVersionRow).where(
                DatasetVersionRow.dataset_id == dataset.id,
                DatasetVersionRow.digest == fields["digest"],
            )
        )
        if row is None:
            number = (
                session.scalar(
                    select(func.max(DatasetVersionRow.version)).where(
                        DatasetVersionRow.dataset_id == dataset.id
                    )
                )
                or 0
            ) + 1
            row = DatasetVersionRow(
                id=uuid.uuid4().hex,
                dataset_id=dataset.id,
                version=number,
                created_at=utcnow(),
                created_by=actor,
                **fields,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="dataset.log",
                entity_type="dataset",
                entity_id=name,
                after={
                    "version": number,
                    "id": row.id,
                    "digest": row.digest,
                    "rows": row.num_rows,
                    "run_id": row.run_id,
                },
            )
        if fields["run_id"] is not None:
            _add_run_input(session, fields["run_id"], row.id)
        return to_domain(row, name)


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):  # match() allows a final \n
        raise InvalidInput(
            f"{name!r} is not a dataset name.",
            hint="Use up to 200 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        )


def get_version(store: Store, name: str, version: int | None = None) -> DatasetVersion:
    """Version ``version`` of ``name``, or its newest."""
    with store.read() as session:
        dataset = _dataset_row(session, name)
        query = select(DatasetVersionRow).where(DatasetVersionRow.dataset_id == dataset.id)
        if version is None:
            row = session.scalar(query.order_by(DatasetVersionRow.version.desc()).limit(1))
        else:
            row = session.scalar(query.where(DatasetVersionRow.version == _number(version)))
        if row is None:
            raise _no_version(session, dataset, version)
        return to_domain(row, name)


def get_version_by_id(store: Store, version_id: str) -> DatasetVersion:
    with store.read() as session:
        found = session.execute(
            select(DatasetVersionRow, DatasetRow.name)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .where(DatasetVersionRow.id == version_id)
        ).first()
    if found is None:
        raise NotFound(
            f"No dataset version with id {version_id!r}.",
            hint="`loopml datasets list` shows the datasets; `loopml datasets show NAME` their versions.",
        )
    return to_domain(*found)


def resolve_version(store: Store, ref: Any) -> DatasetVersion:
    """A DatasetVersion, a version id, ``"name"`` (newest) or ``"name@version"``."""
    if isinstance(ref, DatasetVersion):
        return ref
    if not isinstance(ref, str) or not ref:
        raise InvalidInput(
            f"{ref!r} does not name a dataset version.",
            hint="Pass a DatasetVersion, its id, 'name' or 'name@version'.",
        )
    name, _, version = ref.partition("@")
    if not version and _ID.match(ref):
        try:
            return get_version_by_id(store, ref)
        except NotFound:
            pass  # a dataset may be named like an id
    if version in ("", "latest"):
        return get_version(store, name)
    return get_version(store, name, _number(version))


def list_datasets(store: Store) -> list[Dataset]:
    with store.read() as session:
        counts = (
            select(
                DatasetVersionRow.dataset_id,
                func.count().label("versions"),
                func.max(DatasetVersionRow.version).label("latest"),
            )
            .group_by(DatasetVersionRow.dataset_id)
            .subquery()
        )
        rows = session.execute(
            select(DatasetRow, counts.c.versions, counts.c.latest, DatasetRulesRow.dataset_id)
            .outerjoin(counts, counts.c.dataset_id == DatasetRow.id)
            .outerjoin(DatasetRulesRow, DatasetRulesRow.dataset_id == DatasetRow.id)
            .order_by(DatasetRow.name)
        ).all()
    return [
        Dataset(row.name, versions or 0, latest, row.created_at, rules is not None)
        for row, versions, latest, rules in rows
    ]


def list_versions(store: Store, name: str) -> list[DatasetVersion]:
    """Every version of ``name``, newest first."""
    with store.read() as session:
        dataset = _dataset_row(session, name)
        rows = session.scalars(
            select(DatasetVersionRow)
            .where(DatasetVersionRow.dataset_id == dataset.id)
            .order_by(DatasetVersionRow.version.desc())
        ).all()
    return [to_domain(row, name) for row in rows]


def load_table(artifacts: ArtifactStore, version: DatasetVersion) -> pa.Table:
    """The version's data, checked against its hash."""
    from loopml.data.frames import read_parquet

    return read_parquet(artifacts.get_bytes(version.digest))


def load_summary(artifacts: ArtifactStore, version: DatasetVersion) -> TableSummary:
    from loopml.data.summary import TableSummary

    if version.summary_digest is None:
        raise NotFound(f"Dataset version {version.ref} has no stored summaries.")
    return TableSummary.from_dict(json.loads(artifacts.get_bytes(version.summary_digest)))


# --- lineage ---------------------------------------------------------------


def record_run_input(store: Store, run_id: str, dataset_version_id: str) -> None:
    """Record that run ``run_id`` used the dataset version (once, however often it is used)."""
    with store.write() as session:
        _require_run(session, run_id)
        if session.get(DatasetVersionRow, dataset_version_id) is None:
            raise NotFound(
                f"No dataset version with id {dataset_version_id!r}.",
                hint="Pass the id of a version that loopml.log_dataset returned.",
            )
        _add_run_input(session, run_id, dataset_version_id)


def runs_of_dataset(store: Store, name: str, version: int | None = None) -> list[Run]:
    """The runs that used ``name`` (any version, or only ``version``), oldest first."""
    from loopml.tracking.service import run_to_domain

    with store.read() as session:
        dataset = _dataset_row(session, name)
        query = (
            select(RunRow, ExperimentRow.name)
            .join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
            .join(RunInputRow, RunInputRow.run_id == RunRow.id)
            .join(DatasetVersionRow, DatasetVersionRow.id == RunInputRow.dataset_version_id)
            .where(DatasetVersionRow.dataset_id == dataset.id)
            .distinct()
            .order_by(RunRow.start_time, RunRow.id)
        )
        if version is not None:
            number = _number(version)
            if not session.scalar(
                select(DatasetVersionRow.id).where(
                    DatasetVersionRow.dataset_id == dataset.id, DatasetVersionRow.version == number
                )
            ):
                raise _no_version(session, dataset, number)
            query = query.where(DatasetVersionRow.version == number)
        rows = session.execute(query).all()
    return [run_to_domain(run, experiment) for run, experiment in rows]


def datasets_of_run(store: Store, run_id: str) -> list[DatasetVersion]:
    """The dataset versions run ``run_id`` used, in the order it used them."""
    with store.read() as session:
        _require_run(session, run_id)
        rows = session.execute(
            select(DatasetVersionRow, DatasetRow.name)
            .join(RunInputRow, RunInputRow.dataset_version_id == DatasetVersionRow.id)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .where(RunInputRow.run_id == run_id)
            .order_by(RunInputRow.recorded_at, DatasetRow.name, DatasetVersionRow.version)
        ).all()
    return [to_domain(row, name) for row, name in rows]


# --- rules -----------------------------------------------------------------


def set_rules(
    store: Store,
    name: str,
    rules: Rules,
    *,
    actor: str,
    reference_version_id: str | None = None,
    reason: str | None = None,
) -> None:
    """Store ``rules`` as the validation rules of dataset ``name`` (replacing any)."""
    data = rules.to_dict()
    with store.write() as session:
        dataset = _dataset_row(session, name)
        row = session.get(DatasetRulesRow, dataset.id)
        before = row.rules if row is not None else None
        if row is None:
            row = DatasetRulesRow(dataset_id=dataset.id)
            session.add(row)
        row.rules, row.reference_version_id = data, reference_version_id
        row.updated_at, row.updated_by = utcnow(), actor
        audit.record(
            session,
            actor=actor,
            action="dataset.rules.set",
            entity_type="dataset",
            entity_id=name,
            reason=reason,
            before=before,
            after=data,
        )


def get_rules(store: Store, name: str) -> Rules:
    from loopml.data.rules import Rules

    with store.read() as session:
        dataset = _dataset_row(session, name)
        row = session.get(DatasetRulesRow, dataset.id)
    if row is None:
        raise NotFound(
            f"Dataset {name!r} has no validation rules.",
            hint=f"Infer them: loopml.set_dataset_rules({name!r}, loopml.infer_rules(loopml.get_dataset({name!r}))) "
            f"or `loopml datasets rules {name} --infer`.",
        )
    return Rules.from_dict(row.rules)


# --- helpers ---------------------------------------------------------------


def to_domain(row: DatasetVersionRow, name: str) -> DatasetVersion:
    return DatasetVersion(
        id=row.id,
        name=name,
        version=row.version,
        digest=row.digest,
        num_rows=row.num_rows,
        num_columns=row.num_columns,
        schema=row.schema,
        profile=row.profile,
        created_at=row.created_at,
        run_id=row.run_id,
        size=row.size,
        summary_digest=row.summary_digest,
        source=row.source,
        created_by=row.created_by,
    )


def _find_by_digest(store: Store, name: str, digest: str) -> DatasetVersion | None:
    with store.read() as session:
        row = session.scalar(
            select(DatasetVersionRow)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .where(DatasetRow.name == name, DatasetVersionRow.digest == digest)
        )
    return None if row is None else to_domain(row, name)


def _lock_dataset(session: Session, name: str, actor: str) -> DatasetRow:
    row = session.scalar(select(DatasetRow).where(DatasetRow.name == name).with_for_update())
    if row is None:
        row = DatasetRow(name=name, created_at=utcnow(), created_by=actor)
        session.add(row)
        session.flush()
        audit.record(
            session, actor=actor, action="dataset.create", entity_type="dataset", entity_id=name
        )
    return row


def _dataset_row(session: Session, name: str) -> DatasetRow:
    return row_named(
        session,
        DatasetRow,
        name,
        noun="dataset",
        otherwise="Log one with loopml.log_dataset(data, 'name').",
    )


def _no_version(session: Session, dataset: DatasetRow, version: int | None) -> NotFound:
    numbers = session.scalars(
        select(DatasetVersionRow.version)
        .where(DatasetVersionRow.dataset_id == dataset.id)
        .order_by(DatasetVersionRow.version)
    ).all()
    if version is None or not numbers:
        return NotFound(
            f"Dataset {dataset.name!r} has no versions.", hint="Log one with loopml.log_dataset."
        )
    return NotFound(
        f"Dataset {dataset.name!r} has no version {version}.",
        hint=f"Versions: {', '.join(map(str, numbers[-20:]))}.",
    )


def _number(version: Any) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or (isinstance(version, float) and not version.is_integer()):
        raise InvalidInput(
            f"{version!r} is not a dataset version number.", hint="Versions are 1, 2, 3 …"
        )
    return number


def _require_run(session: Session, run_id: str) -> None:
    if not isinstance(run_id, str) or session.get(RunRow, run_id) is None:
        raise NotFound(f"No run with id {run_id!r}.", hint="`loopml runs list` shows the runs.")


def _add_run_input(session: Session, run_id: str, dataset_version_id: str) -> None:
    upsert(
        session.connection(),
        RunInputRow.__table__,
        [{"run_id": run_id, "dataset_version_id": dataset_version_id, "recorded_at": utcnow()}],
        keys=["run_id", "dataset_version_id"],
    )


def _schema(table: pa.Table) -> list[dict[str, str]]:
    from loopml.data.frames import schema_of

    return schema_of(table)


def _source(data: Any) -> str:
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return "arrow"
    if isinstance(data, str) or hasattr(data, "__fspath__"):
        return str(data)[-1000:]
    return type(data).__name__


def _summary_bytes(summary: TableSummary) -> bytes:
    return json.dumps(summary.to_dict(), separators=(",", ":")).encode()


def infer_and_store_rules(
    store: Store,
    artifacts: ArtifactStore,
    ref: Any,
    *,
    target: str | None = None,
    tolerance: float | None = None,
    actor: str,
) -> Rules:
    """Infer rules from a version and store them as its dataset's rules."""
    from loopml.data.rules import TOLERANCE, infer_rules

    version = resolve_version(store, ref)
    rules = infer_rules(
        load_table(artifacts, version),
        target,
        tolerance=TOLERANCE if tolerance is None else tolerance,
    )
    set_rules(
        store,
        version.name,
        rules,
        actor=actor,
        reference_version_id=version.id,
        reason=f"inferred from {version.ref}",
    )
    return rules
