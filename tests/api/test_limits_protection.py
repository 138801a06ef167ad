"""Limits and protection: oversized answers get a 4xx naming the limit (never a timeout), rate
limiting per client, request body size, CORS."""

from __future__ import annotations

import time

import pytest

from api.protection import TokenBuckets
from tests.api.api_server import ADMIN_TOKEN

pytestmark = pytest.mark.services

# the fixed week of series_data.py (stored with an infinite retention: see there)
WEEK = {"start": "2026-03-27T00:00:00Z", "end": "2026-04-01T00:00:00Z"}


def test_large_answers_are_refused_with_the_limit(
    make_client, series_db, series_registry_url
) -> None:
    with make_client(
        db=series_db,
        database_url=series_registry_url,
        api_max_points=1000,
        api_max_export_rows=5000,
        api_max_raw_days=2,
        api_max_raw_values=1000,
    ) as api:
        api.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"  # lille-02 is indoor
        base = {"station": ["lens-01", "lille-02"], "quantity": "pm2_5", **WEEK}
        t0 = time.monotonic()
        r = api.get("/v1/series", params={**base, "every": "1m"})
        assert r.status_code == 413
        assert "limit of 1000" in r.json()["detail"] and "CSV" in r.json()["detail"]
        r = api.get("/v1/series", params={**base, "every": "1m", "format": "csv"})
        assert r.status_code == 413 and "limit of 5000" in r.json()["detail"]
        r = api.get("/v1/series", params={**base, "every": "raw"})
        assert r.status_code == 413 and "at most 2 days" in r.json()["detail"]
        r = api.get("/v1/series", params={**base, "every": "1h", "agg": "p95"})
        assert r.status_code == 413 and "median and p95" in r.json()["detail"]
        one_day = {**base, "start": "2026-03-28T00:00:00Z", "end": "2026-03-29T00:00:00Z"}
        r = api.get("/v1/series", params={**one_day, "every": "raw"})
        assert r.status_code == 413 and "raw values" in r.json()["detail"]
        assert time.monotonic() - t0 < 5  # refused up front, not after reading everything
        # within the limits the same station and period are served
        r = api.get("/v1/series", params={**base, "every": "1h"})
        assert r.status_code == 200 and len(r.json()["points"]) > 100
        r = api.get("/v1/series", params={**base, "every": "15m", "format": "csv"})
        assert r.status_code == 200


def test_too_many_stations(make_client, series_db, series_registry_url) -> None:
    with make_client(db=series_db, database_url=series_registry_url, api_max_stations=1) as api:
        r = api.get("/v1/series", params={"station": ["lens-01", "lille-02"], "quantity": "pm2_5"})
        assert r.status_code == 400 and "too many stations" in r.json()["detail"]
        everywhere = {"bbox": "-180,-90,180,90", "quantity": "pm2_5"}
        r = api.get(
            "/v1/series", params=everywhere, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert r.status_code == 413 and "narrow" in r.json()["detail"]
        # anyone else: the indoor lille-02 is left out of the box, lens-01 alone is served
        r = api.get("/v1/series", params=everywhere)
        assert r.status_code == 200 and r.json()["stations"] == ["lens-01"], r.text


def test_rate_limit_per_client(make_client) -> None:
    with make_client(rate_limit_per_minute=60, rate_limit_burst=5) as api:
        codes = [api.get("/v1/stations").status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        r = api.get("/v1/stations")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "60 per minute" in r.json()["detail"]
        other = {"X-Forwarded-For": "203.0.113.9"}
        assert api.get("/v1/stations", headers=other).status_code == 429  # not trusted
    with make_client(
        rate_limit_per_minute=60, rate_limit_burst=2, trusted_proxies=["127.0.0.0/8"]
    ) as api:
        # behind a trusted proxy (the test client on 127.0.0.1 plays it), one bucket per client
        for ip in ("203.0.113.9", "203.0.113.10"):
            codes = [
                api.get("/v1/stations", headers={"X-Forwarded-For": ip}).status_code
                for _ in range(3)
            ]
            assert codes == [200, 200, 429], ip
        # a client that sends its own X-Forwarded-For through the proxy (which appends the
        # address it saw) changes only the part on the left: same bucket, still limited
        for spoof in ("198.51.100.1", "198.51.100.2, 10.0.0.1"):
            r = api.get("/v1/stations", headers={"X-Forwarded-For": f"{spoof}, 203.0.113.9"})
            assert r.status_code == 429, spoof


def test_forwarded_for_is_believed_only_from_listed_proxies() -> None:
    from pydantic import ValidationError

    from api.settings import ApiSettings

    with pytest.raises(ValidationError, match="AIRQ_TRUSTED_PROXIES"):
        ApiSettings(trust_forwarded_for=True)
    with pytest.raises(ValidationError, match="not an IP address or network"):
        ApiSettings(trusted_proxies=["proxy.local"])
    assert ApiSettings(trusted_proxies=["::1", "10.0.0.0/8"]).trusted_proxies == [
        "::1",
        "10.0.0.0/8",
    ]


def test_token_buckets_refill_with_the_clock() -> None:
    now = [0.0]
    b = TokenBuckets(rate=2.0, burst=3, max_keys=2, clock=lambda: now[0])
    assert [b.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert b.take("a") == 0.0
    b.take("b")
    b.take("c")  # "a" is the least recently used: dropped, starts full again
    assert [b.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_request_body_limit(make_client) -> None:
    from tests.api.api_server import ADMIN_TOKEN

    with make_client(max_request_bytes=2048) as api:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = {"id": "lens-01", "lat": 50, "lon": 3, "name": "x" * 4000}
        r = api.post("/v1/admin/stations", json=body, headers=headers)
        assert r.status_code == 413

        def chunks():  # no Content-Length: the streamed size is counted
            for _ in range(10):
                yield b" " * 1000

        r = api.post(
            "/v1/admin/stations",
            content=chunks(),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 413


def test_cors(make_client) -> None:
    with make_client(cors_origins=["https://carto.example.org"]) as api:
        r = api.options(
            "/v1/series",
            headers={"Origin": "https://carto.example.org", "Access-Control-Request-Method": "GET"},
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://carto.example.org"
        r = api.get("/v1/stations", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in r.headers
    with make_client() as api:  # no origin configured: no CORS headers at all
        r = api.get("/v1/stations", headers={"Origin": "https://carto.example.org"})
        assert "access-control-allow-origin" not in r.headers
