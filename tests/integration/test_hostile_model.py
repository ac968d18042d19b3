"""A hostile champion is refused by `loopml serve` at startup and by `loopml predict`, and no
code from it runs; the LightGBM preset's pipeline serves beside it without any trust flag."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from tests.models.hostile import ATTACKS, hostile_package

import loopml
from loopml._context import get_context
from loopml.cli import main
from loopml.config import Settings
from loopml.errors import UntrustedModel
from loopml.models.package import Package, pack
from loopml.models.signature import infer
from loopml.registry import service

LOOPML = str(Path(sys.executable).parent / "loopml")
ROWS = load_diabetes(as_frame=True)
FRAME = ROWS.data.assign(sex=np.where(ROWS.data["sex"] > 0, "f", "m"))


def _preset_pipeline() -> Pipeline:
    """What `model: lightgbm` builds for a table with a text column."""
    encode = ColumnTransformer(
        [("text", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["sex"])],
        remainder="passthrough",
    )
    model = lightgbm.LGBMRegressor(n_estimators=20, verbose=-1, n_jobs=1)
    return Pipeline([("encode", encode), ("model", model)]).fit(FRAME, ROWS.target)


class Doubler:
    def predict(self, frame):
        return frame.iloc[:, 0].to_numpy() * 2


def _real_packages() -> dict[str, Package]:
    """A real package of every flavor, the files an attacker would start from."""
    regressors = {
        "lightgbm": lightgbm.LGBMRegressor(n_estimators=10, verbose=-1, n_jobs=1),
        "xgboost": xgboost.XGBRegressor(n_estimators=10, n_jobs=1),
    }
    numbers = ROWS.data
    packages = {
        k: pack(m.fit(numbers, ROWS.target), infer(numbers), trusted=False)
        for k, m in regressors.items()
    }
    packages["pyfunc"] = pack(Doubler(), infer(numbers), trusted=True)
    return packages


@pytest.fixture
def registry(process_env, tmp_path):
    """`good` is the LightGBM preset's pipeline; `bad-<flavor>-<attack>` a hostile file of each
    flavor for each attack. Yields {model name: marker file}."""
    settings = Settings(home=process_env["LOOPML_HOME"], store_url=process_env["LOOPML_STORE_URL"])
    loopml.configure(settings)
    good = loopml.log_model(_preset_pipeline(), "good", input_example=FRAME.head(5))
    loopml.set_alias("good", "champion", good.version)
    context = get_context()
    packages = _real_packages()
    packages["sklearn"] = Package.from_bytes(context.artifacts.get_bytes(good.artifact_digest))
    markers = {}
    for flavor, real in packages.items():
        for attack in ATTACKS:
            name = f"bad-{flavor}-{attack.replace('.', '-')}"
            markers[name] = tmp_path / f"ran-{name}"
            stored = context.artifacts.put_bytes(hostile_package(real, attack, markers[name]))
            version = service.register(
                context.store,
                name=name,
                flavor=real.flavor,
                artifact_digest=stored.digest,
                artifact_size=stored.size,
                signature=real.signature,
                segment=None,
                run_id=None,
                metrics=None,
                actor="attacker",
            )
            loopml.set_alias(name, "champion", version.version)
    yield markers
    loopml.configure(Settings(home=tmp_path / "after"))


def test_load_model_and_loopml_predict_refuse_each_hostile_champion(registry, tmp_path, capsys):
    rows = tmp_path / "rows.parquet"
    FRAME.head(20).to_parquet(rows)
    for name, marker in registry.items():
        with pytest.raises(UntrustedModel):
            loopml.load_model(f"models:/{name}@champion")
        with pytest.raises(SystemExit) as exit_:
            main(["predict", name, "-i", str(rows), "-o", str(tmp_path / "out.parquet")])
        err = capsys.readouterr().err
        assert exit_.value.code == 1, (name, err)
        assert err.startswith("Error: ") and "Traceback" not in err, err
        assert re.search("not trust|runs? code", " ".join(err.split())), err  # lines wrap
        assert not marker.exists(), name
    main(["predict", "good", "-i", str(rows), "-o", str(tmp_path / "good.parquet")])
    assert len(pd.read_parquet(tmp_path / "good.parquet")) == 20


def test_loopml_serve_names_each_hostile_champion_at_startup_and_serves_the_good_one(
    registry, process_env, tmp_path
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("w+")
    env = {**process_env, "LOOPML_SCHEDULER": "false"}
    server = subprocess.Popen(
        [LOOPML, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server)
        text = Path(log.name).read_text()
        for name, marker in registry.items():
            assert f"model {name} (champion) is not served" in text, text
            status, body = _post(f"{base}/v1/models/{name}/predict", FRAME.head(2))
            assert 400 <= status < 500 or status == 503, (name, status, body)
            assert body["error"]["message"], body
            assert not marker.exists(), name
        assert "Traceback" not in text
        status, body = _post(f"{base}/v1/models/good/predict", FRAME.head(3))
        assert status == 200, body
        assert len(body["predictions"]) == 3
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _wait_ready(base: str, server: subprocess.Popen) -> None:
    """Until /readyz answers 200: the server has tried to load every champion by then."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert server.poll() is None, "loopml serve exited"
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):  # HTTPError (503) included: loading
            time.sleep(0.3)
    raise AssertionError("loopml serve did not become ready")


def _post(url: str, frame) -> tuple[int, dict]:
    body = json.dumps({"records": json.loads(frame.to_json(orient="records"))}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
