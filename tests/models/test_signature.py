import numpy as np
import pandas as pd
import pytest

from loopml.errors import InvalidInput
from loopml.models.signature import as_matrix, enforce, infer

EXAMPLE = pd.DataFrame({"price": [1.5, 2.0], "units": [3, 4], "store": ["a", "b"]})
SIGNATURE = infer(EXAMPLE)


def test_signature_is_inferred_with_logical_types():
    assert [(c.name, c.type) for c in SIGNATURE.inputs] == [
        ("price", "float"),
        ("units", "integer"),
        ("store", "string"),
    ]


def test_missing_column_is_named_and_extra_columns_are_dropped():
    with pytest.raises(InvalidInput, match="Missing input column: units"):
        enforce(SIGNATURE, {"price": 1.0, "store": "a"})
    frame = enforce(SIGNATURE, {"store": "a", "units": 2, "price": 1.0, "extra": 9})
    assert list(frame.columns) == ["price", "units", "store"]


def test_only_safe_casts_are_applied():
    frame = enforce(SIGNATURE, {"price": 2, "units": 3, "store": "a"})  # int → float is safe
    assert frame["price"].dtype == np.float64
    assert enforce(SIGNATURE, {"price": 2.0, "units": 3.0, "store": "a"})["units"].dtype == np.int64
    with pytest.raises(InvalidInput, match="'units' holds float values"):
        enforce(SIGNATURE, {"price": 2.0, "units": 3.5, "store": "a"})
    with pytest.raises(InvalidInput, match="'price' holds string values"):
        enforce(SIGNATURE, {"price": "2.0", "units": 3, "store": "a"})


def test_arrays_need_the_right_width():
    numeric = infer(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    assert list(enforce(numeric, np.array([[1.0, 2.0]])).columns) == ["a", "b"]
    with pytest.raises(InvalidInput, match="takes 2"):
        enforce(numeric, np.array([[1.0, 2.0, 3.0]]))


def test_breaking_changes_are_listed():
    newer = infer(EXAMPLE.assign(units=EXAMPLE["units"].astype(str), promo=1))
    assert SIGNATURE.breaking_changes(newer) == [
        "needs new input 'promo'",
        "input 'units' changed from integer to string",
    ]
    assert SIGNATURE.breaking_changes(infer(EXAMPLE.assign(units=[3.0, 4.0]))) == []


NUMERIC = infer(pd.DataFrame({"price": [1.5], "units": [3], "promo": [True]}))


def test_columns_become_a_float_matrix_with_the_checks_of_a_table():
    matrix = as_matrix(NUMERIC, {"promo": [True, False], "units": [3, 4.0], "price": [2, None]})
    np.testing.assert_array_equal(matrix, [[2.0, 3.0, 1.0], [np.nan, 4.0, 0.0]])
    with pytest.raises(InvalidInput, match="'units' holds float values"):
        as_matrix(NUMERIC, {"price": [1.0], "units": [3.5], "promo": [True]})
    with pytest.raises(InvalidInput, match="'price' holds string values"):
        as_matrix(NUMERIC, {"price": ["1.5"], "units": [3], "promo": [True]})
    with pytest.raises(InvalidInput, match="Missing input column: promo"):
        as_matrix(NUMERIC, {"price": [1.0], "units": [3]})
    with pytest.raises(InvalidInput, match="'units' has 2 values"):
        as_matrix(NUMERIC, {"price": [1.0], "units": [3, 4], "promo": [True]})


def test_a_table_becomes_the_same_matrix():
    frame = pd.DataFrame({"units": [3, 4], "price": [2.0, 1.0], "promo": [True, False]})
    np.testing.assert_array_equal(as_matrix(NUMERIC, frame), [[2.0, 3.0, 1.0], [1.0, 4.0, 0.0]])
    assert NUMERIC.numeric and not SIGNATURE.numeric


def test_float_columns_of_plain_numbers_give_the_table_s_matrix():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).data.head(50)
    floats = infer(frame)
    assert floats.floats and not NUMERIC.floats
    columns = {name: frame[name].tolist() for name in reversed(frame.columns)}
    columns["age"] = [int(v * 1000) for v in columns["age"]]  # ints are numbers too
    expected = frame.to_numpy(dtype=np.float64).copy()
    expected[:, 0] = columns["age"]
    matrix = as_matrix(floats, columns)
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.flags.c_contiguous
    # a null, a boolean: the column-by-column checks decide, as before
    with_null = {**columns, "bmi": [None, *columns["bmi"][1:]]}
    assert np.isnan(as_matrix(floats, with_null)[0, 2])
    assert as_matrix(floats, {**columns, "sex": [True] * 50})[0, 1] == 1.0
    with pytest.raises(InvalidInput, match="'bmi' holds string values"):
        as_matrix(floats, {**columns, "bmi": ["0.1", *columns["bmi"][1:]]})
    with pytest.raises(InvalidInput, match="'bmi' has 49 values"):
        as_matrix(floats, {**columns, "bmi": columns["bmi"][1:]})
