"""Reports of a version: what was computed about it after training, kept with it.

A report is plain JSON under a kind (``explanation``, ``fairness``, ...), written
by the part that computes it (``loopml.explain``) and read back by the model card,
the gates and the API. A newer report of the same kind replaces the older one for
readers; the older stays in the store, and each write is an audit event. A number
that could not be computed (NaN, infinite) is kept as null: PostgreSQL's JSON has
no NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from loopml import audit
from loopml.registry.entities import ModelVersion
from loopml.store import Store, utcnow
from loopml.store.tables import ModelRow, ModelVersionRow, VersionReportRow
from loopml.store.types import finite_json


@dataclass(frozen=True)
class Report:
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    created_by: str


def save_report(
    store: Store,
    version: ModelVersion,
    kind: str,
    payload: Mapping[str, Any],
    *,
    actor: str,
    summary: Mapping[str, Any] | None = None,
) -> Report:
    """Keep ``payload`` as the version's newest report of ``kind``; ``summary`` goes to the audit."""
    now = utcnow()
    with store.write() as session:
        add_report(session, version, kind, payload, actor=actor, summary=summary, now=now)
    return Report(kind, dict(payload), now, actor)


def add_report(
    session,
    version: ModelVersion,
    kind: str,
    payload: Mapping[str, Any],
    *,
    actor: str,
    summary: Mapping[str, Any] | None,
    now: datetime,
) -> None:
    """The report and its audit event, in the caller's transaction (registration's, say)."""
    session.add(
        VersionReportRow(
            version_id=version.id,
            kind=kind,
            payload=finite_json(dict(payload)),
            created_at=now,
            created_by=actor,
        )
    )
    audit.record(
        session,
        actor=actor,
        action=f"report.{kind}",
        entity_type="model",
        entity_id=version.name,
        after={"version": version.version, "segment": version.segment_key, **dict(summary or {})},
    )


def latest_report(store: Store, version: ModelVersion, kind: str) -> Report | None:
    """The version's newest report of ``kind``, or None if none was computed."""
    query = (
        select(VersionReportRow)
        .where(VersionReportRow.version_id == version.id, VersionReportRow.kind == kind)
        .order_by(VersionReportRow.id.desc())
        .limit(1)
    )
    with store.read() as session:
        row = session.scalar(query)
        return (
            None if row is None else Report(row.kind, row.payload, row.created_at, row.created_by)
        )


def latest_reports(store: Store, versions: list[ModelVersion], kind: str) -> dict[int, Report]:
    """The newest report of ``kind`` of each version that has one, by version id."""
    ids = [v.id for v in versions]
    found: dict[int, Report] = {}
    with store.read() as session:
        for start in range(0, len(ids), 500):  # within every database's bound-value limit
            query = (
                select(VersionReportRow)
                .where(
                    VersionReportRow.version_id.in_(ids[start : start + 500]),
                    VersionReportRow.kind == kind,
                )
                .order_by(VersionReportRow.id)
            )
            for row in session.scalars(query):
                found[row.version_id] = Report(
                    row.kind, row.payload, row.created_at, row.created_by
                )
    return found


def newest_versions_reports(store: Store, name: str, kind: str) -> list[Report]:
    """The newest report of ``kind`` of the newest version of each segment of ``name``,
    in one query: a family with a long history is not loaded version by version."""
    newest = (
        select(ModelVersionRow.segment_key, func.max(ModelVersionRow.version).label("latest"))
        .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
        .where(ModelRow.name == name)
        .group_by(ModelVersionRow.segment_key)
        .subquery()
    )
    query = (
        select(VersionReportRow)
        .join(ModelVersionRow, ModelVersionRow.id == VersionReportRow.version_id)
        .join(ModelRow, ModelRow.id == ModelVersionRow.model_id)
        .join(
            newest,
            (newest.c.segment_key == ModelVersionRow.segment_key)
            & (newest.c.latest == ModelVersionRow.version),
        )
        .where(ModelRow.name == name, VersionReportRow.kind == kind)
        .order_by(VersionReportRow.id)
    )
    found: dict[int, Report] = {}
    with store.read() as session:
        for row in session.scalars(query):  # by id: a newer report replaces an older one
            found[row.version_id] = Report(row.kind, row.payload, row.created_at, row.created_by)
    return list(found.values())
