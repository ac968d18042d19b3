"""Monitor results as Prometheus gauges, read from the store at each scrape.

Register ``MonitorCollector(store)`` in a ``CollectorRegistry`` (the server's
``/metrics``); every replica then shows the same, newest results.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from loopml.monitoring.service import latest_results, list_alerts
from loopml.store import Store


class MonitorCollector:
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self):
        labels = ["monitor", "model", "kind", "segment"]
        value = GaugeMetricFamily(
            "loopml_monitor_value",
            "Latest value of each monitor (drift share or metric).",
            labels=labels,
        )
        alerting = GaugeMetricFamily(
            "loopml_monitor_alerting",
            "1 when the latest result crossed its threshold.",
            labels=labels,
        )
        for monitor, result in latest_results(self.store):
            key = [monitor.name, monitor.model, monitor.kind, result.segment]
            if result.value is not None:
                value.add_metric(key, result.value)
            alerting.add_metric(key, 1.0 if result.status == "alert" else 0.0)
        open_alerts = GaugeMetricFamily(
            "loopml_alerts_active",
            "Open or acknowledged alerts per monitor.",
            labels=["monitor", "model"],
        )
        counts: dict[tuple[str, str], int] = {}
        for alert in list_alerts(self.store, state="active"):
            counts[(alert.monitor, alert.model)] = counts.get((alert.monitor, alert.model), 0) + 1
        for (monitor, model), count in counts.items():
            open_alerts.add_metric([monitor, model], count)
        yield from (value, alerting, open_alerts)
