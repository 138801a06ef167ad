"""Prometheus metrics of the API, served at ``/metrics``.

As in the ingest (``ingest/metrics.py``), the hot path only bumps plain numbers: an ASGI
middleware adds each request to a dict keyed by (method, route template, status), and a
collector turns them into Prometheus families at scrape time, with the hits and misses of the
series cache (``app.state.series_cache``). One registry per app (tests run several apps in one
process). The event loop is the only writer and the only reader: no lock.

Route templates (``/v1/stations/{station_id}/series``), not paths, label the requests, so the
number of series stays bounded; requests no route matched are counted under ``<unmatched>``.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BUCKETS", "ApiCollector", "MetricsMiddleware", "RequestCounts", "metrics_registry"]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds (seconds) of the latency histogram; the last bucket is +Inf."""
UNMATCHED = "<unmatched>"
CACHE_KINDS = ("day", "json", "file")  # key kinds of api.stored_windows.ContentCache


class RequestCounts:
    """Per (method, route, status): [count, seconds in total, then one count per bucket
    (not cumulative; the last one is +Inf)]."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str, str], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        entry = self.by_key.get(key)
        if entry is None:
            entry = self.by_key[key] = [0, 0.0] + [0] * (len(BUCKETS) + 1)
        entry[0] += 1
        entry[1] += seconds
        entry[2 + bisect_left(BUCKETS, seconds)] += 1


class MetricsMiddleware:
    """ASGI middleware counting every HTTP request when its response is complete (a streamed
    export is timed to its last byte). A request that fails before answering counts as 500."""

    def __init__(self, app: ASGIApp, counts: RequestCounts) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # the router leaves the matched route in the scope (FastAPI: scope["route"])
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.counts.observe(scope["method"], template, status, time.perf_counter() - start)


class ApiCollector(Collector):
    """Reads the request counts and the series cache of one app at scrape time."""

    def __init__(self, counts: RequestCounts, state: Any) -> None:
        self.counts = counts
        self.state = state

    def collect(self) -> Iterator[Any]:
        labels = ["method", "route", "status"]
        requests = CounterMetricFamily(
            "airq_api_requests", "HTTP requests answered, by route template", labels=labels
        )
        latency = HistogramMetricFamily(
            "airq_api_request_duration_seconds",
            "time to answer a request, to its last byte",
            labels=labels,
        )
        bounds = [*(f"{b:g}" for b in BUCKETS), "+Inf"]
        for key, entry in sorted(self.counts.by_key.items()):
            requests.add_metric(list(key), entry[0])
            cumulative: float = 0
            buckets: list[tuple[str, float]] = []
            for bound, n in zip(bounds, entry[2:], strict=True):
                cumulative += n
                buckets.append((bound, cumulative))
            latency.add_metric(list(key), buckets, sum_value=entry[1])
        yield requests
        yield latency

        cache = getattr(self.state, "series_cache", None)
        hits = CounterMetricFamily(
            "airq_api_cache_hits",
            "series cache lookups answered from memory, by kind (day, json, file)",
            labels=["kind"],
        )
        misses = CounterMetricFamily(
            "airq_api_cache_misses", "series cache lookups not found, by kind", labels=["kind"]
        )
        for kind in CACHE_KINDS:  # every kind, also at zero, so rates can rely on them
            hits.add_metric([kind], cache.hits.get(kind, 0) if cache else 0)
            misses.add_metric([kind], cache.misses.get(kind, 0) if cache else 0)
        yield hits
        yield misses
        yield GaugeMetricFamily(
            "airq_api_cache_bytes",
            "bytes held by the series cache",
            value=cache.size if cache else 0,
        )
        yield GaugeMetricFamily(
            "airq_api_cache_entries",
            "entries of the series cache",
            value=len(cache) if cache else 0,
        )


def metrics_registry(counts: RequestCounts, state: Any) -> CollectorRegistry:
    """A registry of its own holding the API collector (never the process-wide default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ApiCollector(counts, state))
    return registry
