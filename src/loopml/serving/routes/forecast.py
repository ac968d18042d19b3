"""``POST /v1/models/{name}/history`` and ``/forecast``: a segment's next periods.

The server remembers each segment's recent history (the rows sent here and the
labels of earlier forecasts) and builds the features with the training code
(``loopml.serving.forecasting``). Each forecast row is scored and logged like a
prediction, with the period it is about as its event time, so its label can be
sent to ``POST /v1/feedback`` when the period is over.
"""

from __future__ import annotations

import anyio.from_thread
import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from loopml.auth.permissions import Permission, requires
from loopml.errors import InvalidInput
from loopml.serving.forecasting import MAX_PERIODS, forecast_segments, model_inputs
from loopml.serving.routes.deps import engine_of
from loopml.serving.rows import Rows

router = APIRouter(prefix="/v1/models", tags=["forecasts"])
_Value = str | float | int | bool | None


class HistoryRequest(BaseModel):
    records: list[dict[str, _Value]] = Field(
        min_length=1,
        max_length=100_000,
        description="Rows with the project file's time, target and segment columns.",
    )


class HistoryReceipt(BaseModel):
    rows: int
    segments: int = Field(description="Segments whose history the rows extended.")


class ForecastRequest(BaseModel):
    periods: int = Field(ge=1, le=MAX_PERIODS, description="How many periods ahead.")
    segment: dict[str, _Value] | None = Field(
        None, description='The segment\'s keys, e.g. {"store": 12}; leave out for every segment.'
    )
    freq: str | None = Field(
        None, description="The period (a pandas frequency: MS, W-MON, D); default inferred."
    )
    future: list[dict[str, _Value]] | None = Field(
        None, description="Known future values of other features, by time (and segment keys)."
    )


class ForecastRow(BaseModel):
    segment: str
    event_time: str = Field(description="The period forecast.")
    prediction: float
    prediction_id: str = Field(description="Send the observed value to /v1/feedback with it.")
    version: int


class ForecastResponse(BaseModel):
    model: str
    method: str = Field(description="How the periods were forecast: direct, then recursive.")
    forecasts: list[ForecastRow]


@router.post("/{name}/history", response_model=HistoryReceipt, summary="Give segments' history")
@requires(Permission.SCORE)
async def give_history(name: str, body: HistoryRequest, request: Request) -> HistoryReceipt:
    import pandas as pd

    history = request.app.state.histories.of(name)
    touched = await run_in_threadpool(history.add, pd.DataFrame(body.records))
    return HistoryReceipt(rows=len(body.records), segments=touched)


@router.post("/{name}/forecast", response_model=ForecastResponse, summary="Forecast periods ahead")
@requires(Permission.SCORE)
async def forecast(name: str, body: ForecastRequest, request: Request) -> ForecastResponse:
    import pandas as pd

    engine, history = engine_of(request), request.app.state.histories.of(name)
    answers: list = []

    def score(rows: pd.DataFrame) -> np.ndarray:
        times = rows[history.recipe.time].map(lambda t: t.isoformat())
        columns = {c: rows[c].tolist() for c in rows.columns if c != history.recipe.time}
        columns["event_time"] = times.tolist()
        answer = anyio.from_thread.run(engine.predict, name, Rows(columns, len(rows)))
        answers.append(answer)
        return np.asarray(answer.predictions, dtype=float)

    champion = await engine.areference(name)
    others = model_inputs(history.recipe, list(champion.checker.feature_names))
    if others and not body.future:
        raise InvalidInput(
            f"The champion of {name!r} also takes {', '.join(others)}, which history cannot give.",
            hint="Send their known future values as future: [{time, ...}].",
        )
    future = pd.DataFrame(body.future) if body.future else None
    segments = None if body.segment is None else [body.segment]
    frame = await run_in_threadpool(
        forecast_segments,
        history,
        body.periods,
        score,
        segments=segments,
        freq=body.freq,
        future=future,
    )
    ids = [i for answer in answers for i in answer.prediction_ids]
    versions = [v for answer in answers for v in answer.versions]
    rows = [
        ForecastRow(
            segment=segment,
            event_time=time.isoformat(),
            prediction=value,
            prediction_id=ids[i],
            version=versions[i],
        )
        for i, (segment, time, value) in enumerate(
            zip(frame["segment"], frame[history.recipe.time], frame["prediction"], strict=True)
        )
    ]
    horizon = history.recipe.forecast["horizon"]
    method = f"direct for {horizon} period(s) at a time, recursive beyond"
    return ForecastResponse(model=name, method=method, forecasts=rows)
