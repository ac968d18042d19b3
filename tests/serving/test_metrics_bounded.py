"""Prometheus labels stay bounded whatever names clients invent."""

from __future__ import annotations

import json
import socket
import threading

import httpx
from tests.serving.conftest import one_row, wait_ready

NAMES = 10_000
CONNECTIONS = 8


def pipelined(url: str, requests: list[bytes]) -> bytes:
    """Send ``requests`` back to back on one keep-alive connection; all the answers."""
    host, port = url.removeprefix("http://").split(":")
    answers = b""
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        sender = threading.Thread(target=sock.sendall, args=(b"".join(requests),))
        sender.start()
        while answers.count(b"HTTP/1.1 ") < len(requests):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            answers += chunk
        sender.join()
    return answers


def test_metrics_stay_small_after_10000_unknown_model_names(live_server, diabetes):
    wait_ready(live_server)
    before = len(httpx.get(f"{live_server}/metrics").content)
    body = json.dumps(one_row(diabetes)).encode()
    requests = [
        f"POST /v1/models/nosuch-{i}/predict HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for i in range(NAMES)
    ]
    answers: list[bytes] = [b""] * CONNECTIONS

    def run(k: int) -> None:
        answers[k] = pipelined(live_server, requests[k::CONNECTIONS])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(a.count(b"HTTP/1.1 404 ") for a in answers) == NAMES
    metrics = httpx.get(f"{live_server}/metrics").text
    assert len(metrics.encode()) - before < 5_000
    assert "nosuch-" not in metrics
    assert f'model="(unknown)",type="NotFound",version=""}} {NAMES}.0' in metrics
