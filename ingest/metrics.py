"""Prometheus ``/metrics`` of the ingest, and its health checks ``/livez`` and ``/readyz``.

The hot path only bumps plain integers; this collector reads a snapshot of them
(``ingest.stats.IngestStats``, from the callable it is given) at scrape time, so metrics cost
nothing per message and this module does not know the service. One registry per service (tests
run several in one process).

* ``/livez``: 200 while the service runs (the server stops with the writer loop).
* ``/readyz``: 200 when connected to the broker, subscribed, and the last InfluxDB write
  succeeded (or none was needed yet); 503 otherwise. Both answer a small JSON object naming
  each check, so that an operator sees which one fails.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from airq_core.wire import REASONS
from ingest.stats import IngestStats

__all__ = ["IngestCollector", "Readiness", "read_readiness", "serve_metrics"]


@dataclass(frozen=True, slots=True)
class Readiness:
    """What ``/readyz`` checks. ``subscribed`` stays true across a reconnection: the session
    is persistent, so the broker keeps the subscription (and queues for it) meanwhile."""

    mqtt_connected: bool
    subscribed: bool
    influx_write_ok: bool  # the last write succeeded, or none was needed yet

    @property
    def ready(self) -> bool:
        return self.mqtt_connected and self.subscribed and self.influx_write_ok


def read_readiness(stats: IngestStats) -> Readiness:
    return Readiness(
        mqtt_connected=stats.mqtt_connected,
        subscribed=stats.subscribed,
        influx_write_ok=stats.influx_up,
    )


class IngestCollector(Collector):
    """The ingest's metrics, from a fresh ``IngestStats`` at each scrape."""

    def __init__(self, stats: Callable[[], IngestStats]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Any]:
        s = self.stats()
        yield CounterMetricFamily(
            "airq_ingest_messages", "MQTT messages received", value=s.messages
        )
        yield CounterMetricFamily(
            "airq_ingest_readings", "valid readings decoded", value=s.readings
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
            rej.add_metric([reason], s.rejected.get(reason, 0))
        yield rej
        gaps = CounterMetricFamily(
            "airq_ingest_seq_gaps",
            "readings missing by the gateways' seq, per station",
            labels=["station"],
        )
        for station, n in sorted(s.seq_gaps.items()):
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
            value=float(s.mqtt_connected),
        )
        yield GaugeMetricFamily(
            "airq_ingest_unacked_messages",
            "messages received and not yet acknowledged",
            value=s.unacked,
        )
        yield CounterMetricFamily(
            "airq_ingest_qc_humid_flagged",
            "PM readings flagged as taken in humid air",
            value=s.qc_flagged,
        )
        yield CounterMetricFamily(
            "airq_ingest_qc_hcorr",
            "PM readings stored with a humidity correction",
            value=s.qc_corrected,
        )
        if s.rollups is not None:
            w = CounterMetricFamily(
                "airq_ingest_rollup_windows", "aggregate windows recomputed", labels=["tier"]
            )
            for tier, n in sorted(s.rollups.windows.items()):
                w.add_metric([tier], n)
            yield w
            yield CounterMetricFamily(
                "airq_ingest_rollup_points", "aggregate points written", value=s.rollups.points
            )
            yield GaugeMetricFamily(
                "airq_ingest_rollup_pending", "aggregate windows waiting", value=s.rollups.pending
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
        for h in s.health:
            silent.add_metric([h.station], float(h.silent))
            stuck.add_metric([h.station], float(len(h.stuck)))
        yield silent
        yield stuck


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """No line per request (a probe every few seconds)."""


_StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _health_app(
    metrics_app: Callable[[dict[str, Any], _StartResponse], Iterable[bytes]],
    readiness: Callable[[], Readiness],
) -> Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/livez", "/readyz"):
            return metrics_app(environ, start_response)
        if path == "/livez":
            status, body = "200 OK", {"live": True}
        else:
            r = readiness()
            status = "200 OK" if r.ready else "503 Service Unavailable"
            body = {"ready": r.ready, **asdict(r)}
        payload = orjson.dumps(body) + b"\n"
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [payload]

    return app


def serve_metrics(
    stats: Callable[[], IngestStats], host: str, port: int
) -> tuple[WSGIServer, CollectorRegistry]:
    """Starts the HTTP server of ``/metrics``, ``/livez`` and ``/readyz`` in a daemon thread,
    answering from ``stats()`` at each request; (server, registry). ``port`` 0 picks a free
    port (``server.server_port``). Stop it with ``server.shutdown()`` and
    ``server.server_close()``."""
    registry = CollectorRegistry()
    registry.register(IngestCollector(stats))
    app = _health_app(make_wsgi_app(registry), lambda: read_readiness(stats()))
    family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family  # AIRQ_INGEST_METRICS_HOST may be an IPv6 address

    server = make_server(host, port, app, Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server, registry
