"""Batch scoring: a table of any size through the same routing as real-time serving.

Files are read and written in chunks (Parquet row groups or CSV blocks through
pyarrow), so memory stays bounded by ``chunk_rows`` however long the table is;
a chunk is written on a second thread while the next one is read and scored.
Each chunk's rows are routed by ``router.plan`` exactly as the server routes
them: segment champions, the family's fallback, a 404-style error naming an
unknown segment. Canary and shadow are real-time traffic policies and do not
apply here. An ``event_time`` column (the time each row is about) is checked
for a time zone and kept in the output as UTC; it is never a feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loopml.errors import InvalidInput
from loopml.predictions.writer import writer_options
from loopml.serving.pool import ModelPool
from loopml.serving.router import plan
from loopml.serving.rows import Rows
from loopml.serving.scoring import score_arrays
from loopml.serving.source import RegistrySource
from loopml.serving.traffic import Deployment, ServingConfig

Progress = Callable[[int, int | None], None]  # (rows done, rows in total or None)
OUTPUT_COLUMNS = ("prediction", "proba", "version", "segment")


@dataclass
class BatchResult:
    rows: int = 0
    output: str | None = None
    versions: dict[str, int] = field(default_factory=dict)  # segment -> version that scored it


class BatchScorer:
    """Scores DataFrames chunk by chunk for one model; loaded versions are reused."""

    def __init__(self, source: RegistrySource, name: str, deployment: Deployment) -> None:
        self.name = name
        self.deployment = deployment.model_copy(update={"canary_percent": 0, "shadow": False})
        self.pool = ModelPool(source, executor=None, max_rows=1, max_wait=0, miss_ttl=3600)
        self.versions: dict[str, int] = {}

    def score(self, frame):
        """``frame`` with prediction, proba (binary classifiers), version and segment added."""
        import pandas as pd

        from loopml.serving.event_time import EVENT_TIME, event_time_column

        if EVENT_TIME in frame.columns:  # the time each row is about: checked, then kept
            frame = frame.assign(**{EVENT_TIME: event_time_column(frame)})
        fields = self.pool.segment_fields(self.name)
        keys = Rows({f: frame[f].tolist() for f in fields if f in frame.columns}, len(frame))
        routes, _ = plan(self.name, keys, fields, self.deployment, self.pool.get, 0.0)
        n = len(frame)
        predictions: np.ndarray | None = None
        proba = np.full(n, np.nan)
        versions = np.zeros(n, dtype=np.int64)
        segment_codes = np.zeros(n, dtype=np.int32)
        segment_index: dict[str, int] = {}
        for route in routes:
            served = route.served
            served.checker.check_columns(frame.columns)
            whole = len(route.indices) == n
            part = frame if whole else frame.iloc[np.asarray(route.indices)]
            values, positive = score_arrays(served.model, part)
            if predictions is None:
                predictions = np.empty(n, dtype=values.dtype if whole else object)
            target = slice(None) if whole else np.asarray(route.indices)
            predictions[target] = values
            if positive is not None:
                proba[target] = positive
            versions[target] = served.number
            segment_codes[target] = segment_index.setdefault(served.segment, len(segment_index))
            self.versions[served.segment] = served.number
        added = {"prediction": predictions, "proba": proba, "version": versions}
        if np.isnan(proba).all():
            del added["proba"]
        # A categorical column: one string per segment, not one per row.
        added["segment"] = pd.Categorical.from_codes(
            segment_codes, categories=list(segment_index) or [""]
        )
        # Joined, not assigned column by column: each assignment costs a pass over the frame.
        added_frame = pd.DataFrame(added, index=frame.index, copy=False)
        return pd.concat([frame, added_frame], axis=1)


def predict_batch(
    name: str,
    data: Any,
    output: str | Path | None = None,
    *,
    alias: str | None = None,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
    context=None,
):
    """Score a DataFrame (returns it with predictions) or a Parquet/CSV file (writes ``output``).

    >>> loopml.predict_batch("demand", "rows.parquet", "scored.parquet")  # doctest: +SKIP
    """
    from loopml._context import get_context

    context = context or get_context()
    config = ServingConfig.load(context.settings.serving_config)
    deployment = config.for_model(name)
    if alias:
        deployment = deployment.model_copy(update={"alias": alias})
    scorer = BatchScorer(
        RegistrySource(context.store, context.artifacts, context.settings.trusted_model_types),
        name,
        deployment,
    )
    if not isinstance(data, (str, Path)):
        return _score_frame(scorer, data, progress)
    if output is None:
        raise InvalidInput(
            f"Scoring the file {data} needs an output path.",
            hint="Pass output='scored.parquet' (or --output on the command line).",
        )
    return _score_file(scorer, Path(data), Path(output), chunk_rows, progress)


def _score_frame(scorer: BatchScorer, frame, progress: Progress | None):
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    # The frame is in memory already: score it whole (chunks bound the memory of files).
    scored = scorer.score(frame)
    if progress:
        progress(len(frame), len(frame))
    return scored


def _score_file(
    scorer: BatchScorer, source: Path, output: Path, chunk_rows: int, progress: Progress | None
) -> BatchResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches, total = _read_chunks(source, chunk_rows)
    result = BatchResult(output=str(output))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    writer = None
    writing: Future | None = None  # the last chunk's write, while the next one is scored
    try:
        # Leaving the block waits for a running write, so the writer is never closed under one.
        with ThreadPoolExecutor(1, thread_name_prefix="loopml-batch-write") as background:
            for batch in batches:
                scored = scorer.score(batch.to_pandas())
                if writer is None:
                    table = pa.Table.from_pandas(scored, preserve_index=False)
                    options = writer_options(table.schema)
                    writer = pq.ParquetWriter(partial, table.schema, **options)
                else:
                    table = pa.Table.from_pandas(scored, schema=writer.schema, preserve_index=False)
                if writing is not None:
                    writing.result()
                writing = background.submit(writer.write_table, table)
                result.rows += len(scored)
                if progress:
                    progress(result.rows, total)
        if writing is not None:
            writing.result()
    except BaseException:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
        raise
    if writer is None:
        raise InvalidInput(f"{source} has no rows to score.", hint="Check the input file.")
    writer.close()
    partial.replace(output)  # a reader never sees half a file
    result.versions = dict(scorer.versions)
    return result


def _read_chunks(source: Path, chunk_rows: int) -> tuple[Iterator, int | None]:
    if not source.exists():
        raise InvalidInput(f"Input file {source} does not exist.", hint="Check the path.")
    suffix = source.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        file = pq.ParquetFile(source)
        return file.iter_batches(batch_size=chunk_rows), file.metadata.num_rows
    if suffix in {".csv", ".txt"} or source.name.endswith(".csv.gz"):
        from pyarrow import csv

        reader = csv.open_csv(source, read_options=csv.ReadOptions(block_size=32 << 20))
        return iter(reader), None
    raise InvalidInput(
        f"Cannot read {source.name}: loopml predict reads .parquet and .csv files.",
        hint="Convert the table to Parquet or CSV.",
    )


def forecast_batch(
    name: str,
    history,
    periods: int,
    *,
    segment=None,
    freq: str | None = None,
    future=None,
    project: str | Path | None = None,
    context=None,
):
    """Forecast the next ``periods`` of each segment of ``history`` (rows with the project
    file's time, target and segment columns) with the champions of ``name``: a frame of
    segment, time, the features built as training builds them, and ``prediction``.

    >>> loopml.forecast_batch("demand", recent_rows, periods=6)  # doctest: +SKIP
    """
    from loopml._context import get_context
    from loopml.pipeline.project import load_project
    from loopml.serving.forecasting import History, Recipe, forecast_segments

    context = context or get_context()
    spec = load_project(project or context.settings.project_file)
    if spec.name != name:
        raise InvalidInput(
            f"The project file describes {spec.name!r}, not {name!r}.",
            hint="Pass project= the project file that trains this model.",
        )
    recipe = Recipe.from_project(spec)
    memory = History(recipe)
    memory.add(history)
    config = ServingConfig.load(context.settings.serving_config)
    scorer = BatchScorer(
        RegistrySource(context.store, context.artifacts, context.settings.trusted_model_types),
        name,
        config.for_model(name),
    )
    segments = None if segment is None else [segment]
    return forecast_segments(
        memory,
        periods,
        lambda rows: scorer.score(rows)["prediction"],
        segments=segments,
        freq=freq,
        future=future,
    )
