"""The artifact store on an S3-compatible server: moto's server mode, started as a real
process on loopback, and loopml's s3:// backend (s3fs) talking to it over HTTP.

moto and s3fs (through botocore) need an older python-dateutil than loopml's environment
holds, so both live in their own cached environment, benchmarks/.venvs/s3, built once
with pip as the MLflow client's is (tests/mlflow_env.py). loopml runs there from this
checkout and finds its other dependencies through a .pth file placed after that
environment's own packages. The test skips, saying why, when PyPI cannot be reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
from pathlib import Path

import pytest
from tests.mlflow_env import anchor_or_skip
from tests.servers import free_port, wait_until_ready

# boto3 pinned to the botocore that aiobotocore takes: without it pip backtracks for long
S3_REQUIREMENTS = ["moto[server]==5.2.5", "s3fs==2026.9.0", "boto3==1.43.117"]
SCRIPT = Path(__file__).with_name("s3_script.py")
SOURCE = Path(__file__).parents[2] / "src"


@pytest.fixture(scope="module")
def s3_python() -> Path:
    python = anchor_or_skip("s3", S3_REQUIREMENTS, "moto and s3fs")
    own = subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    # After the environment's own packages: its python-dateutil and botocore win.
    Path(own, "zz_loopml_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture
def s3_endpoint(s3_python):
    port = free_port()
    command = [str(s3_python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as server:
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/", server, "moto's server")
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_artifacts_and_datasets_live_on_an_s3_compatible_server(s3_python, s3_endpoint):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOPML_", "AWS_"))}
    env.update(
        AWS_ENDPOINT_URL=s3_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=os.pathsep.join([str(SOURCE), str(SOURCE.parent)]),
    )
    result = subprocess.run(
        [str(s3_python), str(SCRIPT), "loopml-test"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {
        "many_digests_match": True,
        "many_read_back": True,
        "streamed_size_matches": True,
        "streamed_table_equal": True,
        "damage_detected": True,
        "damage_repaired": True,
        "temporary_left": [],
        "dataset_rows": 178,
        "dataset_same_version_again": True,
        "dataset_loaded_equal": True,
        "dataset_object_on_server": True,
    }
