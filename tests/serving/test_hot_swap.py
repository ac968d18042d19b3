"""Alias moves reach a running server without one failed request."""

import itertools
import threading
import time

import httpx
from tests.serving.models import FEATURES, churn_rows

import loopml


def test_alias_moves_20_times_under_steady_traffic(churn, live_server):
    versions = [version.version for _, version in churn]
    body = {"records": churn_rows(3, seed=5)[FEATURES].to_dict(orient="records")}
    url = f"{live_server}/v1/models/churn/predict"
    failures, answered_by = [], []
    stop = threading.Event()

    def stream():
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                response = http.post(url, json=body)
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    answered_by.append(response.json()["predictions"][0]["version"])

    clients = [threading.Thread(target=stream) for _ in range(3)]
    for client in clients:
        client.start()
    try:
        _wait_for(lambda: answered_by)  # traffic flows before the first move
        for move in range(20):
            target = versions[(move + 1) % 2]
            loopml.set_alias("churn", "champion", target, reason=f"move {move}")
            _wait_for(lambda t=target: answered_by and answered_by[-1] == t)
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert failures == []
    assert len(answered_by) > 40
    switches = sum(1 for a, b in itertools.pairwise(answered_by) if a != b)
    assert switches >= 20  # every move was served, not skipped


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the server did not pick up the alias move"
        time.sleep(0.01)
