"""Readiness tells the truth: a champion that cannot be loaded is named and answers
503 with the reason; a store that is briefly unreachable leaves loaded models
answering and the server `degraded`, not pulled from the load balancer."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from tests.serving.conftest import one_row, serving_context

import loopml
from loopml._context import Context
from loopml.server import create_app


@pytest.fixture
def broken_cancer(ctx):
    """A champion whose artifact was damaged on disk after it was registered."""
    data = load_breast_cancer(as_frame=True)
    frame = data.data.rename(columns=lambda c: c.replace(" ", "_"))
    model = LogisticRegression(max_iter=3000).fit(frame, data.target)
    version = loopml.log_model(model, "cancer", input_example=frame.head(3))
    loopml.set_alias("cancer", "champion", version.version)
    path = ctx.artifacts.local_path(version.artifact_digest)
    path.write_bytes(path.read_bytes()[:100])
    return frame


def ready(client) -> dict:
    deadline = time.monotonic() + 30
    while (answer := client.get("/readyz")).status_code == 503 and "yet" in answer.text:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return answer


def test_a_champion_that_cannot_be_loaded_is_named_and_answers_503(ctx, broken_cancer, diabetes):
    context = serving_context(ctx, scheduler=False)
    with TestClient(create_app(context=context)) as client:
        answer = ready(client)
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == "degraded" and body["models_loaded"] == 1
        ((name, reason),) = body["unavailable"].items()
        assert name == "'cancer'@champion version 1" and reason
        predicted = client.post("/v1/models/cancer/predict", json=one_row(broken_cancer))
        assert predicted.status_code == 503
        error = predicted.json()["error"]
        assert error["type"] == "model_unavailable" and "cannot be loaded" in error["message"]
        assert client.post("/v1/models/diabetes/predict", json=one_row(diabetes)).status_code == 200
    context.close()


def test_a_server_whose_only_champion_is_broken_is_not_ready(ctx, broken_cancer):
    context = serving_context(ctx, scheduler=False)
    with TestClient(create_app(context=context)) as client:
        answer = ready(client)
        assert answer.status_code == 503
        assert "cancer" in answer.json()["error"]["message"]
    context.close()


class Proxy:
    """A TCP proxy on loopback in front of PostgreSQL; ``close`` cuts every connection."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes the accept() blocked in its thread
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.mark.postgres
def test_an_unreachable_store_leaves_loaded_models_answering_and_the_server_degraded(ctx, diabetes):
    from sqlalchemy.engine import make_url

    url = make_url(ctx.settings.store_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the proxy stands in front of PostgreSQL")
    proxy = Proxy(url.port or 5432)
    proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
    context = Context(
        ctx.settings.model_copy(
            update={"store_url": proxied, "scheduler": False, "serving_poll_interval": 0.05}
        )
    )
    with TestClient(create_app(context=context)) as client:
        assert ready(client).json()["status"] == "ready"
        assert client.post("/v1/models/diabetes/predict", json=one_row(diabetes)).status_code == 200
        proxy.close()
        time.sleep(0.3)  # the alias watcher's polls now fail
        for _ in range(20):
            answer = client.post("/v1/models/diabetes/predict", json=one_row(diabetes))
            assert answer.status_code == 200
        readiness = client.get("/readyz")
        assert readiness.status_code == 200
        body = readiness.json()
        assert body["status"] == "degraded" and "did not answer" in body["store_error"]
        assert body["models_loaded"] == 1
    context.close()
