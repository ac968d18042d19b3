from tests.mlflow_env import mlflow_python, run_client  # noqa: F401 (fixtures)
