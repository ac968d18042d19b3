"""MLflow's side of the serving benchmark (runs in the mlflow anchor environment).

Fits the same logistic regression on the same rows, saves it as an MLflow
model, starts ``mlflow models serve --env-manager local`` on loopback and
drives it with the shared load generator.

    python mlflow_serving.py WORKDIR TRAIN_PARQUET BODY_FILE LOADGEN PORT REQUESTS
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def main() -> None:
    workdir, train, body, loadgen, port, requests = sys.argv[1:7]
    import mlflow.sklearn
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_parquet(train)
    x, y = frame.drop(columns="label"), frame["label"]
    model = LogisticRegression(max_iter=200).fit(x, y)
    path = Path(workdir) / "mlflow-model"
    mlflow.sklearn.save_model(model, str(path), input_example=x.head(2))
    mlflow_bin = str(Path(sys.executable).parent / "mlflow")
    server = subprocess.Popen(
        [
            mlflow_bin,
            "models",
            "serve",
            "-m",
            str(path),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            port,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        # mlflow starts `uvicorn` from PATH: the one of this environment.
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
    )
    try:
        wait_until_up(int(port))
        latency = drive(loadgen, port, body, clients=1, requests=min(int(requests), 2000))
        throughput = drive(loadgen, port, body, clients=8, requests=int(requests))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(json.dumps({"latency": latency, "throughput": throughput}))


def wait_until_up(port: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("mlflow models serve did not start")


def drive(loadgen: str, port: str, body: str, *, clients: int, requests: int) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            loadgen,
            port,
            "/invocations",
            body,
            "--clients",
            str(clients),
            "--requests",
            str(requests),
            "--seconds",
            "60",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
