"""Every project-file setting is documented, and the pipelines page's example runs."""

import re
from pathlib import Path

import pytest

from loopml.pipeline.spec import ProjectSpec

DOCS = Path(__file__).parent.parent.parent / "docs"


def settings() -> list[str]:
    names = list(ProjectSpec.model_fields)
    for section, field in ProjectSpec.model_fields.items():
        fields = getattr(field.annotation, "model_fields", None)
        if fields and section not in ("monitoring", "policies"):
            names += [f"{section}.{name}" for name in fields]
    return names


@pytest.mark.parametrize("setting", settings())
def test_every_setting_of_the_project_file_is_documented(setting):
    assert f"| `{setting}` |" in (DOCS / "project-file.md").read_text(), (
        f"document {setting} in docs/project-file.md"
    )


def test_the_python_example_of_the_pipelines_page_runs(sqlite_ctx):
    blocks = re.findall(r"^```python\n(.*?)^```", (DOCS / "pipelines.md").read_text(), re.S | re.M)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/pipelines.md", "exec"), namespace)
