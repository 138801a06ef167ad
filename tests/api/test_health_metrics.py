"""Liveness and readiness probes against a real influxd and registry (and without them), and
the Prometheus metrics of the API as a scraper reads them."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from airq.services import free_port
from tests.api.api_server import running, settings_for
from tests.api.pg_server import create_database, drop_database
from tests.api.series_data import T0

pytestmark = pytest.mark.services

PROBLEM = "application/problem+json"


def test_probes_when_everything_answers(make_client) -> None:
    with make_client() as api:
        assert api.get("/livez").json() == {"status": "ok"}
        ready = {"status": "ok", "influxdb": "ok", "registry": "ok"}
        for path in ("/readyz", "/healthz"):
            r = api.get(path)
            assert r.status_code == 200 and r.json() == ready, (path, r.text)


def test_without_influxdb_alive_but_not_ready(tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running(settings_for(dead, "nodb", f"sqlite:///{tmp_path / 'reg.sqlite'}")) as api:
        assert api.get("/livez").status_code == 200  # never asks InfluxDB
        for path in ("/readyz", "/healthz"):
            r = api.get(path)
            assert r.status_code == 503 and r.headers["content-type"] == PROBLEM, r.text
            assert "InfluxDB" in r.json()["detail"] and "registry" not in r.json()["detail"]


def test_not_ready_once_the_registry_database_is_gone(make_client, pg_server: str) -> None:
    name = f"airq_test_{uuid.uuid4().hex[:10]}"
    url = create_database(pg_server, name)
    try:
        with make_client(database_url=url) as api:
            assert api.get("/readyz").status_code == 200
            drop_database(pg_server, name)  # WITH (FORCE): the API's connections are cut
            r = api.get("/readyz")
            assert r.status_code == 503 and "registry" in r.json()["detail"], r.text
            assert "InfluxDB" not in r.json()["detail"]
            assert api.get("/livez").status_code == 200
    finally:
        drop_database(pg_server, name)


def _scrape(api) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """metric family name -> samples, as Prometheus parses the text format."""
    r = api.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {f.name: f.samples for f in text_string_to_metric_families(r.text)}


def _value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    return sum(found)


def test_metrics_count_requests_per_route_template_and_cache_hits(
    make_client, series_db, series_registry_url
) -> None:
    with make_client(db=series_db, database_url=series_registry_url) as api:
        for _ in range(2):
            assert api.get("/v1/stations/lens-01").status_code == 200
        for sid in ("nope-01", "nope-02", "nope-03"):  # three paths, one template
            assert api.get(f"/v1/stations/{sid}").status_code == 404
        assert api.get("/no/such/page").status_code == 404

        start = (T0 + pd.Timedelta(days=1)).floor("D")
        params = {
            "quantity": "pm2_5",
            "every": "1h",
            "start": start.isoformat(),
            "end": (start + pd.Timedelta(hours=6)).isoformat(),
        }
        series = "/v1/stations/lens-01/series"
        assert api.get(series, params=params).status_code == 200
        before = _scrape(api)
        first = api.get(series, params=params)
        assert first.status_code == 200
        m = _scrape(api)

        one = "/v1/stations/{station_id}"
        req = m["airq_api_requests"]
        assert _value(req, "airq_api_requests_total", route=one, status="200") == 2
        assert _value(req, "airq_api_requests_total", route=one, status="404") == 3
        assert _value(req, "airq_api_requests_total", route="<unmatched>", status="404") == 1
        assert not [s for s in req if "nope" in s.labels["route"]]  # paths never label

        lat = m["airq_api_request_duration_seconds"]
        labels = {"method": "GET", "route": one, "status": "404"}
        assert _value(lat, "airq_api_request_duration_seconds_count", **labels) == 3
        buckets = [
            s for s in lat if s.name.endswith("_bucket") and labels.items() <= s.labels.items()
        ]
        counts = [s.value for s in sorted(buckets, key=lambda s: float(s.labels["le"]))]
        assert counts == sorted(counts) and counts[-1] == 3  # cumulative, +Inf holds them all
        assert 0 < _value(lat, "airq_api_request_duration_seconds_sum", **labels) < 30

        route = "/v1/stations/{station_id}/series"
        assert _value(req, "airq_api_requests_total", route=route, status="200") == 2
        # the same request again is answered from the series cache
        hits_before = _value(before["airq_api_cache_hits"], "airq_api_cache_hits_total")
        hits_after = _value(m["airq_api_cache_hits"], "airq_api_cache_hits_total")
        assert hits_after > hits_before
        assert _value(m["airq_api_cache_misses"], "airq_api_cache_misses_total") >= 1
        assert m["airq_api_cache_bytes"][0].value > 0
        # the scrapes are counted too, under their own route
        assert _value(req, "airq_api_requests_total", route="/metrics") == 1


def test_metrics_are_not_in_the_openapi_schema(make_client) -> None:
    with make_client() as api:
        paths = api.get("/openapi.json").json()["paths"]
        assert "/metrics" not in paths and {"/livez", "/readyz", "/healthz"} <= set(paths)
