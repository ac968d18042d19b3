"""Custom steps: plain typed functions from a table to a table.

    def add_price_index(data: pd.DataFrame) -> pd.DataFrame:
        return data.assign(price_index=data["price"] / data["price"].mean())

    loopml.Pipeline.from_file("loopml.yaml", steps=[add_price_index]).run()

They run after validation, on the whole table, in the order given. Each is a
tracked run, cached by the hash of its input rows and its source code.
"""

from __future__ import annotations

import hashlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from loopml.errors import InvalidInput

StepFunction = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Step:
    function: StepFunction
    name: str
    code: str  # sha256 of the source: a changed function recomputes

    def __call__(self, data: pd.DataFrame) -> pd.DataFrame:
        out = self.function(data)
        if not isinstance(out, pd.DataFrame):
            raise InvalidInput(
                f"Step {self.name!r} returned a {type(out).__name__}, not a DataFrame.",
                hint="Return the changed table.",
            )
        return out


def as_step(function: StepFunction | Step) -> Step:
    """Check that ``function`` takes a DataFrame and returns one, as its type hints say."""
    if isinstance(function, Step):
        return function
    name = getattr(function, "__name__", type(function).__name__)
    try:
        hints = typing.get_type_hints(function)
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError, NameError):
        hints, parameters = {}, []
    required = [p for p in parameters if p.default is inspect.Parameter.empty]
    if (
        len(required) != 1
        or hints.get(required[0].name) is not pd.DataFrame
        or hints.get("return") is not pd.DataFrame
    ):
        raise InvalidInput(
            f"Step {name!r} must be a typed function from a DataFrame to a DataFrame.",
            hint=f"Write it as: def {name}(data: pd.DataFrame) -> pd.DataFrame.",
        )
    return Step(function, name, _source_digest(function))


def _source_digest(function: Callable) -> str:
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):  # defined in a REPL: its name and bytecode stand in
        code = getattr(function, "__code__", None)
        source = f"{function.__module__}.{function.__qualname__}:{code.co_code if code else ''}"
    return hashlib.sha256(source.encode()).hexdigest()
