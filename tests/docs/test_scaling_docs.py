"""docs/scaling.md: its execution settings are valid project-file settings, and the
settings and metrics it names exist."""

import re
from pathlib import Path

import yaml

from loopml.config import Settings
from loopml.pipeline.spec import ProjectSpec

PAGE = (Path(__file__).parents[2] / "docs" / "scaling.md").read_text()


def test_the_execution_example_is_a_valid_project_setting():
    (block,) = re.findall(r"^```yaml\n(.*?)^```", PAGE, re.S | re.M)
    project = {
        "name": "demand",
        "data": {"path": "sales.csv"},
        "target": "units",
        "segment_by": ["store"],
        **yaml.safe_load(block),
    }
    spec = ProjectSpec.model_validate(project)
    assert spec.execution.executor == "dask://10.0.0.5:8786"
    assert spec.execution.max_workers == 32


def test_the_settings_and_metrics_it_names_exist():
    for variable in re.findall(r"`LOOPML_([A-Z_]+)`", PAGE):
        assert variable.lower() in Settings.model_fields, variable
    from loopml.serving.metrics import ServingMetrics

    metrics = vars(ServingMetrics())
    text = str([m.describe() for name, m in metrics.items() if not name.startswith("_")])
    for metric in (
        "loopml_models_loaded",
        "loopml_model_evictions",
        "loopml_server_resident_bytes",
    ):
        assert metric in PAGE and metric in text, metric
