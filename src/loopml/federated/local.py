"""A participant's own data for a federation: loaded from its own store, checked, split.

Everything here runs at the participant. The split into training rows and a
local holdout is deterministic, so the rounds and the gate see the same holdout.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loopml.config import Settings
from loopml.data import service as data_service
from loopml.errors import InvalidInput
from loopml.federated import segments, service
from loopml.federated.entities import Federation, Member
from loopml.federated.fingerprint import check_signature, fingerprint

SITE_FILE = "site.json"


@dataclass(frozen=True)
class LocalData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_holdout: np.ndarray
    y_holdout: np.ndarray


def folder(home: Path | str, federation: str) -> Path:
    # Absolute: the engine's processes for the participants run in folders of their own.
    return Path(home).expanduser().resolve() / "federations" / federation


def save_site(settings: Settings, federation: str) -> None:
    """Where this participant's store lives, kept in its own home (owner-only) for the engine's process."""
    path = folder(settings.home_path, federation) / SITE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    # Only what was set: the defaults follow the (absolute) home in the engine's process.
    fields = {"store_url": settings.store_url, "artifact_uri": settings.artifact_uri}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({**fields, "actor": settings.actor}, out)


def site_settings(home: Path | str, federation: str) -> Settings:
    path = folder(home, federation) / SITE_FILE
    return Settings(home=Path(home).resolve(), **json.loads(path.read_text(encoding="utf-8")))


def load(store, artifacts, federation: Federation, member: Member, segment: str = "") -> LocalData:
    version = data_service.resolve_version(store, member.dataset)
    if fingerprint(version)["digest"] != (member.fingerprint or {}).get("digest"):
        raise InvalidInput(
            f"Dataset {member.dataset} of {member.name} changed since it joined {federation.name!r}.",
            hint="Join again with the data you mean to train on.",
        )
    check_signature(version.schema, federation.features, federation.target, who=member.name)
    frame = segments.rows_of(data_service.load_table(artifacts, version).to_pandas(), segment)
    x = frame[federation.feature_names].to_numpy(dtype=float)
    y = target(frame[federation.target], federation.model_family, federation.options, member.name)
    holdout = float(federation.options.get("holdout", 0.25))
    return split(x, y, holdout, stratify=service.task(federation.model_family) != "regression")


def target(column: Any, model_family: str, options: dict[str, Any], who: str) -> np.ndarray:
    """The target ``who`` trains on, checked: numbers for a regression, else the two classes."""
    if service.task(model_family) == "regression":
        return numbers(column, who)
    return labels(column, options.get("classes") or [0, 1], who)


def numbers(column: Any, who: str) -> np.ndarray:
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise InvalidInput(
            f"The target {column.name!r} of {who} holds {column.dtype} values; a regression "
            "federation predicts numbers.",
            hint="Join with a numeric target column, or create the federation with "
            "model_family='logistic_regression' for two classes.",
        )
    values = column.to_numpy(dtype=float, na_value=np.nan)
    missing = int((~np.isfinite(values)).sum())
    if missing:
        raise InvalidInput(
            f"The target {column.name!r} of {who} is missing or not finite in {missing} row(s).",
            hint="Drop or fill those rows before joining.",
        )
    return values


def labels(column: Any, classes: list, who: str) -> np.ndarray:
    unknown = sorted(set(column.dropna().tolist()) - set(classes), key=str)
    if unknown or column.isna().any():
        raise InvalidInput(
            f"The target of {who} holds {unknown[:5] or 'missing values'}; the federation's classes are {classes}.",
            hint="Map the target to the federation's two classes before joining.",
        )
    return (column.to_numpy() == classes[1]).astype(float)


def split(x: np.ndarray, y: np.ndarray, holdout: float, stratify: bool = True) -> LocalData:
    """Training rows and a holdout; two classes keep their balance in both (``stratify``), a
    regression's numeric target is split at random."""
    from sklearn.model_selection import train_test_split

    balanced = stratify and min(np.bincount(y.astype(int), minlength=2)) >= 2
    x_train, x_holdout, y_train, y_holdout = train_test_split(
        x, y, test_size=holdout, random_state=0, stratify=y if balanced else None
    )
    return LocalData(x_train, y_train, x_holdout, y_holdout)
