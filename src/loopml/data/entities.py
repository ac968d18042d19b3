"""What the dataset API returns: frozen, plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a named dataset, stored as Parquet under ``digest``."""

    id: str  # 32 hex characters
    name: str
    version: int  # 1, 2, 3 … per dataset name
    digest: str  # sha256 of the Parquet bytes: the artifact key
    num_rows: int
    num_columns: int
    schema: list[dict[str, str]]  # [{"name": ..., "type": ...}] in column order
    profile: dict[str, Any] = field(repr=False)
    created_at: datetime
    run_id: str | None  # the run that logged it
    size: int = 0  # bytes of Parquet
    summary_digest: str | None = field(default=None, repr=False)
    source: str | None = None  # "DataFrame", "arrow" or the file it was read from
    created_by: str | None = None

    @property
    def ref(self) -> str:
        """``name@version``: what the CLI and ``resolve_version`` accept."""
        return f"{self.name}@{self.version}"

    @property
    def columns(self) -> list[str]:
        return [column["name"] for column in self.schema]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "num_rows": self.num_rows,
            "num_columns": self.num_columns,
            "schema": self.schema,
            "profile": self.profile,
            "created_at": self.created_at.isoformat(),
            "run_id": self.run_id,
            "size": self.size,
            "source": self.source,
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class Dataset:
    name: str
    versions: int
    latest: int | None
    created_at: datetime
    has_rules: bool
