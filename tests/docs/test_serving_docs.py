"""The curl examples of docs/serving.md's feedback section run against a real server
and print what the page says they print."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression
from tests.serving.models import FEATURES, churn_rows

import loopml

PAGE = Path(__file__).parents[2] / "docs" / "serving.md"


def section_blocks(title: str) -> list[str]:
    text = PAGE.read_text()
    section = text.split(f"### {title}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"^```bash\n(.*?)^```", section, re.S | re.M)


@pytest.fixture
def churn(ctx):
    rows = churn_rows()
    model = LogisticRegression(max_iter=500).fit(rows[FEATURES], rows["label"])
    version = loopml.log_model(model, "churn", input_example=rows[FEATURES].head(5))
    loopml.set_alias("churn", "champion", version.version)


def test_the_feedback_example_prints_what_the_page_says(churn, live_server):
    (block,) = section_blocks("Feedback")
    script = block.replace("localhost:8000", live_server.removeprefix("http://"))
    expected = json.loads(re.findall(r"^# (\{.*\})$", block, re.M)[-1])
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
