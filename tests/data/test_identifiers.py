"""Columns that name rows: found by what they hold, whatever their size."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

from loopml.data.identifiers import identifier_columns, why_identifier


def test_a_real_tables_measurements_are_kept_and_its_ids_left_out():
    frame = load_diabetes(as_frame=True).frame
    frame.insert(0, "Unnamed: 0", range(len(frame)))
    frame["patient_id"] = [f"p{i:04d}" for i in np.random.default_rng(0).permutation(len(frame))]
    frame["visit"] = np.arange(len(frame)) * 3 + 100
    assert identifier_columns(frame) == {
        "Unnamed: 0": "a row number (unique, in steps of 1)",
        "patient_id": "named like an identifier and unique in every row",
        "visit": "a row number (unique, in steps of 3)",
    }


def test_a_value_repeating_only_after_the_first_rows_is_still_a_repeat():
    codes = [f"c{i}" for i in range(10_000)]
    assert why_identifier("code", pd.Series(codes)) is not None
    assert why_identifier("code", pd.Series([*codes, "c9999"])) is None
    numbers = pd.Series(np.r_[np.random.default_rng(1).permutation(10_000), 17])
    assert why_identifier("order_id", numbers) is None
    assert why_identifier("order_id", numbers.iloc[:-1]) == (
        "named like an identifier and unique in every row"
    )


def test_a_unique_measurement_is_not_an_identifier():
    values = pd.Series(np.random.default_rng(2).normal(size=50_000))
    assert values.is_unique and why_identifier("price", values) is None
    assert why_identifier("price_id", values) == "named like an identifier and unique in every row"
