"""The rate limit counts every HTTP request once, before routing: pages (the map page served
ready by ReadyAnswerMiddleware included), the libraries they load, health, unknown paths and
the API alike; /livez alone is never refused. One client over its rate leaves the others
alone."""

from __future__ import annotations

import ipaddress

import pytest

from api.protection import client_key, scope_client_key

pytestmark = pytest.mark.services

PROBLEM = "application/problem+json"
# one request on each kind of path; every one spends a token, whatever answers it
PATHS = {
    "/carte": 200,  # served by ReadyAnswerMiddleware (its route answered once before)
    "/stations/lens-01": 200,
    "/vendor/leaflet.js": 200,
    "/readyz": 200,
    "/nowhere": 404,
    "/v1/stations": 200,
}
ORIGIN = "https://carto.example.org"


def as_client(ip: str) -> dict[str, str]:
    # the test client (127.0.0.1) plays the trusted proxy
    return {"X-Forwarded-For": ip, "Origin": ORIGIN}


def test_every_request_is_charged_once_whatever_answers_it(make_client) -> None:
    burst = len(PATHS) + 1
    with make_client(
        rate_limit_per_minute=1,
        rate_limit_burst=burst,
        trusted_proxies=["127.0.0.0/8"],
        cors_origins=[ORIGIN],
    ) as api:
        warm = as_client("198.51.100.7")
        assert api.get("/carte", headers=warm).status_code == 200  # by its route
        assert "etag" in api.get("/carte", headers=warm).headers  # now ready, before routing

        client = as_client("203.0.113.5")
        codes = {path: api.get(path, headers=client).status_code for path in PATHS}
        assert codes == PATHS  # burst - 1 tokens spent, one request each
        for _ in range(3):  # the liveness probe spends nothing
            assert api.get("/livez", headers=client).status_code == 200
        assert api.get("/v1/quantities", headers=client).status_code == 200  # the last token

        for path in [*PATHS, "/v1/quantities", "/v1/qpv/stations.geojson"]:
            r = api.get(path, headers=client)
            assert r.status_code == 429, (path, r.status_code)
            assert r.headers["content-type"] == PROBLEM
            assert int(r.headers["retry-after"]) >= 1
            assert r.headers["access-control-allow-origin"] == ORIGIN  # a page can read it
            body = r.json()
            assert body["status"] == 429 and body["instance"] == path
            assert "1 per minute" in body["detail"] and f"bursts of {burst}" in body["detail"]
        assert api.get("/livez", headers=client).status_code == 200  # never refused

        # another client behind the same proxy keeps its own bucket, map page included
        other = as_client("203.0.113.6")
        for path, status in PATHS.items():
            assert api.get(path, headers=other).status_code == status, path
        # the warm-up client spent two tokens of its own
        assert api.get("/v1/stations", headers=warm).status_code == 200


def test_a_client_without_proxy_is_its_peer_address(make_client) -> None:
    with make_client(rate_limit_per_minute=1, rate_limit_burst=2) as api:
        assert [api.get("/nowhere").status_code for _ in range(2)] == [404, 404]
        r = api.get("/carte", headers={"X-Forwarded-For": "203.0.113.9"})  # not believed
        assert r.status_code == 429 and r.headers["content-type"] == PROBLEM
        assert api.get("/livez").status_code == 200


def test_the_key_read_from_the_scope() -> None:
    from starlette.requests import Request

    proxies = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))

    def scope(peer: str | None, *forwarded: str) -> dict:  # type: ignore[type-arg]
        headers = [(b"x-forwarded-for", f.encode("latin-1")) for f in forwarded]
        return {"type": "http", "client": (peer, 1234) if peer else None, "headers": headers}

    cases = [
        (scope("192.0.2.1", "203.0.113.9"), (), "192.0.2.1"),  # no proxy configured
        (scope("192.0.2.1", "203.0.113.9"), proxies, "192.0.2.1"),  # peer not a proxy
        (scope("10.0.0.2", "203.0.113.9"), proxies, "203.0.113.9"),
        (scope("10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.3"), proxies, "203.0.113.9"),
        (scope("::1", " 203.0.113.9 ,"), proxies, "203.0.113.9"),
        (scope("10.0.0.2", "10.0.0.4, 10.0.0.3"), proxies, "10.0.0.4"),  # proxies only
        (scope("10.0.0.2"), proxies, "10.0.0.2"),  # no header
        (scope("10.0.0.2", "203.0.113.1", "203.0.113.2"), proxies, "203.0.113.1"),  # first one
        (scope("10.0.0.2", "x" * 200), proxies, "x" * 64),
        (scope(None), proxies, "unknown"),
    ]
    for s, nets, key in cases:
        assert scope_client_key(s, nets) == key, (s, key)
        assert client_key(Request(s), nets) == key
