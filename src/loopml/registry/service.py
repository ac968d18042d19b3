"""Registry operations on a store: register versions, move aliases, answer lineage.

Every change happens in one transaction with its audit event. Alias moves lock
the model row (``SELECT … FOR UPDATE`` on PostgreSQL, the write lock on SQLite)
so two processes promoting at once leave one consistent winner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loopml import audit
from loopml.artifacts.paths import check_name
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.models.signature import Signature
from loopml.registry.entities import AliasMove, Model, ModelVersion, runtime_of
from loopml.registry.gates import parse_gate
from loopml.registry.segments import canonical_segment
from loopml.store import Store, utcnow
from loopml.store.lookup import known_names, unknown_name
from loopml.store.tables import (
    AliasMoveRow,
    AliasRow,
    ModelRow,
    ModelVersionDatasetRow,
    ModelVersionRow,
)


@dataclass(frozen=True)
class NewVersion:
    """What ``register_many`` needs to know of one version (``register``'s keywords).

    ``reference_digest`` names the stored drift reference of the rows it was trained on;
    ``reports`` (kind -> (payload, audit summary)) are kept with it in the same
    transaction: an explanation computed at registration costs no second commit."""

    flavor: str
    artifact_digest: str
    artifact_size: int
    signature: Signature | None = None
    segment: Mapping[str, Any] | None = None
    run_id: str | None = None
    metrics: Mapping[str, float] | None = None
    dataset_version_ids: Iterable[str] = ()
    rules: Mapping[str, Any] | None = None
    validation: Mapping[str, Any] | None = None
    description: str | None = None
    reference_digest: str | None = None
    reports: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]] | None = None


def register(store: Store, *, name: str, actor: str, **version: Any) -> ModelVersion:
    """A new version of model ``name`` (created on first use), numbered across the family.
    ``version`` holds the fields of ``NewVersion`` (flavor, artifact_digest, segment …)."""
    return register_many(store, name, [NewVersion(**version)], actor=actor)[0]


def register_many(
    store: Store, name: str, versions: Sequence[NewVersion], *, actor: str
) -> list[ModelVersion]:
    """New versions of model ``name``, numbered in order, in one transaction: a pipeline's
    segments arrive by the hundred, and a transaction each would cost more than the work."""
    check_model_name(name)
    if not versions:
        return []
    for _attempt in range(3):
        try:
            with store.write() as session:
                model = _lock_model(session, name, create=True, actor=actor)
                return _insert_versions(session, model, name, versions, actor)
        except IntegrityError:  # a concurrent first registration of the same model
            continue
    raise InvalidInput(f"Could not register a version of {name!r}.", hint="Try again.")


def _insert_versions(
    session: Session, model: ModelRow, name: str, versions: Sequence[NewVersion], actor: str
) -> list[ModelVersion]:
    from loopml.registry.reports import add_report  # reports build on versions

    latest = session.scalar(
        select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model.id)
    )
    now, rows = utcnow(), []
    for number, new in enumerate(versions, start=(latest or 0) + 1):
        segment = {k: new.segment[k] for k in sorted(new.segment)} if new.segment else None
        rows.append(
            {
                "model_id": model.id,
                "version": number,
                "segment_key": canonical_segment(segment),
                "segment": segment,
                "run_id": new.run_id,
                "flavor": new.flavor,
                "artifact_digest": new.artifact_digest,
                "artifact_size": new.artifact_size,
                "signature": new.signature.to_dict() if new.signature else None,
                "metrics": _json_metrics(new.metrics),
                "rules": dict(new.rules) if new.rules else None,
                "validation": dict(new.validation) if new.validation else None,
                "description": new.description,
                "reference_digest": new.reference_digest,
                "created_at": now,
                "created_by": actor,
            }
        )
    # one statement for the chunk, not an object each: the ids come back in order
    ids = session.scalars(
        insert(ModelVersionRow.__table__).returning(
            ModelVersionRow.__table__.c.id, sort_by_parameter_order=True
        ),
        rows,
    ).all()
    signatures = _Signatures()
    out, links, events = [], [], []
    for row_id, values, new in zip(ids, rows, versions, strict=True):
        row = _NewRow(id=row_id, **values)
        datasets = tuple(dict.fromkeys(new.dataset_version_ids))
        links += [{"model_version_id": row.id, "dataset_version_id": d} for d in datasets]
        events.append(
            {
                "actor": actor,
                "action": "model.register",
                "entity_type": "model",
                "entity_id": name,
                "after": {"version": row.version, "segment": row.segment_key, "run_id": row.run_id},
            }
        )
        version = _version(row, name, datasets, (), signatures)
        for kind, (payload, summary) in (new.reports or {}).items():
            add_report(session, version, kind, payload, actor=actor, summary=summary, now=now)
        out.append(version)
    # rows nobody reads back, inserted in one statement each rather than as objects
    if links:
        session.execute(insert(ModelVersionDatasetRow), links)
    audit.record_many(session, events)
    return out


@dataclass(frozen=True)
class _NewRow:
    """A version row as inserted, for ``_version``: new, so neither archived nor exported."""

    id: int
    model_id: int
    version: int
    segment_key: str
    segment: dict[str, Any] | None
    run_id: str | None
    flavor: str
    artifact_digest: str
    artifact_size: int
    signature: dict[str, Any] | None
    metrics: dict[str, Any]
    rules: dict[str, Any] | None
    validation: dict[str, Any] | None
    description: str | None
    reference_digest: str | None
    created_at: datetime
    created_by: str
    archived_at: None = None
    archived_by: None = None
    onnx_digest: None = None


def create_model(store: Store, name: str, *, description: str | None, actor: str) -> Model:
    """An empty model family, for clients that name a model before its first version."""
    check_model_name(name)
    with store.write() as session:
        row = _lock_model(session, name, create=True, actor=actor)
        if description and not row.description:
            row.description = description
        return _model(session, row, 0, 0)


def register_model(
    store: Store,
    artifacts,
    model: Any,
    name: str,
    *,
    signature: Signature | None,
    trusted: bool = False,
    reports_of: Any = None,
    **details: Any,
) -> ModelVersion:
    """Save ``model`` by its flavor, store the artifact by hash, register the version.
    ``details`` are ``register``'s keywords (segment, run_id, metrics, actor …);
    ``reports_of(flavor)`` gives the reports to keep with it (``register``'s ``reports``)."""
    from loopml.models import pack

    package = pack(model, signature, trusted=trusted)
    stored = artifacts.put_bytes(package.to_bytes())
    reports = reports_of(package.flavor) if reports_of is not None else None
    return register(
        store,
        name=name,
        flavor=package.flavor,
        artifact_digest=stored.digest,
        artifact_size=stored.size,
        signature=signature,
        reports=reports,
        **details,
    )


def set_alias(
    store: Store,
    name: str,
    alias: str,
    version: int,
    *,
    segment: Mapping[str, Any] | str | None = None,
    actor: str,
    reason: str | None = None,
    kind: str = "set",
    session: Session | None = None,
) -> AliasMove:
    """Point ``alias`` of the model (segment) at ``version``; ``kind`` names the move
    in the history (set, promote, approve, rollback)."""
    _check_alias(alias)
    if session is None:
        with store.write() as session:
            return set_alias(
                store,
                name,
                alias,
                version,
                segment=segment,
                actor=actor,
                reason=reason,
                kind=kind,
                session=session,
            )
    return set_aliases(
        session, name, alias, [(version, segment)], actor=actor, reason=reason, kind=kind
    )[0]


def set_aliases(
    session: Session,
    name: str,
    alias: str,
    targets: Sequence[tuple[int, Mapping[str, Any] | str | None]],
    *,
    actor: str,
    reason: str | None = None,
    kind: str = "set",
) -> list[AliasMove]:
    """``set_alias`` for many segments of one model in the caller's transaction:
    (version, segment) pairs, a few queries for all of them rather than a few each."""
    _check_alias(alias)
    model = _lock_model(session, name)
    if not targets:
        return []
    numbers = [int(version) for version, _segment in targets]
    rows = _target_rows(session, model, name, numbers)
    keys = [canonical_segment(segment) for _version, segment in targets]
    for number, key in zip(numbers, keys, strict=True):
        _check_target(rows[number], name, key)
    current = _current_versions(session, model, alias, keys)
    now, added, updated, moves, events = utcnow(), {}, {}, [], []
    for number, key in zip(numbers, keys, strict=True):
        before = current.get(key)
        pointer = {"segment_key": key, "version_id": rows[number].id}
        (added if before is None and key not in added else updated)[key] = pointer
        current[key] = number
        move, event = _move_and_event(model, name, key, alias, before, number, actor, reason, kind)
        moves.append(move)
        events.append(event)
    # Core statements, one for each kind of row: a chunk's moves cost a few round trips
    aliases = AliasRow.__table__
    common = {"model_id": model.id, "alias": alias, "updated_at": now}
    if added:
        session.execute(insert(aliases), [common | p for p in added.values()])
    if updated:
        session.execute(
            update(aliases)
            .where(
                aliases.c.model_id == model.id,
                aliases.c.alias == alias,
                aliases.c.segment_key == bindparam("key"),
            )
            .values(version_id=bindparam("target"), updated_at=now),
            [{"key": p["segment_key"], "target": p["version_id"]} for p in updated.values()],
        )
    table = AliasMoveRow.__table__
    ids = session.scalars(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), moves
    ).all()
    audit.record_many(session, events)
    return [
        AliasMove(id=i, name=name, **{k: v for k, v in m.items() if k != "model_id"})
        for i, m in zip(ids, moves, strict=True)
    ]


def _check_target(target: ModelVersionRow, name: str, segment_key: str) -> None:
    if target.archived_at is not None:
        raise Conflict(
            f"Version {target.version} of {name!r} is archived: it may never serve again "
            f"(archived by {target.archived_by} on {target.archived_at:%Y-%m-%d}).",
            hint="Promote another version; `loopml models versions NAME` lists them.",
        )
    if target.segment_key != segment_key:
        raise InvalidInput(
            f"Version {target.version} of {name!r} belongs to segment "
            f"{target.segment_key or '(none)'!r}, not {segment_key or '(none)'!r}.",
            hint="Move the alias of the version's own segment.",
        )


def _version_rows(
    session: Session, model: ModelRow, name: str, numbers: Sequence[int]
) -> dict[int, ModelVersionRow]:
    found: dict[int, ModelVersionRow] = {}
    for part in _parts(sorted(set(numbers))):
        query = select(ModelVersionRow).where(
            ModelVersionRow.model_id == model.id, ModelVersionRow.version.in_(part)
        )
        found |= {row.version: row for row in session.scalars(query)}
    for number in numbers:
        if number not in found:
            _version_row(session, model, name, version=number)  # raises, naming the range
    return found


def _target_rows(session: Session, model: ModelRow, name: str, numbers: Sequence[int]) -> dict:
    """version number → what an alias move checks of it (id, segment key, archived)."""
    found = {}
    for part in _parts(sorted(set(numbers))):
        query = select(
            ModelVersionRow.id,
            ModelVersionRow.version,
            ModelVersionRow.segment_key,
            ModelVersionRow.archived_at,
            ModelVersionRow.archived_by,
        ).where(ModelVersionRow.model_id == model.id, ModelVersionRow.version.in_(part))
        found |= {row.version: row for row in session.execute(query)}
    for number in numbers:
        if number not in found:
            _version_row(session, model, name, version=number)  # raises, naming the range
    return found


def _current_versions(
    session: Session, model: ModelRow, alias: str, keys: Sequence[str]
) -> dict[str, int]:
    """segment key → the version number its alias points at."""
    found = {}
    for part in _parts(sorted(set(keys))):
        query = (
            select(AliasRow.segment_key, ModelVersionRow.version)
            .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
            .where(
                AliasRow.model_id == model.id,
                AliasRow.alias == alias,
                AliasRow.segment_key.in_(part),
            )
        )
        found |= dict(session.execute(query).all())
    return found


def _parts(values: Sequence, size: int = 500) -> list[Sequence]:
    """Slices short enough for a SQL ``IN`` list on every database."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def set_onnx_digest(
    store: Store,
    name: str,
    version: int,
    onnx_digest: str | None,
    *,
    actor: str,
    evidence: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Serve ``version`` through onnxruntime from the export ``onnx_digest`` (None: natively).

    Every alias that points at the version records a move to the same version, so
    servers that poll the moves load it again with its new runtime."""
    with store.write() as session:
        model = _lock_model(session, name)
        row = _version_row(session, model, name, version=version)
        before, after = runtime_of(row.onnx_digest), runtime_of(onnx_digest)
        row.onnx_digest = onnx_digest
        reason = f"served through {'onnxruntime' if onnx_digest else 'its own library'}"
        audit.record(
            session,
            actor=actor,
            action="model.runtime",
            entity_type="model",
            entity_id=name,
            reason=reason,
            before={"version": version, "segment": row.segment_key, "runtime": before},
            after={
                "version": version,
                "segment": row.segment_key,
                "runtime": after,
                "digest": onnx_digest,
                **(evidence or {}),
            },
        )
        for alias in session.scalars(select(AliasRow).where(AliasRow.version_id == row.id)):
            _move_row(
                session,
                model,
                name,
                alias.segment_key,
                alias.alias,
                version,
                version,
                actor,
                reason,
                "runtime",
            )
        session.flush()
        return _load_version(session, row, name)


def delete_alias(
    store: Store, name: str, alias: str, *, segment=None, actor: str, reason: str | None = None
) -> AliasMove:
    segment_key = canonical_segment(segment)
    with store.write() as session:
        model = _lock_model(session, name)
        current = session.get(AliasRow, (model.id, segment_key, alias))
        if current is None:
            raise _no_alias(session, model, name, alias, segment_key)
        before = _version_number(session, current.version_id)
        session.delete(current)
        return _record_move(
            session, model, name, segment_key, alias, before, None, actor, reason, "delete"
        )


def _record_move(
    session, model, name, segment_key, alias, before, after, actor, reason, kind
) -> AliasMove:
    move = _move_row(session, model, name, segment_key, alias, before, after, actor, reason, kind)
    session.flush()
    return _move(move, name)


def _move_row(
    session, model, name, segment_key, alias, before, after, actor, reason, kind
) -> AliasMoveRow:
    """The move and its audit event, added to the session (flushed by the caller)."""
    columns, event = _move_and_event(
        model, name, segment_key, alias, before, after, actor, reason, kind
    )
    move = AliasMoveRow(**columns)
    session.add(move)
    audit.record(session, **event)
    return move


def _move_and_event(
    model, name, segment_key, alias, before, after, actor, reason, kind
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An alias move's row (its columns) and its audit event (``audit.record``'s keywords)."""
    move = {
        "model_id": model.id,
        "segment_key": segment_key,
        "alias": alias,
        "from_version": before,
        "to_version": after,
        "time": utcnow(),
        "actor": actor,
        "reason": reason,
        "kind": kind,
    }
    event = {
        "actor": actor,
        "action": f"alias.{kind}",
        "entity_type": "model",
        "entity_id": name,
        "reason": reason,
        "before": {"alias": alias, "segment": segment_key, "version": before},
        "after": {"alias": alias, "segment": segment_key, "version": after},
    }
    return move, event


def resolve(
    store: Store,
    name: str,
    *,
    alias: str | None = None,
    version: int | None = None,
    segment: Mapping[str, Any] | str | None = None,
) -> ModelVersion:
    """One version: by number, by alias (of a segment), or the newest of the segment."""
    segment_key = canonical_segment(segment)
    with store.read() as session:
        if alias is not None:  # one lookup by the alias's primary key; errors read more
            row = session.scalar(
                _BY_ALIAS, {"name": name, "segment_key": segment_key, "alias": alias}
            )
            if row is None:
                model = _model_row(session, name)
                raise _no_alias(session, model, name, alias, segment_key)
        else:
            model = _model_row(session, name)
            row = _version_row(session, model, name, version=version, segment_key=segment_key)
        return _load_version(session, row, name)


def resolve_aliases(
    store: Store, name: str, alias: str, segment_keys: Sequence[str]
) -> dict[str, ModelVersion]:
    """The versions ``alias`` names in each of these segments (those it names none in are
    left out): ``resolve`` for many segments in a few queries."""
    with store.read() as session:
        model = _model_row(session, name)
        rows = []
        for part in _parts(sorted(set(segment_keys))):
            rows += session.scalars(
                select(ModelVersionRow)
                .join(AliasRow, AliasRow.version_id == ModelVersionRow.id)
                .where(
                    AliasRow.model_id == model.id,
                    AliasRow.alias == alias,
                    AliasRow.segment_key.in_(part),
                )
            ).all()
        ids = [r.id for r in rows]
        aliases = _aliases_by_version(session, model.id, ids)
        datasets = _datasets_by_version(session, ids)
        return {
            r.segment_key: _version(r, name, datasets.get(r.id, ()), aliases.get(r.id, ()))
            for r in rows
        }


def get_versions(store: Store, name: str, numbers: Sequence[int]) -> list[ModelVersion]:
    """Versions of ``name`` by number, in the order asked (a few queries for all)."""
    with store.read() as session:
        model = _model_row(session, name)
        rows = _version_rows(session, model, name, [int(n) for n in numbers])
        ids = [r.id for r in rows.values()]
        aliases = _aliases_by_version(session, model.id, ids)
        datasets = _datasets_by_version(session, ids)
        return [
            _version(rows[n], name, datasets.get(rows[n].id, ()), aliases.get(rows[n].id, ()))
            for n in numbers
        ]


def list_versions(
    store: Store, name: str, *, segment=None, limit: int | None = None
) -> list[ModelVersion]:
    """The versions of ``name`` (of one segment), newest first: a query for the versions,
    one for their aliases and one for their datasets, however many there are."""
    with store.read() as session:
        model = _model_row(session, name)
        where = [ModelVersionRow.model_id == model.id]
        if segment is not None:
            where.append(ModelVersionRow.segment_key == canonical_segment(segment))
        query = select(*_VERSION_COLUMNS).where(*where).order_by(ModelVersionRow.version.desc())
        if limit:
            query = query.limit(limit)
        rows = session.execute(query).all()
        if limit or segment is not None:
            ids = [r.id for r in rows]
            aliases = _aliases_by_version(session, model.id, ids)
            datasets = _datasets_by_version(session, ids)
        else:  # every version of the model: read their links by the model, not by id lists
            aliases = _aliases_by_version(session, model.id)
            datasets = _datasets_of_model(session, model.id)
        signatures = _Signatures()
        return [
            _version(r, name, datasets.get(r.id, ()), aliases.get(r.id, ()), signatures)
            for r in rows
        ]


def list_models(store: Store) -> list[Model]:
    counts = (
        select(
            ModelVersionRow.model_id,
            func.count().label("versions"),
            func.count(func.distinct(ModelVersionRow.segment_key)).label("segments"),
        )
        .group_by(ModelVersionRow.model_id)
        .subquery()
    )
    with store.read() as session:
        rows = session.execute(
            select(ModelRow, counts.c.versions, counts.c.segments)
            .outerjoin(counts, counts.c.model_id == ModelRow.id)
            .order_by(ModelRow.name)
        ).all()
        return [
            _model(session, row, versions or 0, segments or 0) for row, versions, segments in rows
        ]


def model_names(store: Store) -> list[str]:
    """The names of all registered models, sorted (one cheap query)."""
    with store.read() as session:
        return list(session.scalars(select(ModelRow.name).order_by(ModelRow.name)))


def get_model(store: Store, name: str) -> Model:
    with store.read() as session:
        row = _model_row(session, name)
        versions, segments = session.execute(
            select(func.count(), func.count(func.distinct(ModelVersionRow.segment_key))).where(
                ModelVersionRow.model_id == row.id
            )
        ).one()
        return _model(session, row, versions, segments)


def list_segments(store: Store, name: str) -> list[dict[str, Any]]:
    """The segments of a model family, each with its versions count and aliases."""
    with store.read() as session:
        model = _model_row(session, name)
        rows = session.execute(
            select(
                ModelVersionRow.segment_key,
                func.count(),
                func.max(ModelVersionRow.version),
                func.max(ModelVersionRow.created_at),
            )
            .where(ModelVersionRow.model_id == model.id)
            .group_by(ModelVersionRow.segment_key)
            .order_by(ModelVersionRow.segment_key)
        ).all()
        aliases: dict[str, dict[str, int]] = {}
        for segment_key, alias, number in session.execute(
            select(AliasRow.segment_key, AliasRow.alias, ModelVersionRow.version)
            .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
            .where(AliasRow.model_id == model.id)
        ):
            aliases.setdefault(segment_key, {})[alias] = number
        return [
            {
                "segment": key,
                "versions": count,
                "latest": latest,
                "aliases": aliases.get(key, {}),
                "trained_at": trained,
            }
            for key, count, latest, trained in rows
        ]


def alias_metrics(store: Store, name: str, alias: str = "champion") -> dict[str, dict[str, Any]]:
    """The logged metrics of the version ``alias`` points to, per segment key (one query)."""
    with store.read() as session:
        model = _model_row(session, name)
        rows = session.execute(
            select(AliasRow.segment_key, ModelVersionRow.metrics)
            .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
            .where(AliasRow.model_id == model.id, AliasRow.alias == alias)
        )
        return {segment: dict(found or {}) for segment, found in rows}


def training_cpu(store: Store, name: str) -> dict[str, float]:
    """CPU seconds of the runs that trained ``name``'s versions, summed per segment key
    (versions without a run, or runs that recorded none, add nothing; one query)."""
    from loopml.store.tables.tracking import RunRow

    with store.read() as session:
        model = _model_row(session, name)
        rows = session.execute(
            select(ModelVersionRow.segment_key, func.sum(RunRow.cpu_seconds))
            .join(RunRow, RunRow.id == ModelVersionRow.run_id)
            .where(ModelVersionRow.model_id == model.id)
            .group_by(ModelVersionRow.segment_key)
        )
        return {segment: float(total or 0.0) for segment, total in rows}


def models_with_alias(store: Store, alias: str) -> list[tuple[str, str, int]]:
    """Every (model, segment key, version) that ``alias`` points at: what serving loads."""
    with store.read() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(ModelRow.name, AliasRow.segment_key, ModelVersionRow.version)
                .join(AliasRow, AliasRow.model_id == ModelRow.id)
                .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
                .where(AliasRow.alias == alias)
                .order_by(ModelRow.name, AliasRow.segment_key)
            )
        ]


def alias_state(store: Store) -> int:
    """A counter that grows whenever any alias moves anywhere: one indexed lookup."""
    with store.read() as session:
        return session.scalar(select(func.max(AliasMoveRow.id))) or 0


def alias_targets(
    store: Store, names: Iterable[str] | None = None
) -> dict[tuple[str, str, str], int]:
    """Where every alias of these models (of all models: None) points, in one query:
    (model, segment key, alias) → version id."""
    query = select(ModelRow.name, AliasRow.segment_key, AliasRow.alias, AliasRow.version_id).join(
        AliasRow, AliasRow.model_id == ModelRow.id
    )
    if names is not None:
        query = query.where(ModelRow.name.in_(list(names)))
    with store.read() as session:
        rows = session.execute(query)
        return {(name, segment, alias): version for name, segment, alias, version in rows}


def segment_keys(store: Store, name: str) -> list[str]:
    """The distinct segment keys of ``name``'s versions, read from the index on
    (model, segment, version) alone."""
    with store.read() as session:
        model = _model_row(session, name)
        return list(
            session.scalars(
                select(ModelVersionRow.segment_key)
                .where(ModelVersionRow.model_id == model.id)
                .distinct()
            )
        )


def alias_changes(
    store: Store, since: int, names: Iterable[str] | None = None
) -> tuple[int, dict[tuple[str, str, str], int | None]]:
    """The aliases of these models (of all: None) moved after move ``since``, each with
    the version id it points at now (None: removed), and the newest move's id: what a
    serving replica reads each poll, its cost in the moves since, not in the segments."""
    with store.read() as session:
        newest = session.scalar(select(func.max(AliasMoveRow.id))) or 0
        rows = session.execute(
            select(
                AliasMoveRow.id,
                ModelRow.name,
                AliasMoveRow.segment_key,
                AliasMoveRow.alias,
                AliasRow.version_id,
            )
            .join(ModelRow, ModelRow.id == AliasMoveRow.model_id)
            .outerjoin(
                AliasRow,
                (AliasRow.model_id == AliasMoveRow.model_id)
                & (AliasRow.segment_key == AliasMoveRow.segment_key)
                & (AliasRow.alias == AliasMoveRow.alias),
            )
            .where(
                AliasMoveRow.id > since,
                AliasMoveRow.id <= newest,
                *([] if names is None else [ModelRow.name.in_(list(names))]),
            )
            .order_by(AliasMoveRow.id)
        ).all()
    return max(newest, since), {(n, seg, alias): vid for _id, n, seg, alias, vid in rows}


def alias_history(
    store: Store,
    name: str,
    *,
    alias: str | None = None,
    segment=None,
    until: datetime | None = None,
) -> list[AliasMove]:
    """Moves of the model's aliases, newest first."""
    with store.read() as session:
        model = _model_row(session, name)
        query = select(AliasMoveRow).where(AliasMoveRow.model_id == model.id)
        if alias is not None:
            query = query.where(AliasMoveRow.alias == alias)
        if segment is not None:
            query = query.where(AliasMoveRow.segment_key == canonical_segment(segment))
        if until is not None:
            query = query.where(AliasMoveRow.time <= until)
        query = query.order_by(AliasMoveRow.time.desc(), AliasMoveRow.id.desc())
        return [_move(row, name) for row in session.scalars(query)]


def champion_at(
    store: Store, name: str, time: datetime, *, segment=None, alias: str = "champion"
) -> AliasMove | None:
    """The move that made ``alias`` what it was at ``time`` (version, who, why), or None."""
    moves = alias_history(store, name, alias=alias, segment=segment or "", until=time)
    return moves[0] if moves else None


def get_gate(store: Store, name: str) -> dict[str, Any] | None:
    """The model's gate alone: one lookup, on the path of every promotion."""
    with store.read() as session:
        return _model_row(session, name).gate


def set_gate(store: Store, name: str, gate: Mapping[str, Any], *, actor: str) -> None:
    """Store the model's gate; a gate that could not be evaluated is refused here."""
    parse_gate(gate)
    with store.write() as session:
        model = _lock_model(session, name, create=True, actor=actor)
        before, model.gate = model.gate, dict(gate)
        audit.record(
            session,
            actor=actor,
            action="model.gate",
            entity_type="model",
            entity_id=name,
            before=before,
            after=model.gate,
        )


# rows and lookups


def check_model_name(name: Any) -> None:
    check_name(name, "The model name")  # it names folders of the prediction log
    if len(name) > 200 or "@" in name:
        raise InvalidInput(
            f"{name!r} is not a valid model name.",
            hint="Use up to 200 characters without '/' or '@', e.g. 'demand'.",
        )


def _check_alias(alias: Any) -> None:
    if not isinstance(alias, str) or not alias.strip() or len(alias) > 100 or alias.isdigit():
        raise InvalidInput(
            f"{alias!r} is not a valid alias.",
            hint="Use a name such as 'champion' or 'challenger' (not a number).",
        )


def _lock_model(session: Session, name: str, *, create: bool = False, actor: str = "") -> ModelRow:
    row = session.scalar(select(ModelRow).where(ModelRow.name == name).with_for_update())
    if row is None:
        if not create:
            raise _no_model(session, name)
        row = ModelRow(name=name, created_at=utcnow(), created_by=actor)
        session.add(row)
        session.flush()
        audit.record(
            session, actor=actor, action="model.create", entity_type="model", entity_id=name
        )
    return row


def _model_row(session: Session, name: str) -> ModelRow:
    row = session.scalar(select(ModelRow).where(ModelRow.name == name))
    if row is None:
        raise _no_model(session, name)
    return row


def _no_model(session: Session, name: str) -> NotFound:
    return unknown_model(name, known_names(session, ModelRow))


def unknown_model(name: str, names: Sequence[str]) -> NotFound:
    """The error for a model name that is not registered; ``names`` are the known ones."""
    return unknown_name("model", name, names, otherwise="Log one with loopml.log_model(...).")


def _version_row(
    session, model: ModelRow, name: str, *, version=None, segment_key=None
) -> ModelVersionRow:
    query = select(ModelVersionRow).where(ModelVersionRow.model_id == model.id)
    if version is not None:
        row = session.scalar(query.where(ModelVersionRow.version == int(version)))
    else:
        row = session.scalar(
            query.where(ModelVersionRow.segment_key == (segment_key or ""))
            .order_by(ModelVersionRow.version.desc())
            .limit(1)
        )
    if row is None:
        latest = session.scalar(
            select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model.id)
        )
        what = (
            f"version {version}"
            if version is not None
            else f"a version for segment {segment_key or '(none)'!r}"
        )
        raise NotFound(
            f"Model {name!r} has no {what}.",
            hint=f"Its versions run from 1 to {latest}." if latest else "It has no versions yet.",
        )
    return row


def _no_alias(session, model: ModelRow, name: str, alias: str, segment_key: str) -> NotFound:
    known = session.scalars(
        select(AliasRow.alias).where(
            AliasRow.model_id == model.id, AliasRow.segment_key == segment_key
        )
    ).all()
    where = f" (segment {segment_key})" if segment_key else ""
    return NotFound(
        f"Model {name!r}{where} has no alias {alias!r}.",
        hint=f"Aliases: {', '.join(sorted(known))}."
        if known
        else "It has no aliases yet; set one with loopml.set_alias or `loopml promote`.",
    )


def _version_number(session: Session, version_id: int) -> int:
    return session.scalar(select(ModelVersionRow.version).where(ModelVersionRow.id == version_id))


def _aliases_by_version(
    session: Session, model_id: int, ids: list[int] | None = None
) -> dict[int, tuple[str, ...]]:
    """The aliases naming each of these versions of one model (all of its versions when
    ``ids`` is None); the model's id leads the aliases' primary key, so this is a range
    of that index rather than a scan of every model's aliases."""
    query = select(AliasRow.version_id, AliasRow.alias).where(AliasRow.model_id == model_id)
    found: dict[int, list[str]] = {}
    for part in [None] if ids is None else _parts(ids):
        bounded = query if part is None else query.where(AliasRow.version_id.in_(part))
        for version_id, alias in session.execute(bounded):
            found.setdefault(version_id, []).append(alias)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _datasets_of_model(session: Session, model_id: int) -> dict[int, tuple[str, ...]]:
    """The datasets of every version of one model, in one query."""
    found: dict[int, list[str]] = {}
    for version_id, dataset in session.execute(
        select(ModelVersionDatasetRow.model_version_id, ModelVersionDatasetRow.dataset_version_id)
        .join(ModelVersionRow, ModelVersionRow.id == ModelVersionDatasetRow.model_version_id)
        .where(ModelVersionRow.model_id == model_id)
    ):
        found.setdefault(version_id, []).append(dataset)
    return {k: tuple(v) for k, v in found.items()}


def _datasets_by_version(session: Session, ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for part in _parts(ids):
        for version_id, dataset in session.execute(
            select(
                ModelVersionDatasetRow.model_version_id, ModelVersionDatasetRow.dataset_version_id
            ).where(ModelVersionDatasetRow.model_version_id.in_(part))
        ):
            found.setdefault(version_id, []).append(dataset)
    return {k: tuple(v) for k, v in found.items()}


# A version's lookups, built once: building a statement costs SQLAlchemy more than
# SQLite takes to answer it.
_BY_ALIAS = (
    select(ModelVersionRow)
    .join(AliasRow, AliasRow.version_id == ModelVersionRow.id)
    .join(ModelRow, ModelRow.id == AliasRow.model_id)
    .where(
        ModelRow.name == bindparam("name"),
        AliasRow.segment_key == bindparam("segment_key"),
        AliasRow.alias == bindparam("alias"),
    )
)
_ITS_ALIASES = select(AliasRow.alias).where(  # the aliases' primary key: model, segment, alias
    AliasRow.model_id == bindparam("model_id"),
    AliasRow.segment_key == bindparam("segment_key"),
    AliasRow.version_id == bindparam("id"),
)
_ITS_DATASETS = select(ModelVersionDatasetRow.dataset_version_id).where(
    ModelVersionDatasetRow.model_version_id == bindparam("id")
)


def _load_version(session: Session, row: ModelVersionRow, name: str) -> ModelVersion:
    keys = {"model_id": row.model_id, "segment_key": row.segment_key, "id": row.id}
    aliases = session.scalars(_ITS_ALIASES, keys).all()
    datasets = session.scalars(_ITS_DATASETS, {"id": row.id}).all()
    return _version(row, name, datasets, sorted(aliases))


# What a listing reads of each version: columns, not ORM objects, which cost more to build
# than the rest of a 10,000-version listing together.
_VERSION_COLUMNS = [
    column
    for column in ModelVersionRow.__table__.columns
    if column.key not in ("model_id", "artifact_size")
]


class _Signatures(dict):
    """Signatures built once per distinct content: a family's segments usually share one."""

    def of(self, data: Mapping[str, Any] | None) -> Signature | None:
        if not data:
            return None
        key = repr(data)
        found = self.get(key)
        if found is None:
            found = self[key] = Signature.from_dict(data)
        return found


def _version(
    row, name: str, datasets, aliases, signatures: _Signatures | None = None
) -> ModelVersion:
    return ModelVersion(
        id=row.id,
        name=name,
        version=row.version,
        segment=row.segment,
        segment_key=row.segment_key,
        run_id=row.run_id,
        flavor=row.flavor,
        artifact_digest=row.artifact_digest,
        signature=(_Signatures() if signatures is None else signatures).of(row.signature),
        metrics=dict(row.metrics or {}),
        dataset_version_ids=tuple(datasets),
        created_at=row.created_at,
        created_by=row.created_by,
        aliases=tuple(aliases),
        rules=row.rules,
        validation=row.validation,
        description=row.description,
        archived_at=row.archived_at,
        archived_by=row.archived_by,
        reference_digest=row.reference_digest,
        onnx_digest=row.onnx_digest,
    )


def _model(session: Session, row: ModelRow, versions: int, segments: int) -> Model:
    aliases = dict(
        session.execute(
            select(AliasRow.alias, ModelVersionRow.version)
            .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
            .where(AliasRow.model_id == row.id, AliasRow.segment_key == "")
        ).all()
    )
    return Model(row.name, row.description, row.gate, row.created_at, versions, segments, aliases)


def _move(row: AliasMoveRow, name: str) -> AliasMove:
    return AliasMove(
        row.id,
        name,
        row.segment_key,
        row.alias,
        row.from_version,
        row.to_version,
        row.time,
        row.actor,
        row.reason,
        row.kind,
    )


def _json_metrics(metrics: Mapping[str, float] | None) -> dict[str, float | None]:
    import math

    out = {}
    for key, value in (metrics or {}).items():
        value = float(value)
        out[str(key)] = None if math.isnan(value) or math.isinf(value) else value
    return out
