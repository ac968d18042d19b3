"""Fresh labelled traffic: what the served models saw, with the truth that came later.

One read of the prediction log and the feedback log per model and pass; every
segment's rows come out of that one table.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from loopml.predictions.labels import read_labelled
from loopml.predictions.schema import inputs

COLUMNS = ["label", "prediction", "time", "event_time", "version", "segment", "latency_ms"]


def labelled_traffic(log_root: str, model: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Answered (not shadow) predictions of ``model`` in [start, end) that have a label.

    Columns: the features under their own names, then ``COLUMNS``.
    """
    joined = read_labelled(log_root, model, start, end, served_only=True)
    if joined.num_rows == 0:
        return pd.DataFrame(columns=COLUMNS)
    joined = joined.filter(pc.is_valid(joined["label"]))
    columns = inputs(joined) | {name: joined[name] for name in COLUMNS}
    return pa.table(columns).to_pandas()


def features_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in COLUMNS]
