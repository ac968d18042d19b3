"""What a retrain learns from: the segment's whole history up to now.

That is the champion's training rows of its segment (its dataset version) plus
the labelled traffic since those rows end (the prediction log joined with its
feedback), in time order, one ``period`` per distinct time. The policy's
``history`` keeps all of it (the default), the last N periods, or only the rows
since the trigger (``since_change``); ``half_life`` weighs each row by
``0.5 ** (age in periods / half_life)``. A champion whose training data is not
known (a model logged by hand, without ``datasets=``) learns from the traffic alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from loopml.data import service as data
from loopml.registry.entities import ModelVersion
from loopml.tracking import service as tracking

LABEL, TIME, PERIOD = "label", "time", "period"


@dataclass(frozen=True)
class Training:
    """The champion's training rows of its segment, under the names of its dataset."""

    rows: pd.DataFrame
    target: str
    time: str | None
    dataset_version_id: str


@dataclass(frozen=True)
class History:
    frame: pd.DataFrame  # features, LABEL, TIME (UTC, NaT where unknown), PERIOD; time order
    training_rows: int
    traffic_rows: int
    dataset_version_id: str | None  # the training data it extends
    target: str
    time: str
    notes: list[str] = field(default_factory=list)

    def ends(self) -> datetime | None:
        """The time of the newest row whose time is known."""
        known = self.frame[TIME].dropna()
        return None if known.empty else known.max().to_pydatetime()

    def as_dataset(self, segment: dict | None) -> pd.DataFrame:
        """The rows as a dataset version: the segment's keys, features, target and time."""
        out = self.frame.drop(columns=[PERIOD]).rename(
            columns={LABEL: self.target, TIME: self.time}
        )
        for key, value in reversed(list((segment or {}).items())):
            out.insert(0, key, value)
        return out


def training_of(store, artifacts, version: ModelVersion, features: list[str]) -> Training | None:
    """The version's training rows of its segment, or None when they cannot be known."""
    if not version.dataset_version_ids:
        return None
    dataset = data.get_version_by_id(store, version.dataset_version_ids[0])
    frame = data.load_table(artifacts, dataset).to_pandas()
    for key, value in (version.segment or {}).items():
        if key in frame.columns:
            frame = frame[frame[key].astype(str) == str(value)]
    params = _run_params(store, version)
    target = _target(params, version, frame, features)
    if target is not None and "forecast" in params and not set(features) <= set(frame.columns):
        # a forecast stores its rows without lags: rebuild them with training's own code
        from loopml.pipeline.features import add_forecast_features
        from loopml.pipeline.source import parse_time

        time = params["time"]
        frame = parse_time(frame, time, None, f"dataset {dataset.name} v{dataset.version}")
        frame = add_forecast_features(frame, target, time, json.loads(params["forecast"]))
    if target is None or not set(features) <= set(frame.columns):
        return None
    times = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    return Training(frame, target, times[0] if len(times) == 1 else None, dataset.id)


def gather(training: Training | None, traffic: pd.DataFrame, features: list[str]) -> History:
    """Training rows, then the labelled traffic that came after them, in time order."""
    notes = []
    parts = []
    if traffic.empty:  # an empty log has no input columns at all
        traffic = traffic.reindex(
            columns=list(dict.fromkeys([*traffic.columns, *features, LABEL, TIME]))
        )
    if training is not None:
        rows = training.rows
        known = _utc(rows[training.time]) if training.time else pd.Series(pd.NaT, index=rows.index)
        parts.append(
            pd.DataFrame(
                {
                    **{f: rows[f] for f in features},
                    LABEL: rows[training.target].astype(float),
                    TIME: known,
                }
            )
        )
        end = known.max()
        if pd.notna(end):
            traffic = traffic[_utc(traffic[TIME]) > end]
    else:
        notes.append(
            "the champion's training rows are not known, or lack some of its features (a "
            "forecast's lags, say): it learns from the labelled traffic alone"
        )
    fresh = pd.DataFrame(
        {
            **{f: traffic[f] for f in features},
            LABEL: traffic[LABEL].astype(float),
            TIME: _utc(traffic[TIME]),
        }
    )
    parts.append(fresh)
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values(TIME, kind="stable", na_position="first").reset_index(drop=True)
    changes = frame[TIME].isna() | (frame[TIME] != frame[TIME].shift())
    frame[PERIOD] = changes.cumsum().to_numpy() - 1
    return History(
        frame,
        len(frame) - len(fresh),
        len(fresh),
        training.dataset_version_id if training else None,
        training.target if training else LABEL,
        (training.time if training else None) or TIME,
        notes,
    )


def window(frame: pd.DataFrame, origin: int, spec, since: datetime | None = None) -> pd.DataFrame:
    """The rows before period ``origin`` the policy's ``history`` lets a model learn from."""
    rows = frame[frame[PERIOD] < origin]
    if spec.history == "since_change" and since is not None:
        rows = rows[rows[TIME] >= pd.Timestamp(since)]
    elif isinstance(spec.history, int):
        rows = rows[rows[PERIOD] >= origin - spec.history]
    return rows


def weights(rows: pd.DataFrame, origin: int, half_life: float | None) -> np.ndarray | None:
    """Recency weights: a row ``half_life`` periods older counts half as much."""
    if half_life is None:
        return None
    age = (origin - 1 - rows[PERIOD].to_numpy()).astype(float)
    return 0.5 ** (age / half_life)


def _run_params(store, version: ModelVersion) -> dict[str, str]:
    """The params of the version's training run and the runs above it, nearest first."""
    found: dict[str, str] = {}
    run_id = version.run_id
    for _ in range(4):  # segment run → train step → pipeline run
        if run_id is None:
            break
        run = tracking.get_run(store, run_id)
        found = {**run.params, **found}
        run_id = run.parent_run_id
    return found


def _target(
    params: dict, version: ModelVersion, frame: pd.DataFrame, features: list[str]
) -> str | None:
    """The target column: the ``target`` param of the training run or a run above it;
    else the one numeric column that is neither a feature, a segment key nor a time."""
    if params.get("target") in frame.columns:
        return params["target"]
    others = [
        c
        for c in frame.columns
        if c not in features
        and c not in (version.segment or {})
        and pd.api.types.is_numeric_dtype(frame[c])
    ]
    return others[0] if len(others) == 1 else None


def _utc(values: pd.Series) -> pd.Series:
    """Times as UTC; a time without a zone is taken as UTC, as the prediction log keeps them."""
    return pd.to_datetime(values, utc=True)
