"""The same segments on local processes and on a Dask cluster give the same models."""

import importlib.util
import re

import numpy as np
import pytest
from tests.pipeline.conftest import write_project

import loopml
from loopml.errors import MissingExtra
from loopml.pipeline.executors import ExecutorUnavailable


@pytest.fixture(scope="module")
def dask_address():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        # Port 0: two test workers may each start a cluster; a fixed port would collide.
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
    ) as cluster:
        yield "dask://" + cluster.scheduler_address.removeprefix("tcp://")


def coefficients(name: str) -> dict[str, np.ndarray]:
    out = {}
    for segment in loopml.list_segments(name):
        model = loopml.load_model(f"models:/{name}@champion", segment=segment["segment"])
        out[segment["segment"]] = np.append(model.native.coef_, model.native.intercept_)
    return out


def test_local_processes_and_a_dask_cluster_train_identical_models(
    sqlite_ctx, tmp_path, sales, dask_address
):
    chunked = {"max_workers": 2, "chunk_size": 1}
    local = write_project(tmp_path, name="demand-local", execution=chunked)
    loopml.Pipeline.from_file(local).run()
    on_dask = write_project(
        tmp_path, name="demand-dask", execution={**chunked, "executor": dask_address}
    )
    result = loopml.Pipeline.from_file(on_dask).run()
    assert result.count("trained") == 4
    local_models, dask_models = coefficients("demand-local"), coefficients("demand-dask")
    assert local_models.keys() == dask_models.keys() and len(local_models) == 4
    for segment, coef in local_models.items():
        assert np.array_equal(coef, dask_models[segment]), segment
    metrics = {v.segment_key: v.metrics for v in loopml.list_model_versions("demand-local")}
    assert metrics == {v.segment_key: v.metrics for v in loopml.list_model_versions("demand-dask")}


def test_progress_counts_every_segment(sqlite_ctx, tmp_path, sales, dask_address):
    seen = []
    project = write_project(tmp_path, execution={"executor": dask_address, "chunk_size": 1})
    loopml.Pipeline.from_file(project).run(
        on_progress=lambda done, total: seen.append((done, total))
    )
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and len(seen) == 5


def test_a_missing_extra_names_the_pip_install_before_anything_runs(sqlite_ctx, project):
    if importlib.util.find_spec("ray") is not None:
        pytest.skip("ray is installed here")
    with pytest.raises(MissingExtra) as error:
        loopml.Pipeline.from_file(project).run(executor="ray://127.0.0.1:10001")
    assert "pip install 'loopml[ray]'" in str(error.value)
    assert loopml.list_experiments() == []  # checked before the first run was recorded


def test_an_unreachable_dask_scheduler_is_named(sqlite_ctx, project):
    pytest.importorskip("distributed")
    with pytest.raises(
        ExecutorUnavailable, match=re.escape("No Dask scheduler answered at tcp://127.0.0.1:9")
    ):
        loopml.Pipeline.from_file(project).run(executor="dask://127.0.0.1:9")
