"""Prometheus ``/metrics`` of the alerts service and its checks ``/livez`` and ``/readyz`` (the
ingest's pattern, ingest/metrics.py: apps do not import each other).

The hot path bumps plain integers (:class:`alerts.service.Counters`) and observes two
histograms; the collector reads a snapshot of the counters at scrape time. One registry per
service (tests run several in one process).

* ``/livez``: 200 while the service runs; ``/readyz``: 200 when connected to the broker and
  subscribed, 503 otherwise (JSON naming each check).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import CollectorRegistry, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

__all__ = ["AlertsCollector", "Histograms", "serve_metrics"]

# from a few milliseconds (a reading evaluated) to minutes (a delivery retried)
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _Stats(Protocol):
    messages: int
    readings: int
    rejected: int
    transitions: int
    conflicts: int
    sent: int
    failed: int
    retried: int


class Histograms:
    """The service's two latency histograms, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.evaluation = Histogram(
            "airq_alerts_evaluation_seconds",
            "time to evaluate one MQTT message (decode, rules, state written)",
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.delivery = Histogram(
            "airq_alerts_delivery_seconds",
            "from a message being due (decided, or the end of quiet hours or of the cap) to "
            "its acceptance by the notification service",
            buckets=_BUCKETS,
            registry=self.registry,
        )


class AlertsCollector(Collector):
    """The counters of the service, read at each scrape."""

    def __init__(self, stats: Callable[[], _Stats], subscriptions: Callable[[], int]) -> None:
        self.stats = stats
        self.subscriptions = subscriptions

    def collect(self) -> Iterator[Any]:
        s = self.stats()
        for name, doc, value in (
            ("messages", "MQTT messages received", s.messages),
            ("readings", "readings evaluated", s.readings),
            ("rejected", "readings or messages rejected (bad content)", s.rejected),
            ("transitions", "alert state changes written", s.transitions),
            ("conflicts", "state writes lost to another replica (evaluated again)", s.conflicts),
            ("messages_sent", "notifications accepted by their service", s.sent),
            ("messages_failed", "notifications given up after every attempt", s.failed),
            ("delivery_retries", "failed delivery attempts retried later", s.retried),
        ):
            yield CounterMetricFamily(f"airq_alerts_{name}", doc, value=value)
        yield GaugeMetricFamily(
            "airq_alerts_subscriptions", "subscriptions evaluated", value=self.subscriptions()
        )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """No line per request (a probe every few seconds)."""


_StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def serve_metrics(
    registry: CollectorRegistry,
    ready: Callable[[], dict[str, bool]],
    host: str,
    port: int,
) -> WSGIServer:
    """Starts ``/metrics``, ``/livez`` and ``/readyz`` in a daemon thread; ``port`` 0 picks a
    free one (``server.server_port``). Stop with ``shutdown()`` and ``server_close()``."""
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/livez", "/readyz"):
            out: Iterable[bytes] = metrics_app(environ, start_response)
            return out
        checks = {"live": True} if path == "/livez" else ready()
        ok = all(checks.values())
        payload = orjson.dumps({"ready": ok, **checks} if path == "/readyz" else checks) + b"\n"
        start_response(
            "200 OK" if ok else "503 Service Unavailable",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [payload]

    family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family

    server = make_server(host, port, app, Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="alerts-metrics", daemon=True).start()
    return server
