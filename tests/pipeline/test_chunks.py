"""Segments as ranges of one sorted table, and the chunks a run sends to its workers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from loopml.pipeline.fingerprint import row_hashes
from loopml.pipeline.inputs import Chunk
from loopml.pipeline.segments import split_segments

COLUMNS = ["bmi", "bp", "s5", "target"]


@pytest.fixture(scope="module")
def segments():
    """The diabetes rows by age band and sex: 10 segments of 15 to 69 rows."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["band"] = pd.cut(frame["age"], [0, 30, 40, 50, 60, 100], labels=False)
    return frame, split_segments(frame, ["band", "sex"], row_hashes(frame), keep=COLUMNS)


def test_each_segment_holds_its_own_rows(segments):
    frame, found = segments
    hashes = row_hashes(frame)
    assert len(found) == 10
    assert sum(s.size for s in found) == len(frame)
    for segment in found:
        band, sex = segment.values["band"], segment.values["sex"]
        mine = frame[(frame["band"] == band) & (frame["sex"] == sex)]
        pd.testing.assert_frame_equal(segment.rows, mine[COLUMNS])
        assert segment.size == len(mine) == len(segment.row_hashes)
        np.testing.assert_array_equal(segment.row_hashes, hashes[mine.index])


@pytest.mark.parametrize("chosen", [range(10), range(3, 7), [0, 2, 3, 9], [5]])
def test_a_chunk_spans_the_rows_of_each_of_its_segments(segments, chosen):
    """Consecutive segments travel as one slice of the sorted table; others (cached ones
    left out between them) are put together; either way each span is its segment's rows."""
    _, found = segments
    part = [found[i] for i in chosen]
    keys = {s.key: f"cache-{s.key}" for s in part}
    chunk = Chunk.of(part, keys, ["target", "bmi", "bp"])
    assert list(chunk.rows.columns) == ["target", "bmi", "bp"]
    assert len(chunk.rows) == sum(s.size for s in part)
    for segment, (values, key, cache_key, start, stop) in zip(part, chunk.spans, strict=True):
        assert (values, key, cache_key) == (segment.values, segment.key, keys[segment.key])
        pd.testing.assert_frame_equal(
            chunk.rows.iloc[start:stop], segment.rows[["target", "bmi", "bp"]]
        )
