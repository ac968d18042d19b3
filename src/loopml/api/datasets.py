"""Datasets over REST: the datasets, their versions and a version's profile."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from loopml.api.deps import StoreDep
from loopml.data import service

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])

Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="The version number.")]


class DatasetRead(BaseModel):
    name: str
    versions: int
    latest: int | None
    created_at: datetime
    has_rules: bool


class Column(BaseModel):
    name: str
    type: str


class DatasetVersionRead(BaseModel):
    id: str
    name: str
    version: int
    digest: str = Field(description="sha256 of the stored Parquet bytes.")
    num_rows: int
    num_columns: int
    columns: list[Column] = Field(description="The schema, in column order.")
    size: int = Field(description="Bytes of Parquet.")
    created_at: datetime
    created_by: str | None
    run_id: str | None = Field(description="The run that logged the version.")
    source: str | None


class ProfileRead(BaseModel):
    dataset: str
    version: int
    num_rows: int
    columns: dict[str, dict[str, Any]] = Field(
        description="Per column: type, null_rate, and min/max/mean/std/quantiles or "
        "distinct/top values."
    )


@router.get("", summary="Datasets with their number of versions", response_model=list[DatasetRead])
def list_datasets(store: StoreDep):
    return [vars(d) for d in service.list_datasets(store)]


@router.get(
    "/{name}/versions",
    summary="A dataset's versions, newest first",
    response_model=list[DatasetVersionRead],
)
def list_versions(name: str, store: StoreDep):
    return [_version(v) for v in service.list_versions(store, name)]


@router.get(
    "/{name}/versions/{version}/profile",
    summary="The column profile of one version",
    response_model=ProfileRead,
)
def profile(name: str, version: Version, store: StoreDep):
    found = service.get_version(store, name, version)
    return {
        "dataset": found.name,
        "version": found.version,
        "num_rows": found.num_rows,
        "columns": found.profile["columns"],
    }


def _version(version) -> dict[str, Any]:
    return vars(version) | {"columns": version.schema}
