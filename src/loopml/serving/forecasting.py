"""Forecasts of the next periods of a segment, from its recent history.

The features of each future period are built by ``add_forecast_features``, the
function training used, on the segment's history followed by the periods to
forecast, so serving and training cannot disagree on a lag, a rolling mean or a
calendar part. A model trained with ``forecast.horizon: h`` sees only values h
periods back or more, so the next h periods are forecast at once (direct); beyond
that each block's forecasts are taken as history for the next block (recursive).

``History`` is what the server remembers of each segment: the rows it is given
(``POST /v1/models/{name}/history``) and the labels of its forecasts (feedback).
It lives in the server's memory: after a restart, send the history again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import InvalidInput, NotFound
from loopml.pipeline.features import add_forecast_features, forecast_feature_names
from loopml.registry.segments import canonical_segment, parse_segment

MAX_PERIODS = 1000
Score = Callable[[pd.DataFrame], np.ndarray]  # feature rows (with the segment keys) -> values


@dataclass(frozen=True)
class Recipe:
    """How a model family forecasts: the project file's target, time, segments and features."""

    model: str
    target: str
    time: str
    segment_by: tuple[str, ...]
    forecast: dict[str, Any]

    @classmethod
    def from_project(cls, spec) -> Recipe:
        if spec.task != "forecast":
            raise InvalidInput(
                f"Model {spec.name!r} is a {spec.task}, not a forecast.",
                hint="Set task: forecast in the project file to forecast periods ahead.",
            )
        return cls(
            spec.name,
            spec.target,
            spec.data.time,
            tuple(spec.segment_by),
            spec.forecast.model_dump(),
        )

    @property
    def keep(self) -> int:
        """Periods of history a forecast needs (with a margin for the time step's inference)."""
        f = self.forecast
        return max([*f["lags"], *(w + f["horizon"] for w in f["rolling"]), 3]) + 1


def forecast(
    recipe: Recipe,
    history: pd.DataFrame,
    periods: int,
    score: Score,
    *,
    keys: Mapping[str, Any] | None = None,
    freq: str | None = None,
    future: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The next ``periods`` of one segment (``keys``) from its ``history`` (time and target
    columns): a frame of time, the segment keys, the features used and ``prediction``."""
    if not 1 <= periods <= MAX_PERIODS:
        raise InvalidInput(
            f"periods must be between 1 and {MAX_PERIODS}; got {periods}.",
            hint="Ask for the periods you plan for.",
        )
    known = _ordered(recipe, history)
    step = freq or _step(recipe, known)
    try:
        times = pd.date_range(known[recipe.time].iloc[-1], periods=periods + 1, freq=step)[1:]
    except ValueError:
        raise InvalidInput(
            f"freq {freq!r} is not a period pandas knows.", hint="Use MS, W-MON, D or H."
        ) from None
    keys = dict(keys or {})
    out = []
    horizon = recipe.forecast["horizon"]
    for start in range(0, periods, horizon):
        block = pd.DataFrame({recipe.time: times[start : start + horizon], **keys})
        block = _with_future(block, future, recipe.time)
        rows = forecast_features(recipe, known, block)
        rows["prediction"] = np.asarray(score(rows), dtype=float)
        out.append(rows)
        solved = rows[[recipe.time]].assign(**{recipe.target: rows["prediction"]})
        known = pd.concat([known, solved], ignore_index=True)
    return pd.concat(out, ignore_index=True)


def forecast_features(recipe: Recipe, known: pd.DataFrame, block: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``block`` (future periods) with the features training builds from
    ``known`` history: ``add_forecast_features`` on history then block, block rows kept."""
    work = pd.concat(
        [known[[recipe.time, recipe.target]], block.assign(**{recipe.target: np.nan})],
        ignore_index=True,
    )
    built = add_forecast_features(work, recipe.target, recipe.time, recipe.forecast)
    rows = built[built[recipe.time].isin(block[recipe.time])].reset_index(drop=True)
    if len(rows) != len(block):
        need = recipe.keep
        raise InvalidInput(
            f"The history of this segment is too short for its lags and rolling means "
            f"({len(known)} periods; the model needs about {need}).",
            hint=f"Send at least {need} periods of history first.",
        )
    return rows.drop(columns=[recipe.target])


def model_inputs(recipe: Recipe, feature_names: list[str]) -> list[str]:
    """The features a forecast must supply besides the ones built from history (the
    champion's signature tells; a forecast feature it lacks means the project file changed)."""
    built = forecast_feature_names(recipe.forecast)
    missing = [name for name in built if name not in feature_names]
    if missing:
        raise InvalidInput(
            f"The champion of {recipe.model!r} does not take {', '.join(missing)}, which the "
            "project file's forecast section builds: it was trained with other settings.",
            hint="Retrain with `loopml run`, or restore the forecast section it was trained with.",
        )
    return [name for name in feature_names if name not in built]


class History:
    """Each segment's newest ``keep`` periods of the target, by time; thread-safe."""

    def __init__(self, recipe: Recipe, keep: int | None = None) -> None:
        self.recipe = recipe
        self.keep = max(keep or 0, recipe.keep * 4)
        self._frames: dict[str, pd.DataFrame] = {}  # segment key -> time and target
        self._keys: dict[str, dict[str, Any]] = {}  # segment key -> its values
        self._lock = threading.Lock()

    def add(self, rows: pd.DataFrame) -> int:
        """Rows with the time, the target and the segment keys; a period sent twice keeps
        its newest value. Returns the number of segments touched."""
        recipe = self.recipe
        missing = [c for c in (recipe.time, recipe.target, *recipe.segment_by) if c not in rows]
        if missing:
            raise InvalidInput(
                f"History rows lack {', '.join(missing)}.",
                hint=f"Send {recipe.time}, {recipe.target} and "
                f"{', '.join(recipe.segment_by) or 'no segment keys'} for every row.",
            )
        rows = _ordered(recipe, rows)
        touched = 0
        with self._lock:
            for key, values, part in _by_segment(rows, recipe.segment_by):
                part = part[[recipe.time, recipe.target]]
                self._keys.setdefault(key, values)
                old = self._frames.get(key)
                both = part if old is None else pd.concat([old, part], ignore_index=True)
                both = both.drop_duplicates(recipe.time, keep="last").sort_values(recipe.time)
                self._frames[key] = both.tail(self.keep).reset_index(drop=True)
                touched += 1
        return touched

    def add_labels(self, segment: str, times: list, labels: list[float]) -> None:
        """Observed values of earlier forecasts (feedback), for a segment by its key."""
        recipe = self.recipe
        rows = pd.DataFrame({recipe.time: times, recipe.target: labels})
        for name, value in parse_segment(segment).items():
            rows[name] = self._keys.get(segment, {}).get(name, value)
        self.add(rows)

    def segment(self, segment: Mapping[str, Any] | str | None) -> tuple[dict, pd.DataFrame]:
        """The segment's key values and its history (time and target)."""
        key = canonical_segment(segment)
        with self._lock:
            frame, values = self._frames.get(key), self._keys.get(key)
        if frame is None:
            raise NotFound(
                f"No history of segment {key or '(all)'!r} of {self.recipe.model!r}.",
                hint=f"Send its recent rows to POST /v1/models/{self.recipe.model}/history.",
            )
        return values, frame

    def segments(self) -> list[str]:
        with self._lock:
            return sorted(self._frames)


def _ordered(recipe: Recipe, rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    try:
        rows[recipe.time] = pd.to_datetime(rows[recipe.time], utc=True, format="ISO8601")
        rows[recipe.target] = pd.to_numeric(rows[recipe.target], errors="raise").astype(float)
    except (ValueError, TypeError) as error:
        raise InvalidInput(
            f"History rows need ISO 8601 times in {recipe.time} and numbers in "
            f"{recipe.target}: {error}.",
            hint='Send rows like {"'
            + recipe.time
            + '": "2024-03-01T00:00:00Z", "'
            + recipe.target
            + '": 12.5}.',
        ) from None
    keep = [recipe.time, recipe.target, *(k for k in recipe.segment_by if k in rows)]
    return rows[keep].sort_values(recipe.time, kind="stable").reset_index(drop=True)


def _step(recipe: Recipe, known: pd.DataFrame) -> str:
    times = known[recipe.time].tail(recipe.keep)
    try:
        step = pd.DatetimeIndex(times, freq="infer").freqstr if len(times) >= 3 else None
    except (ValueError, AttributeError):  # no regular step
        step = None
    if step is None:
        raise InvalidInput(
            "The periods of this history are not evenly spaced, so the next one is unknown.",
            hint="Pass freq (e.g. MS for months, W-MON, D) or send evenly spaced periods.",
        )
    return step


def _with_future(block: pd.DataFrame, future: pd.DataFrame | None, time: str) -> pd.DataFrame:
    """Known future values of other features (prices, promotions), joined by time."""
    if future is None or future.empty:
        return block
    future = future.assign(**{time: pd.to_datetime(future[time], utc=True, format="ISO8601")})
    extra = [c for c in future.columns if c not in block.columns]
    return block.merge(future[[time, *extra]], on=time, how="left")


def _by_segment(rows: pd.DataFrame, keys: tuple[str, ...]):
    if not keys:
        yield "", {}, rows
        return
    for values, part in rows.groupby(list(keys), sort=False):
        values = dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True))
        yield canonical_segment(values), values, part


def forecast_segments(
    history: History,
    periods: int,
    score: Score,
    *,
    segments: list[str] | None = None,
    freq: str | None = None,
    future: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``forecast`` for each of ``segments`` (default every segment with history), as one
    frame with a ``segment`` column: the batch forecast of a whole family."""
    parts = []
    for key in history.segments() if segments is None else segments:
        keys, known = history.segment(key)
        part = forecast(
            history.recipe,
            known,
            periods,
            score,
            keys=keys,
            freq=freq,
            future=_of_segment(future, keys),
        )
        parts.append(part.assign(segment=canonical_segment(keys)))
    if not parts:
        raise NotFound(
            f"No segment of {history.recipe.model!r} has history to forecast from.",
            hint="Send the recent rows of each segment first.",
        )
    return pd.concat(parts, ignore_index=True)


def _of_segment(future: pd.DataFrame | None, keys: Mapping[str, Any]) -> pd.DataFrame | None:
    if future is None:
        return None
    mask = np.ones(len(future), dtype=bool)
    for name, value in keys.items():
        if name in future.columns:
            mask &= future[name].astype(str).to_numpy() == str(value)
    return future[mask].drop(columns=[k for k in keys if k in future.columns])


class Histories:
    """The ``History`` of the forecast model the server's project file describes."""

    def __init__(self, project_file) -> None:
        self.project_file = project_file
        self._history: History | None = None
        self._lock = threading.Lock()

    def of(self, model: str) -> History:
        history = self.known(model)
        if history is None:
            raise NotFound(
                f"Model {model!r} is not the forecast of this server's project file "
                f"({self.project_file}).",
                hint="Start loopml serve where the loopml.yaml with task: forecast that trains "
                "it lives (or set LOOPML_PROJECT_FILE).",
            )
        return history

    def known(self, model: str) -> History | None:
        with self._lock:
            if self._history is None:
                self._history = self._load()
        history = self._history
        return history if history and history.recipe.model == model else None

    def _load(self) -> History | None:
        from loopml.pipeline.project import load_project

        try:
            spec = load_project(self.project_file)
        except (NotFound, InvalidInput):
            return None
        return History(Recipe.from_project(spec)) if spec.task == "forecast" else None
