"""Prometheus metrics of serving, per model and version, in the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from loopml.api.telemetry import LATENCY_BUCKETS, LabelledChildren

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.rows = Counter(
            "loopml_predictions",
            "Rows scored, by model, version and role (champion, challenger, fallback, shadow).",
            ["model", "version", "role"],
            registry=registry,
        )
        self.requests = Counter(
            "loopml_prediction_requests",
            "Prediction requests answered, by model and the version that answered first.",
            ["model", "version"],
            registry=registry,
        )
        self.errors = Counter(
            "loopml_prediction_errors",
            "Prediction requests refused or failed, by model and error type.",
            ["model", "version", "type"],
            registry=registry,
        )
        self.latency = Histogram(
            "loopml_prediction_seconds",
            "Time to answer a prediction request, by model and version.",
            ["model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_rows = Histogram(
            "loopml_model_batch_rows",
            "Rows per model call after micro-batching.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.swaps = Counter(
            "loopml_model_swaps",
            "Versions loaded and swapped in, by model and alias.",
            ["model", "alias"],
            registry=registry,
        )
        self.served_version = Gauge(
            "loopml_served_version",
            "Version number an alias currently serves (segment '' for unsegmented models).",
            ["model", "segment", "alias"],
            registry=registry,
        )
        self.flagged = Counter(
            "loopml_prediction_flags",
            "Rows flagged by the training data's rules, by model and flag.",
            ["model", "flag"],
            registry=registry,
        )
        self.models_loaded = Gauge(
            "loopml_models_loaded",
            "Model versions loaded in this server's memory (at most serving_max_models).",
            registry=registry,
        )
        self.evictions = Counter(
            "loopml_model_evictions",
            "Loaded versions dropped, least recently used first, to stay within "
            "serving_max_models; they load again on their next request.",
            registry=registry,
        )
        self.resident_bytes = Gauge(
            "loopml_server_resident_bytes",
            "Resident memory (RSS) of the server process, in bytes.",
            registry=registry,
        )
        self.resident_bytes.set_function(_resident_bytes)
        self._labelled = LabelledChildren()

    def of(self, metric, *labels: str):
        """``metric.labels(*labels)``, kept: for the per-request metrics only (none of
        them has a label removed)."""
        return self._labelled(metric, *labels)


def _resident_bytes() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss)
