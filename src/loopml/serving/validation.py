"""Checks on the rows of one request, before they join a batch.

Against the model's typed ``Signature``: a missing column or text where the
signature says number is the client's mistake and is refused with a 4xx
naming the field. Against the training data's ``data.Rules``: an out-of-range
number or an unseen category is flagged on the row (``Rules.flag_rows``, and
in the prediction log) and still scored, unless the deployment is strict, in
which case it is refused too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from loopml.data.rules import Rules
from loopml.errors import InvalidInput
from loopml.models.signature import NUMERIC_KINDS, Signature
from loopml.serving.rows import Rows


@dataclass(frozen=True)
class InputChecker:
    signature: Signature | None = None
    rules: Rules | None = None

    @classmethod
    def for_version(
        cls, signature: Signature | None, rules: Rules | Mapping | None
    ) -> InputChecker:
        """The checker of a model version: its signature and its stored rules (a dict)."""
        if isinstance(rules, Mapping):
            rules = Rules.from_dict(rules)
        return cls(signature, rules)

    @cached_property  # read on every request; a version's signature never changes
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.signature.names) if self.signature else ()

    @cached_property
    def numeric(self) -> tuple[str, ...]:
        inputs = self.signature.inputs if self.signature else ()
        return tuple(c.name for c in inputs if c.type in NUMERIC_KINDS)

    def check_columns(self, names) -> None:
        """Refuse a table that lacks a column of the signature."""
        missing = [name for name in self.feature_names if name not in names]
        if missing:
            raise _refuse(
                "records",
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                f"The model takes {', '.join(self.feature_names)}.",
            )

    def check(self, rows: Rows, *, strict: bool = False) -> list[list[str]]:
        """Refuse rows that break the signature; return each row's flags."""
        self.check_columns(rows.columns)
        for name in self.numeric:
            for index, value in enumerate(rows.columns[name]):
                if isinstance(value, str):
                    raise _refuse(
                        f"records.{index}.{name}",
                        f"{value!r} is not a number",
                        f"Send a number for {name!r}.",
                    )
        if self.rules is None:
            return [[] for _ in range(rows.length)]
        flags = self.rules.flag_rows(rows.columns)
        if strict:
            flagged = next(((i, f) for i, f in enumerate(flags) if f), None)
            if flagged:
                index, row_flags = flagged
                raise _refuse(
                    f"records.{index}",
                    f"outside the training data: {', '.join(row_flags)}",
                    "This model is strict: it scores only values seen in training.",
                )
        return flags


def _refuse(field_name: str, problem: str, hint: str) -> InvalidInput:
    error = InvalidInput(f"body.{field_name}: {problem}.", hint=hint)
    error.fields = [{"field": f"body.{field_name}", "problem": problem}]
    return error
