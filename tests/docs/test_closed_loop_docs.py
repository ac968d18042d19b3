"""The numbers in docs/closed-loop.md are computed, not typed: its examples run as written."""

import re
from pathlib import Path

import yaml

import loopml
from loopml.pipeline.policy import PolicySpec

DOC = Path(__file__).parents[2] / "docs" / "closed-loop.md"


def test_the_examples_run_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPML_HOME", str(tmp_path / "home"))
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert len(blocks) >= 2
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        loopml.configure(home=tmp_path / "home")
    assert namespace["report"].started == []  # nothing is served yet: nothing to retrain


def test_the_documented_policy_is_valid_and_names_every_setting():
    [block] = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), re.S | re.M)
    [policy] = yaml.safe_load(block)["policies"]
    PolicySpec.model_validate(policy)
    assert set(policy) == set(PolicySpec.model_fields)
