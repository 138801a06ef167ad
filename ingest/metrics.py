"""Prometheus ``/metrics`` of the ingest.

The hot path only bumps plain integers; this collector reads them at scrape time, so metrics
cost nothing per message. One registry per service (tests run several in one process).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from airq_core.wire import REASONS

if TYPE_CHECKING:
    from ingest.service import IngestService

__all__ = ["IngestCollector", "serve_metrics"]


class IngestCollector(Collector):
    def __init__(self, service: IngestService) -> None:
        self.s = service

    def collect(self) -> Iterator[Any]:
        s = self.s
        c = s.handler.counters
        yield CounterMetricFamily(
            "airq_ingest_messages", "MQTT messages received", value=c.messages
        )
        yield CounterMetricFamily(
            "airq_ingest_readings", "valid readings decoded", value=c.readings
        )
        yield CounterMetricFamily(
            "airq_ingest_stored_readings", "readings durably written to InfluxDB", value=s.stored
        )
        rej = CounterMetricFamily(
            "airq_ingest_rejected",
            "rejections by reason (see airq_core.wire.REASONS)",
            labels=["reason"],
        )
        for reason in REASONS:  # every reason, also at zero, so alerts can rely on them
            rej.add_metric([reason], c.rejected.get(reason, 0))
        yield rej
        gaps = CounterMetricFamily(
            "airq_ingest_seq_gaps",
            "readings missing by the gateways' seq, per station",
            labels=["station"],
        )
        for station, n in sorted(c.seq_gaps.items()):
            gaps.add_metric([station], n)
        yield gaps
        yield CounterMetricFamily(
            "airq_ingest_write_failures", "failed InfluxDB writes (retried)", value=s.write_failures
        )
        yield GaugeMetricFamily(
            "airq_ingest_influx_up",
            "1 when the last InfluxDB write succeeded",
            value=float(s.influx_up),
        )
        yield GaugeMetricFamily(
            "airq_ingest_mqtt_connected",
            "1 when connected to the broker",
            value=float(s.connected.is_set()),
        )
        yield GaugeMetricFamily(
            "airq_ingest_unacked_messages",
            "messages received and not yet acknowledged",
            value=s.unacked,
        )
        yield CounterMetricFamily(
            "airq_ingest_qc_humid_flagged",
            "PM readings flagged as taken in humid air",
            value=s.qc.flagged,
        )
        yield CounterMetricFamily(
            "airq_ingest_qc_hcorr",
            "PM readings stored with a humidity correction",
            value=s.qc.corrected,
        )
        if s.roller is not None:
            w = CounterMetricFamily(
                "airq_ingest_rollup_windows", "aggregate windows recomputed", labels=["tier"]
            )
            for tier, n in sorted(s.roller.windows.items()):
                w.add_metric([tier], n)
            yield w
            yield CounterMetricFamily(
                "airq_ingest_rollup_points", "aggregate points written", value=s.roller.points
            )
            yield GaugeMetricFamily(
                "airq_ingest_rollup_pending", "aggregate windows waiting", value=len(s.roller.dirty)
            )
        silent = GaugeMetricFamily(
            "airq_ingest_station_silent",
            "1 when the station sent nothing for too long",
            labels=["station"],
        )
        stuck = GaugeMetricFamily(
            "airq_ingest_station_stuck",
            "quantities of the station repeating the same value for hours",
            labels=["station"],
        )
        for h in s.last_health:
            silent.add_metric([h.station], float(h.silent))
            stuck.add_metric([h.station], float(len(h.stuck)))
        yield silent
        yield stuck


def serve_metrics(service: IngestService, host: str, port: int) -> tuple[Any, CollectorRegistry]:
    """Starts the /metrics HTTP server in a daemon thread; (server, registry). ``port`` 0 picks a
    free port (``server.server_port``). Stop it with ``server.shutdown()``."""
    registry = CollectorRegistry()
    registry.register(IngestCollector(service))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, registry
