"""MLflow's wire conventions, checked over HTTP without MLflow: what its client relies on.

Runs on SQLite and PostgreSQL; the unmodified client's own test is test_client.py.
"""

from __future__ import annotations

import math

import pytest

import loopml
from loopml.api.mlflow.runs import translate_filter

API = "/api/2.0/mlflow"


def _run(client, experiment_id="0", **fields) -> str:
    body = {"experiment_id": experiment_id, "start_time": 1_700_000_000_000, **fields}
    response = client.post(f"{API}/runs/create", json=body)
    assert response.status_code == 200, response.text
    return response.json()["run"]["info"]["run_id"]


def test_experiment_zero_exists_from_the_start(client):
    answer = client.get(f"{API}/experiments/get", params={"experiment_id": "0"}).json()
    assert answer["experiment"]["name"] == "Default"
    assert answer["experiment"]["artifact_location"] == "mlflow-artifacts:/0"


def test_error_codes_and_statuses_are_mlflows(client):
    missing = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert client.post(f"{API}/experiments/create", json={"name": "e"}).status_code == 200
    again = client.post(f"{API}/experiments/create", json={"name": "e"})
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    run_id = _run(client)
    client.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "1"})
    changed = client.post(
        f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "2"}
    )
    assert changed.status_code == 400 and changed.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown_run = client.post(
        f"{API}/runs/log-metric", json={"run_id": "f" * 32, "key": "m", "value": 1}
    )
    assert unknown_run.status_code == 404


def test_client_mistakes_are_400_never_500(client):
    for response in (
        client.post(
            f"{API}/runs/log-batch",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ),
        client.post(
            f"{API}/runs/log-batch",
            json={"run_id": "x", "metrics": [{"key": "m", "value": "high"}]},
        ),
        client.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": "metrics.m <"}),
        client.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "page_token": "x"}),
        client.put("/api/2.0/mlflow-artifacts/artifacts/0/../etc/passwd", content=b"x"),
        client.post(f"{API}/runs/create", json={"experiment_id": "0", "run_name": "n" * 300}),
        client.post(f"{API}/experiments/create", json={"name": "e" * 240}),
        client.post(
            f"{API}/runs/log-metric",
            json={"run_id": "f" * 32, "key": "m", "value": 1, "step": 2**70},
        ),
        client.post(
            f"{API}/runs/log-metric", json={"run_id": "f" * 32, "key": "k" * 300, "value": 1}
        ),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_what_loopml_does_not_do_names_its_equivalent(client):
    for method, path in (
        ("post", "runs/delete"),
        ("post", "model-versions/transition-stage"),
        ("get", "traces/batchGet"),
        ("post", "experiments/delete"),
    ):
        response = getattr(client, method)(f"{API}/{path}")
        assert response.status_code == 501
        body = response.json()
        assert body["error_code"] == "NOT_IMPLEMENTED" and "Use " in body["message"]


def test_metrics_round_trip_with_nan_steps_and_milliseconds(client):
    run_id = _run(client, tags=[{"key": "mlflow.runName", "value": "wire"}])
    metrics = [
        {"key": "loss", "value": v, "timestamp": 1_700_000_000_000 + i, "step": i}
        for i, v in enumerate([0.5, "NaN", 0.25])
    ]
    assert (
        client.post(
            f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}
        ).status_code
        == 200
    )
    history = client.get(
        f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}
    )
    points = history.json()["metrics"]
    assert [(p["step"], p["timestamp"]) for p in points] == [
        (0, 1_700_000_000_000),
        (1, 1_700_000_000_001),
        (2, 1_700_000_000_002),
    ]
    assert points[1]["value"] == "NaN" and points[2]["value"] == 0.25
    run = loopml.get_run(run_id)  # ordinary loopml data
    assert run.name == "wire" and run.experiment == "default"
    assert math.isnan(loopml.get_metric_history(run_id, "loss")[1].value)


def test_search_pages_through_runs_in_order(client):
    ids = [_run(client) for _ in range(5)]
    for index, run_id in enumerate(ids):
        client.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "m", "value": index})
    seen, token = [], None
    while True:
        body = {
            "experiment_ids": ["0"],
            "max_results": 2,
            "order_by": ["metrics.m DESC"],
            "filter": "attributes.status = 'RUNNING'",
            **({"page_token": token} if token else {}),
        }
        answer = client.post(f"{API}/runs/search", json=body).json()
        seen += [r["info"]["run_id"] for r in answer["runs"]]
        token = answer.get("next_page_token")
        if not token:
            break
    assert seen == ids[::-1]


def test_artifacts_are_the_runs_own(client):
    run_id = _run(client)
    path = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/reports/a.txt"
    assert client.put(path, content=b"hello").status_code == 200
    assert client.get(path).content == b"hello"
    listing = client.get(
        "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"0/{run_id}/artifacts"}
    )
    assert listing.json()["files"] == [{"path": "reports", "is_dir": True}]
    assert loopml.load_artifact(run_id, "reports/a.txt") == b"hello"


@pytest.mark.parametrize(
    ("mlflow", "loopml_filter"),
    [
        ("attributes.status = 'FINISHED'", "attributes.status = 'finished'"),
        ("status IN ('FAILED', 'KILLED')", "status IN ('failed', 'killed')"),
        ("tags.\"mlflow.runName\" = 'x'", "tags.`mlflow.runName` = 'x'"),
        ("attributes.run_name LIKE 'a%' and metrics.MAE < 1", "name LIKE 'a%' and metrics.MAE < 1"),
        ("attributes.start_time > 0", "attributes.start_time > '1970-01-01T00:00:00+00:00'"),
    ],
)
def test_mlflow_filters_become_loopml_filters(mlflow, loopml_filter):
    assert translate_filter(mlflow) == loopml_filter


def test_runs_carry_each_metrics_latest_step_and_time(client):
    """get and search answer the latest point of each metric as MLflow picks it: the highest
    step, and of equal steps the latest timestamp, each with its own step and time."""
    run_id = _run(client)
    points = [
        (0.9, 5, 1_700_000_000_000),
        (0.7, 9, 1_700_000_000_500),
        (0.1, 3, 1_700_000_009_000),
        (0.6, 9, 1_700_000_000_100),
    ]
    metrics = [{"key": "loss", "value": v, "step": s, "timestamp": t} for v, s, t in points]
    client.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics[:2]})
    client.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics[2:]})
    client.post(
        f"{API}/runs/log-metric",
        json={
            "run_id": run_id,
            "key": "acc",
            "value": 0.8,
            "timestamp": 1_700_000_001_234,
            "step": 4,
        },
    )
    want = {"loss": (0.7, 9, 1_700_000_000_500), "acc": (0.8, 4, 1_700_000_001_234)}
    got = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    search = client.post(f"{API}/runs/search", json={"experiment_ids": ["0"]}).json()["runs"]
    for run in (got, next(r for r in search if r["info"]["run_id"] == run_id)):
        found = {m["key"]: (m["value"], m["step"], m["timestamp"]) for m in run["data"]["metrics"]}
        assert found == want
    assert loopml.get_run(run_id).latest_metrics["loss"].step == 9


def test_search_answers_every_run_as_get_does(client, ctx):
    """A search page is built from rows, a get from the run: both answer the same JSON,
    for runs with params, tags, NaN and dataset inputs, and on pages larger than one
    query's share of ids (every run of a 1,201-run page keeps its tags and metrics)."""
    from loopml.tracking import environment, service
    from loopml.tracking.entities import RunStatus
    from loopml.tracking.fluent import DEFAULT_EXPERIMENT

    rich = _run(client, tags=[{"key": "team", "value": "ops"}], run_name="rich")
    batch = {
        "run_id": rich,
        "params": [{"key": "alpha", "value": "0.1"}],
        "metrics": [{"key": "loss", "value": "NaN", "timestamp": 1_700_000_000_000, "step": 2}],
    }
    assert client.post(f"{API}/runs/log-batch", json=batch).status_code == 200
    dataset = {
        "dataset": {"name": "diabetes", "digest": "abc", "source_type": "code", "source": "{}"},
        "tags": [],
    }
    body = {"run_id": rich, "datasets": [dataset]}
    assert client.post(f"{API}/runs/log-inputs", json=body).status_code == 200
    bulk = service.create_runs(
        ctx.store,
        project=ctx.settings.project,
        experiment=DEFAULT_EXPERIMENT,
        runs=[(f"b{i}", {"group": str(i % 3)}) for i in range(1200)],
        parent_run_id=None,
        environment=environment.capture(),
        actor="tester",
    )
    service.end_runs(
        ctx.store,
        [
            (run_id, RunStatus.FINISHED, _usage(), None, [("score", i / 10, 0, 1.5)])
            for i, run_id in enumerate(bulk)
        ],
    )
    page = client.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "max_results": 1201})
    runs = {r["info"]["run_id"]: r for r in page.json()["runs"]}
    assert set(runs) == {rich, *bulk} and "next_page_token" not in page.json()
    for run_id in (rich, bulk[0], bulk[777], bulk[-1]):
        got = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
        assert _unordered(runs[run_id]) == _unordered(got)
    assert runs[rich]["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "diabetes"
    assert runs[rich]["data"]["metrics"] == [
        {"key": "loss", "value": "NaN", "timestamp": 1_700_000_000_000, "step": 2}
    ]
    assert "inputs" not in runs[bulk[0]]  # as protobuf's JSON: no empty messages
    assert all(len(runs[b]["data"]["tags"]) == 2 and runs[b]["data"]["metrics"] for b in bulk)


def _unordered(run: dict) -> dict:
    """A run's JSON with its tags, params and metrics sorted by key (MLflow gives no order)."""
    data = {k: sorted(v, key=lambda item: item["key"]) for k, v in run["data"].items()}
    return {**run, "data": data}


def _usage():
    from loopml.tracking.resources import ResourceUsage

    return ResourceUsage(1.0, 0.5, 0)


def test_a_batch_with_one_bad_point_is_refused_whole_and_the_good_batches_all_land(client):
    """A batch is one transaction: a bad point gets MLflow's INVALID_PARAMETER_VALUE and
    none of its batch is stored, every time it is sent, while the batches before and after
    it land in full (with each key's latest point)."""
    run_id = _run(client)

    def batch(step: int, bad: dict | None = None) -> dict:
        metrics = [
            {"key": f"m{k}", "value": k + step / 10, "timestamp": 1_700_000_000_000, "step": step}
            for k in range(50)
        ]
        metrics[25] = {**metrics[25], **(bad or {})}
        return {"run_id": run_id, "metrics": metrics}

    assert client.post(f"{API}/runs/log-batch", json=batch(0)).status_code == 200
    for bad in (
        {"key": "tab\tkey"},
        {"key": "tab\tkey"},  # refused again: only names that pass are remembered
        {"key": ""},
        {"step": 2**63},
        {"value": "high"},
        {"timestamp": "soon"},
    ):
        refused = client.post(f"{API}/runs/log-batch", json=batch(1, bad))
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.post(f"{API}/runs/log-batch", json=batch(2)).status_code == 200
    for key in ("m0", "m25", "m49"):
        history = client.get(
            f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": key}
        ).json()["metrics"]
        assert [p["step"] for p in history] == [0, 2]
    run = loopml.get_run(run_id)
    assert set(run.metrics) == {f"m{k}" for k in range(50)}
    assert run.latest_metrics["m25"].step == 2 and run.metrics["m25"] == 25.2
    assert "tab\tkey" not in run.metrics
