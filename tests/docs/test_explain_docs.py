"""The Python examples in docs/explain.md and docs/fairness.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("page", ["explain.md", "fairness.md"])
def test_examples_run_in_order(sqlite_ctx, page):
    namespace: dict = {}
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOCS / page), "exec"), namespace)
    if page == "explain.md":
        assert set(list(namespace["report"]["importance"])[:2]) == {"bmi", "s5"}
        for page_html in (namespace["html_page"], namespace["card_page"]):
            assert page_html.count("<circle") == 442 and "<svg class='histogram'" in page_html
    else:
        assert namespace["sex"].summary["error_ratio"] >= 0.8
        assert "gate.pass | ✓ fairness: sex: error_ratio = " in namespace["card"]
        assert namespace["outcome"].status == "alert"
        assert "demographic_parity_ratio by sex = 0.666" in namespace["outcome"].message
