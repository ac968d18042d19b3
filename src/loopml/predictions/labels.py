"""Predictions with the labels that came later.

Labels arrive late and partially: ``join_feedback`` attaches the newest label
per prediction id and leaves the others null, and ``read_labelled`` reads a
window of predictions with every label received since the window began.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from loopml.predictions.reader import read_feedback, read_predictions
from loopml.predictions.schema import TIME_TYPE, attribute_column_name
from loopml.predictions.schema import attributes as schema_attributes


def read_labelled(
    root: str, model: str, start: datetime, end: datetime, *, served_only: bool = False
) -> pa.Table:
    """Predictions of ``model`` in [start, end) with ``label`` and ``label_time`` joined.

    Labels come after their predictions, so every label received since ``start``
    counts. ``served_only`` leaves out shadow predictions, which no client saw.
    """
    table = read_predictions(root, model, start, end)
    if served_only and table.num_rows:
        table = table.filter(pc.invert(pc.fill_null(table["shadow"], False)))
    return join_feedback(table, read_feedback(root, start))


def join_feedback(predictions: pa.Table, feedback: pa.Table) -> pa.Table:
    """Predictions with ``label`` and ``label_time`` (null where no label came yet), and
    the attributes sent with the feedback (``attribute.<name>``).

    A prediction labelled twice keeps its newest label (and newest value of each
    attribute); labels of predictions
    outside ``predictions`` are ignored.
    """
    if feedback.num_rows == 0:
        rows = predictions.num_rows
        return predictions.append_column("label", pa.nulls(rows, pa.float64())).append_column(
            "label_time", pa.nulls(rows, TIME_TYPE)
        )
    attributes = [attribute_column_name(a) for a in schema_attributes(feedback)]
    newest = (
        feedback.sort_by([("prediction_id", "ascending"), ("time", "ascending")])
        .group_by("prediction_id", use_threads=False)
        .aggregate([("label", "last"), ("time", "last"), *((a, "last") for a in attributes)])
        .rename_columns(["prediction_id", "label", "label_time", *attributes])
    )
    # Join the ids only (list columns cannot ride through an Arrow join), then attach.
    ids = pa.table(
        {
            "prediction_id": predictions["prediction_id"],
            "__row": pa.array(range(predictions.num_rows), pa.int64()),
        }
    )
    joined = ids.join(newest, keys="prediction_id", join_type="left outer", use_threads=False)
    joined = joined.sort_by("__row")
    for name in ("label", "label_time", *attributes):
        predictions = predictions.append_column(name, joined[name])
    return predictions
