"""Every accepted payload format turns into the same rows; bad ones name the field."""

import pytest

from loopml.errors import InvalidInput
from loopml.serving import payloads

EXPECTED = {"price": [1.5, 2.0], "store": ["a", "b"]}


@pytest.mark.parametrize(
    "document",
    [
        {"records": [{"price": 1.5, "store": "a"}, {"price": 2.0, "store": "b"}]},
        {"columns": ["price", "store"], "data": [[1.5, "a"], [2.0, "b"]]},
    ],
)
def test_loopml_formats(document):
    rows = payloads.parse_loopml(document)
    assert rows.columns == EXPECTED and rows.length == 2


@pytest.mark.parametrize(
    "document",
    [
        {"dataframe_split": {"columns": ["price", "store"], "data": [[1.5, "a"], [2.0, "b"]]}},
        {"dataframe_records": [{"price": 1.5, "store": "a"}, {"price": 2.0, "store": "b"}]},
        {"inputs": {"price": [1.5, 2.0], "store": ["a", "b"]}},
        {"inputs": [[1.5, "a"], [2.0, "b"]]},
        {"instances": [{"price": 1.5, "store": "a"}, {"price": 2.0, "store": "b"}]},
    ],
)
def test_mlflow_formats(document):
    rows = payloads.parse_mlflow(document, ["price", "store"])
    assert rows.columns == EXPECTED


@pytest.mark.parametrize(
    "inputs",
    [
        [
            {"name": "price", "shape": [2], "datatype": "FP64", "data": [1.5, 2.0]},
            {"name": "store", "shape": [2, 1], "datatype": "BYTES", "data": [["a"], ["b"]]},
        ],
        [{"name": "x", "shape": [2, 2], "datatype": "BYTES", "data": [[1.5, "a"], [2.0, "b"]]}],
        [{"name": "x", "shape": [2, 2], "datatype": "BYTES", "data": [1.5, "a", 2.0, "b"]}],
    ],
)
def test_open_inference_protocol(inputs):
    assert payloads.parse_v2({"inputs": inputs}, ["price", "store"]).columns == EXPECTED


def test_records_may_differ_in_their_columns():
    rows = payloads.parse_loopml({"records": [{"a": 1}, {"b": 2}]})
    assert rows.columns == {"a": [1, None], "b": [None, 2]}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({}, "body."),
        ({"records": {}}, "body.records"),
        ({"records": []}, "body."),
        ({"records": [1]}, "body.records.0"),
        ({"records": [{"a": [1, 2]}]}, "body.records.0.a"),
        ({"columns": ["a"], "data": [[1, 2]]}, "body.data.0"),
        ({"columns": ["a", "a"], "data": [[1, 2]]}, "body.columns"),
        ({"columns": "a", "data": [[1]]}, "body.columns"),
    ],
)
def test_bad_payloads_name_the_field(document, field):
    with pytest.raises(InvalidInput) as caught:
        payloads.parse_loopml(document)
    assert caught.value.fields[0]["field"].startswith(field)
    assert caught.value.hint


@pytest.mark.parametrize(
    "inputs",
    [
        [{"name": "x", "shape": [3], "datatype": "FP64", "data": [1, 2]}],
        [{"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}],
        [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}],
        [{"shape": [1], "datatype": "FP64", "data": [1]}],
        [{"name": "x", "shape": [1], "datatype": "FP64", "data": [{"a": 1}]}],
    ],
)
def test_bad_tensors_are_refused(inputs):
    with pytest.raises(InvalidInput):
        payloads.parse_v2({"inputs": inputs}, ["price", "store"])


def test_malformed_json_is_a_400():
    with pytest.raises(payloads.MalformedJson) as caught:
        payloads.read_json(b'{"records": [')
    assert caught.value.status_code == 400


def test_too_many_rows_point_to_batch_scoring():
    with pytest.raises(InvalidInput, match="loopml predict"):
        payloads.parse_loopml({"columns": ["a"], "data": [[1]] * (payloads.MAX_ROWS + 1)})
