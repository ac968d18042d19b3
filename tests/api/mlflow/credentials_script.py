"""MLflow's client signing in to a loopml server that requires it, as teams configure it.

Usage (MLflow's Python, MLFLOW_TRACKING_URI naming the server): credentials_script.py
VIEWER_TOKEN OPERATOR_PASSWORD. Prints,
on its last line, one JSON object with what the client saw.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def signed_in(**variables: str) -> None:
    """MLflow's client reads its credentials from these variables on every request."""
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ.pop(name, None)
    os.environ.update({f"MLFLOW_TRACKING_{k.upper()}": v for k, v in variables.items()})


def error_code(call) -> str | None:
    try:
        call()
    except MlflowException as error:
        return error.error_code
    return None


def main(viewer_token: str, operator_password: str) -> dict:
    client, seen = MlflowClient(), {}
    signed_in()
    seen["anonymous"] = error_code(lambda: client.get_experiment("0"))
    signed_in(token=viewer_token)
    seen["viewer_reads"] = client.get_experiment("0").name
    seen["viewer_logs"] = error_code(lambda: client.create_run("0"))
    signed_in(username="operator", password=operator_password)
    run = client.create_run("0", tags={"mlflow.user": "someone-else"})
    client.log_metric(run.info.run_id, "loss", 0.25, step=3)
    client.set_terminated(run.info.run_id)
    seen["run_id"] = run.info.run_id
    seen["run_user"] = client.get_run(run.info.run_id).info.user_id
    signed_in(username="operator", password="not the password")
    seen["wrong_password"] = error_code(lambda: client.get_run(run.info.run_id))
    return seen


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3])))
