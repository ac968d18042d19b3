"""A training script as MLflow users write it, run by the unmodified MLflow client.

Run with the MLflow environment's Python and MLFLOW_TRACKING_URI pointing at a
loopml server. It uses a dataset shipped inside scikit-learn (diabetes) and
prints, on its last line, one JSON object with what the client saw, which the
test compares with what loopml stored.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
import numpy as np
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split


def main() -> dict:
    seen: dict = {}
    client = MlflowClient()
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

    experiment = mlflow.set_experiment("diabetes")
    seen["experiment_id"] = experiment.experiment_id
    seen["default_experiment"] = client.get_experiment("0").name

    with mlflow.start_run(run_name="ridge-sweep") as parent:
        seen["parent"] = parent.info.run_id
        mlflow.set_tags({"team": "forecasting", "stage": "sweep"})
        for alpha in (0.1, 1.0):
            with mlflow.start_run(run_name=f"ridge-{alpha}", nested=True) as child:
                model = Ridge(alpha=alpha).fit(X_train, y_train)
                mae = mean_absolute_error(y_test, model.predict(X_test))
                mlflow.log_param("alpha", alpha)
                mlflow.log_params({"solver": "auto", "features": X.shape[1]})
                mlflow.log_metric("mae", float(mae))
                for step in range(5):
                    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
                mlflow.log_metrics({"r2": float(model.score(X_test, y_test)), "n": len(X_test)})
                mlflow.set_tag("alpha_tag", str(alpha))
                seen.setdefault("children", {})[child.info.run_id] = {"alpha": alpha, "mae": mae}
        seen["changed_param"] = _error_code(
            lambda: client.log_param(next(iter(seen["children"])), "alpha", "99")
        )

    with mlflow.start_run(run_name="ridge-final") as run:
        seen["final"] = run.info.run_id
        model = Ridge(alpha=0.5).fit(X_train, y_train)
        mlflow.log_param("alpha", 0.5)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("batch", float(i), 1_700_000_000_000 + i, i) for i in range(300)],
        )
        for i in range(50):
            mlflow.log_metric("async", float(i), step=i, synchronous=False)
        mlflow.flush_async_logging()
        with tempfile.TemporaryDirectory() as folder:
            notes = Path(folder, "notes.txt")
            notes.write_text("trained on diabetes\n")
            mlflow.log_artifact(str(notes))
            sub = Path(folder, "plots")
            sub.mkdir()
            (sub / "a.txt").write_text("a")
            (sub / "b.txt").write_text("b")
            mlflow.log_artifacts(str(sub), artifact_path="extra")
        mlflow.log_dict({"columns": list(X.columns)}, "schema.json")
        figure, axes = plt.subplots()
        axes.plot(y_test.to_numpy()[:20])
        mlflow.log_figure(figure, "plots/test.png")
        dataset = mlflow.data.from_pandas(X_train.assign(target=y_train), name="diabetes-train")
        mlflow.log_input(dataset, context="training")
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="diabetes-ridge",
            pip_requirements=["scikit-learn"],  # no requirement inference: a slow subprocess
        )
        seen["model_id"] = info.model_id
        seen["predictions"] = model.predict(X_test.iloc[:5]).tolist()
        seen["pickled"] = _error_code(
            lambda: mlflow.sklearn.log_model(
                model,
                name="pickled",
                serialization_format="cloudpickle",
                registered_model_name="pickled",
                pip_requirements=["scikit-learn"],
            )
        )
    client.set_registered_model_alias("diabetes-ridge", "champion", "1")
    seen["alias_version"] = client.get_model_version_by_alias("diabetes-ridge", "champion").version
    loaded = mlflow.sklearn.load_model("models:/diabetes-ridge@champion")
    seen["loaded_predictions"] = loaded.predict(X_test.iloc[:5]).tolist()

    finished = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="attributes.status = 'FINISHED' and metrics.mae < 100",
        order_by=["metrics.mae ASC"],
    )
    seen["search"] = finished["run_id"].tolist()
    seen["search_params"] = finished["params.alpha"].tolist()
    history = client.get_metric_history(seen["final"], "batch")
    seen["history"] = [[m.step, m.value, m.timestamp] for m in history[:3]] + [len(history)]
    seen["async_count"] = len(client.get_metric_history(seen["final"], "async"))
    with tempfile.TemporaryDirectory() as folder:
        local = mlflow.artifacts.download_artifacts(run_id=seen["final"], dst_path=folder)
        seen["downloaded"] = sorted(
            p.relative_to(local).as_posix() for p in Path(local).rglob("*") if p.is_file()
        )
        seen["notes"] = Path(local, "notes.txt").read_text()
    got = client.get_run(seen["final"])
    seen["inputs"] = [d.dataset.name for d in got.inputs.dataset_inputs]
    seen["missing_run"] = _error_code(lambda: client.get_run("0" * 32))
    seen["delete_run"] = _error_code(lambda: client.delete_run(seen["final"]))
    seen["numbers_match"] = bool(np.allclose(seen["predictions"], seen["loaded_predictions"]))
    return seen


def _error_code(call) -> str | None:
    try:
        call()
    except MlflowException as error:
        return error.error_code
    return None


if __name__ == "__main__":
    print(json.dumps(main(), default=str), file=sys.stdout)
