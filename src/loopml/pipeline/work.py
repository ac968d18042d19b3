"""What a worker does with a chunk of segments: split, train, evaluate, package.

Pure computation on plain data: a worker (a local process, a Dask or Ray
worker) never touches the store. It returns each segment's packaged model,
metrics and resource usage; the coordinating process records and registers
them. A failing segment becomes a failed result; it never stops its neighbours.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from loopml import metrics
from loopml.pipeline import features as feats
from loopml.pipeline import presets
from loopml.pipeline.inputs import Chunk, ChunkInputs, Inputs, Span
from loopml.pipeline.split import split_positions


@dataclass(frozen=True)
class TrainPlan:
    """Everything a worker needs to know, and nothing it does not: small and picklable."""

    task: str
    target: str
    features: tuple[str, ...]
    time: str | None
    preset: str | None
    estimator: str | None
    params: dict[str, Any]
    split_method: str
    test_size: float
    seed: int
    min_rows: int
    forecast: dict[str, Any] | None
    metrics: tuple[str, ...]
    missing: str = "auto"  # model.missing
    impute: bool = False  # some feature value of the table is missing
    sensitive: tuple[
        str, ...
    ] = ()  # attributes whose groups' fairness is measured on the test rows
    deadline: float | None = None  # epoch seconds; later segments are skipped
    refit: bool = True  # split.refit: the registered model learns the test rows too

    @property
    def model_features(self) -> list[str]:
        extra = feats.forecast_feature_names(self.forecast) if self.forecast else []
        return list(dict.fromkeys([*self.features, *extra]))


@dataclass
class SegmentResult:
    segment: dict[str, Any]
    segment_key: str
    cache_key: str
    status: str  # trained, skipped, failed, cached
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    package: bytes | None = None
    flavor: str | None = None
    signature: Any = None
    train_rows: int = 0
    test_rows: int = 0
    fairness: dict[str, Any] | None = None  # group fairness on the test rows (a FairnessReport)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


def train_chunk(plan: TrainPlan, chunk: Chunk) -> list[SegmentResult]:
    """Train every segment of a chunk, one after the other.

    The estimator's parameters are the same for every segment, so scikit-learn
    checks them on the chunk's first segment only: the checks cost more than
    fitting a small ridge. They never change what a fit computes. For the same
    reason each segment's estimator is a copy of one built for the chunk."""
    import sklearn

    _warm_up(plan)
    try:
        shared = _Shared(plan, chunk.rows)
    except Exception as error:  # an estimator that cannot be built fails every segment
        return [_failed(span, _describe(error)) for span in chunk.spans]
    results = [_train_one(plan, chunk.rows, span, shared) for span in chunk.spans[:1]]
    with sklearn.config_context(skip_parameter_validation=True):
        results += [_train_one(plan, chunk.rows, span, shared) for span in chunk.spans[1:]]
    return results


class _Shared:
    """What the segments of a chunk share: their estimator before it learns, and their
    columns, selected once (a forecast's lags are each segment's own columns)."""

    def __init__(self, plan: TrainPlan, rows: pd.DataFrame) -> None:
        self.model = self.inputs = None
        if not plan.forecast:
            features = rows[plan.model_features]
            self.model = build_model(plan, features)
            self.inputs = ChunkInputs(self.model, features, rows[plan.target])

    def new_model(self) -> Any:
        return copy.deepcopy(self.model)


def _failed(span: Span, reason: str) -> SegmentResult:
    segment, key, cache_key, _, _ = span
    return SegmentResult(segment, key, cache_key, "failed", reason)


def _warm_up(plan: TrainPlan) -> None:
    """Import the estimator's library and the model packer before any segment's clock
    starts: a fresh worker's imports are not the first segment's cost."""
    import skops.io  # noqa: F401

    import loopml.models.flavors.sklearn  # noqa: F401

    with contextlib.suppress(Exception):  # reported per segment, where it belongs
        presets.import_estimator(presets.resolve(plan.preset, plan.estimator, plan.task)[0])


def _train_one(plan: TrainPlan, rows: pd.DataFrame, span: Span, shared: _Shared) -> SegmentResult:
    segment, key, cache_key, start, stop = span
    result = SegmentResult(segment, key, cache_key, "failed")
    if plan.deadline is not None and time.time() > plan.deadline:
        result.status, result.reason = "skipped", "the run's time budget was used up"
        return result
    if stop - start < plan.min_rows:
        result.status = "skipped"
        result.reason = f"{stop - start} rows, fewer than split.min_rows = {plan.min_rows}"
        return result
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        _fit(plan, rows.iloc[start:stop], result, shared, (start, stop))
        result.status = "trained"
    except TooFewRows as short:
        result.status, result.reason = "skipped", str(short)
    except Exception as error:  # any estimator error belongs to this segment alone
        result.reason = _describe(error)
    result.cpu_seconds = time.thread_time() - cpu
    result.wall_seconds = time.perf_counter() - wall
    return result


class TooFewRows(ValueError):
    pass


def _fit(
    plan: TrainPlan,
    rows: pd.DataFrame,
    result: SegmentResult,
    shared: _Shared,
    span: tuple[int, int],
) -> None:
    from loopml.models import pack
    from loopml.monitoring.reference import Reference, encode_reference

    if plan.forecast:
        rows = feats.add_forecast_features(rows, plan.target, plan.time, plan.forecast)
        if len(rows) < plan.min_rows:
            raise TooFewRows(
                f"{len(rows)} rows with a full history of lags, fewer than split.min_rows = "
                f"{plan.min_rows}"
            )
    try:
        train, test = split_positions(
            rows,
            method=plan.split_method,
            test_size=plan.test_size,
            seed=plan.seed,
            time=plan.time,
            backtest_periods=plan.forecast["backtest_periods"] if plan.forecast else None,
        )
    except ValueError as error:
        raise TooFewRows(str(error)) from None
    if plan.forecast:  # the lags are the segment's own columns
        model = build_model(plan, rows[plan.model_features])
        inputs = Inputs.of(model, rows[plan.model_features], rows[plan.target])
    else:
        model, inputs = shared.new_model(), shared.inputs.segment(*span)
    with inputs.checked():
        model.fit(*inputs.rows(train))
        result.metrics = metrics.evaluate(plan.task, list(plan.metrics), model, *inputs.rows(test))
    inputs.name(model)
    result.train_rows, result.test_rows = len(train), len(test)
    if plan.sensitive:  # measured as scored: the fit on `train`, on the test rows
        result.fairness = _fairness(plan, model, rows.iloc[test], plan.model_features)
    if plan.refit:  # scored as trained on `train`; registered knowing every row
        model = build_model(plan, inputs.features) if plan.forecast else shared.new_model()
        with inputs.checked():
            model.fit(*inputs.rows(None))
        inputs.name(model)
    result.signature = _signature(inputs.columns)
    # Each segment's monitor compares its traffic with the segment's own rows, not the table.
    package = pack(model, result.signature, trusted=False)
    # the model's file holds its drift reference: one file per segment, not two
    package = replace(package, reference=encode_reference(Reference(inputs.summary())))
    result.package, result.flavor = package.to_bytes(), package.flavor


def _fairness(plan: TrainPlan, model, test: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Group fairness on the test rows, which keep the sensitive columns the model never saw."""
    from loopml.explain.fairness import fairness_of_predictions

    classes = getattr(model, "classes_", None) if plan.task == "classification" else None
    groups = {name: test[name] for name in plan.sensitive}
    report = fairness_of_predictions(
        test[plan.target], model.predict(test[columns]), groups, classes, set(columns)
    )
    return report.to_dict()


@functools.lru_cache(maxsize=64)
def _signature(columns: tuple) -> Any:
    """The signature of a segment's inputs; segments of one table share their dtypes."""
    from loopml.models.signature import of_dtypes

    return of_dtypes(columns)


def build_model(plan: TrainPlan, example: pd.DataFrame):
    """The estimator, behind a one-hot encoder when some features are text, and an
    imputer of numbers when the table has missing values the estimator cannot take."""
    estimator = presets.build(plan.preset, plan.estimator, plan.params, plan.task, plan.seed)
    text = [c for c, dtype in example.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    strategy = _imputation(plan, estimator)
    if not text and strategy is None:
        return estimator
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    parts = []
    if text:  # a missing text value is a category of its own
        parts.append(("text", OneHotEncoder(handle_unknown="ignore", sparse_output=False), text))
    if strategy is not None:
        from sklearn.impute import SimpleImputer

        numbers = [c for c in example.columns if c not in text]
        # a column with no value in this segment is kept (filled with 0), so every
        # segment's model takes the same columns
        imputer = SimpleImputer(strategy=strategy, add_indicator=True, keep_empty_features=True)
        parts.append(("numbers", imputer, numbers))
    return Pipeline(
        [("encode", ColumnTransformer(parts, remainder="passthrough")), ("model", estimator)]
    )


def _imputation(plan: TrainPlan, estimator) -> str | None:
    """The SimpleImputer strategy for numbers, or None to leave missing values be."""
    if not plan.impute or plan.missing in ("keep", "refuse"):
        return None
    if plan.missing != "auto":
        return plan.missing
    return None if _takes_missing_values(estimator) else "median"


def _takes_missing_values(estimator) -> bool:
    from sklearn.utils import get_tags

    try:
        return bool(get_tags(estimator).input_tags.allow_nan)
    except (AttributeError, TypeError, ValueError):  # not a scikit-learn style estimator
        return False


def _describe(error: Exception) -> str:
    """The error and where in the estimator it happened, short enough for a summary."""
    last = traceback.extract_tb(error.__traceback__)[-1:] or None
    where = f" (in {last[0].name})" if last else ""
    return f"{type(error).__name__}: {error}{where}"
