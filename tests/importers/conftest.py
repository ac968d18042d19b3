from tests.mlflow_env import mlflow_python  # noqa: F401 (a fixture)
