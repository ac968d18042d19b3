from tests.mlflow_env import loopml_server, mlflow_python, run_client  # noqa: F401 (fixtures)
