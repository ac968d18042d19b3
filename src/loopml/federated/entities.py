"""What the federation API returns: frozen, plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Member:
    name: str
    state: str  # invited | joined | refused
    home: str | None
    dataset: str | None  # a participant's own dataset reference; never sent to the coordinator
    fingerprint: dict[str, Any] | None  # content hash, schema, row count: never rows
    reason: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Federation:
    name: str
    role: str  # coordinator | participant
    model_family: str  # logistic_regression | ridge_regression | boosted_trees
    strategy: str  # fedavg | fedprox | newton (linear models) | histogram, bagging (trees)
    features: list[
        dict[str, str]
    ]  # [{"name": ..., "type": ...}]: the signature every member's data meets
    target: str
    min_participants: int
    rounds: int
    options: dict[str, Any]
    state: str  # open | trained | failed
    reason: str | None
    created_at: datetime
    created_by: str
    members: tuple[Member, ...] = ()

    @property
    def feature_names(self) -> list[str]:
        return [feature["name"] for feature in self.features]

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    @property
    def joined(self) -> list[Member]:
        return [m for m in self.members if m.state == "joined"]
