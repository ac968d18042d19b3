"""Fresh labelled traffic: what the served models saw, with the truth that came later.

One read of the prediction log and the feedback log per model and pass; every
segment's rows come out of that one table.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pyarrow.compute as pc

from loopml.serving.prediction_log import (
    INPUT_PREFIX,
    join_feedback,
    read_feedback,
    read_predictions,
)


def labelled_traffic(log_root: str, model: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Answered (not shadow) predictions of ``model`` in [start, end) that have a label.

    Columns: the features (without their ``input.`` prefix), ``label``, ``prediction``,
    ``time``, ``version``, ``segment``, ``latency_ms``.
    """
    predictions = read_predictions(log_root, model, start, end)
    if predictions.num_rows == 0:
        return pd.DataFrame(
            columns=["label", "prediction", "time", "version", "segment", "latency_ms"]
        )
    predictions = predictions.filter(pc.invert(pc.fill_null(predictions["shadow"], False)))
    joined = join_feedback(predictions, read_feedback(log_root, start, None))
    joined = joined.filter(pc.is_valid(joined["label"]))
    keep = [c for c in joined.column_names if c.startswith(INPUT_PREFIX)]
    keep += ["label", "prediction", "time", "version", "segment", "latency_ms"]
    frame = joined.select(keep).to_pandas()
    return frame.rename(
        columns={c: c[len(INPUT_PREFIX) :] for c in keep if c.startswith(INPUT_PREFIX)}
    )


def features_of(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if c not in {"label", "prediction", "time", "version", "segment", "latency_ms"}
    ]
