"""The validate step: the dataset's rules, checked before anything trains.

The rules come from the project's rules file, else the rules stored with the
dataset; a dataset without rules gets them inferred from this first version
(and stored when the run records its steps), so later versions are held to it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.data.frames import as_table
from loopml.errors import InvalidInput, NotFound
from loopml.pipeline.spec import ProjectSpec


@dataclass(frozen=True)
class Validation:
    rules: Any  # loopml.data.Rules
    report: Any  # loopml.data.ValidationReport
    origin: str  # "file", "stored" or "inferred"

    @property
    def rules_dict(self) -> dict[str, Any]:
        return self.rules.to_dict()


def validate_data(
    frame: pd.DataFrame, spec: ProjectSpec, dataset: str, root: Path, store
) -> Validation:
    """Rules and report; a table that breaks the rules raises, naming the violations."""
    table = as_table(frame, f"the data of {spec.name!r}")  # once, for inferring and checking
    rules, origin = _rules(table, spec, dataset, root, store)
    # Rules inferred from this very table allow its share of repeated rows by construction:
    # counting them again would hash every row a second time to report nothing.
    checked = replace(rules, max_duplicate_share=None) if origin == "inferred" else rules
    report = checked.validate(table)
    report.raise_for_errors(f"The data of {spec.name!r}")
    return Validation(rules, report, origin)


def _rules(table, spec: ProjectSpec, dataset: str, root: Path, store):
    from loopml.data import service
    from loopml.data.rules import Rules, infer_rules

    if spec.data.rules:
        path = root / spec.data.rules
        if not path.is_file():
            raise NotFound(
                f"data.rules: the rules file {spec.data.rules!r} does not exist.",
                hint="Export the rules with `loopml datasets rules NAME --export FILE`, "
                "or remove data.rules to use the dataset's stored rules.",
            )
        try:
            return Rules.from_yaml(path.read_text()), "file"
        except InvalidInput as error:
            raise InvalidInput(
                f"data.rules ({spec.data.rules}): {error.message}", hint=error.hint
            ) from None
    try:
        return service.get_rules(store, dataset), "stored"
    except NotFound:
        return infer_rules(table, target=spec.target), "inferred"


def dataset_name(spec: ProjectSpec) -> str:
    """The dataset the rows belong to: the registered one, or one named after the project."""
    if spec.data.dataset:
        return spec.data.dataset.split("@", 1)[0]
    return spec.name
