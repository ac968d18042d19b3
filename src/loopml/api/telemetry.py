"""Prometheus metrics of one app, in a registry of its own (no process globals)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class LabelledChildren:
    """``metric.labels(*labels)``, kept for the next request: prometheus_client takes a
    lock and builds its key on every ``labels`` call, several per request. For metrics
    none of whose labels is ever removed."""

    def __init__(self) -> None:
        self._kept: dict[tuple, Any] = {}

    def __call__(self, metric, *labels: str):
        key = (metric, labels)
        child = self._kept.get(key)
        if child is None:
            child = self._kept[key] = metric.labels(*labels)
        return child


class Telemetry:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "loopml_http_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "loopml_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._labelled = LabelledChildren()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._labelled(self.requests, method, route, str(status)).inc()
        self._labelled(self.latency, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
