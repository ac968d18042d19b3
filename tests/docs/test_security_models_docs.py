"""The example in docs/security-models.md runs as written, and the page names what the code trusts."""

from __future__ import annotations

import re
from pathlib import Path

from loopml.models.trust import allowed_types

DOC = Path(__file__).parents[2] / "docs" / "security-models.md"


def test_the_example_runs(sqlite_ctx):
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        exec(compile(block, str(DOC), "exec"), namespace)
    assert "numpy.nan_to_num" in namespace["refusal"]


def test_the_classes_the_page_names_are_on_the_list_and_the_dangers_are_not():
    text = DOC.read_text()
    for name in ("sklearn.tree._tree.Tree", "lightgbm.basic.Booster"):
        assert name in allowed_types()
    assert "`LGBMRegressor`" in text and "`TreePredictor`" in text
    for danger in ("builtins.exec", "os.system", "subprocess.Popen"):
        assert danger in text and danger not in allowed_types()
