"""An MLflow scikit-learn model becomes a loopml package only when it loads safely."""

from __future__ import annotations

import json

import pytest
import skops.io
import yaml
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from loopml.importers.mlflow_model import NotConvertible, to_package
from loopml.models import unpack


def mlflow_files(model, serialization_format="skops", signature=None) -> dict[str, bytes]:
    flavor = {"pickled_model": "model.skops", "serialization_format": serialization_format}
    description = {"flavors": {"sklearn": flavor, "python_function": {}}}
    if signature:
        description["signature"] = {"inputs": json.dumps(signature)}
    return {"MLmodel": yaml.safe_dump(description).encode(), "model.skops": skops.io.dumps(model)}


class Custom(LogisticRegression):
    """Not on the allow-list: whoever wrote the file chose what it is."""


def test_a_skops_model_converts_with_its_signature():
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    columns = [{"name": name, "type": "double"} for name in X.columns]
    package = to_package(mlflow_files(model, signature=columns).__getitem__, "run r")
    assert package.flavor == "sklearn"
    assert package.signature.names == list(X.columns)
    assert (unpack(package, trusted=False).predict(X) == model.predict(X)).all()


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (lambda m: mlflow_files(m, "cloudpickle"), "cloudpickle"),
        (lambda m: {"MLmodel": b"flavors: [unclosed"}, "not YAML"),
        (lambda m: {"MLmodel": b"flavors: {xgboost: {}}"}, "xgboost"),
        (lambda m: mlflow_files(Custom(max_iter=1000).fit(*load_iris(return_X_y=True))), "safely"),
    ],
)
def test_what_cannot_load_safely_stays_an_artifact(files, problem):
    model = LogisticRegression(max_iter=1000).fit(*load_iris(return_X_y=True))
    with pytest.raises(NotConvertible, match=problem) as caught:
        to_package(files(model).__getitem__, "run r")
    assert "no servable version was made" in caught.value.message
