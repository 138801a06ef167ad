"""``GET /v1/stations`` a page at a time: ordered by id, ``limit`` features, the next page in
``links`` and the ``Link`` header with the same filters, ``numberMatched`` on every page; the
Python client and the workshop's follower still see every station."""

from __future__ import annotations

import pytest

from airq_client import Client
from firmware_tools.follow import DEFAULT_QUANTITIES, Follower
from tests.api.api_server import ADMIN_TOKEN

pytestmark = pytest.mark.services

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _register(api, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    ids = [f"sc-{i:03d}" for i in range(n)]
    items = [
        {"id": sid, "lat": 50.0 + i / 100, "lon": 3.0, "indoor": i % 3 == 0}
        for i, sid in enumerate(ids)
    ]
    assert api.post("/v1/admin/stations/bulk", json=items, headers=AUTH).status_code == 201
    return ids


def test_pages_follow_next_links_with_the_filters(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client() as api:
        ids = _register(api, 25)
        api.post("/v1/admin/stations/sc-004/retire", headers=AUTH)
        seen: list[str] = []
        url: str | None = "/v1/stations?limit=10&include_retired=true"
        pages = []
        while url is not None:
            r = api.get(url, headers=AUTH)  # the admin sees the indoor stations too
            assert r.status_code == 200, r.text
            body = r.json()
            pages.append(body["numberReturned"])
            assert body["numberMatched"] == 25
            seen += [f["properties"]["id"] for f in body["features"]]
            nxt = [ln for ln in body["links"] if ln["rel"] == "next"]
            url = nxt[0]["href"] if nxt else None
            if url is not None:
                assert r.links["next"]["url"] == url and "include_retired=true" in url
            else:
                assert "link" not in r.headers
        assert seen == ids and pages == [10, 10, 5]

        # a filter holds on every page: 24 in service, 20 of them south of 50.2 (bbox)
        r = api.get(
            "/v1/stations", params={"limit": 15, "bbox": "2.9,49.9,3.1,50.195"}, headers=AUTH
        )
        body = r.json()
        assert body["numberMatched"] == 19 and body["numberReturned"] == 15
        r = api.get(body["links"][0]["href"], headers=AUTH).json()
        assert [f["properties"]["id"] for f in r["features"]] == ids[16:20]
        assert r["links"] == []
        # by default one page holds 1000 stations: small fleets see no change
        assert api.get("/v1/stations", headers=AUTH).json()["numberReturned"] == 24

        # anyone else: the 9 indoor stations (every third) are on no page and in no count,
        # the pages still hold `limit` stations while more follow
        public = [sid for i, sid in enumerate(ids) if i % 3]
        seen, pages, url = [], [], "/v1/stations?limit=5&include_retired=true"
        while url is not None:
            body = api.get(url).json()
            assert body["numberMatched"] == 16
            pages.append(body["numberReturned"])
            seen += [f["properties"]["id"] for f in body["features"]]
            url = next((ln["href"] for ln in body["links"] if ln["rel"] == "next"), None)
        assert seen == public and pages == [5, 5, 5, 1]
        body = api.get("/v1/stations", params={"bbox": "2.9,49.9,3.1,50.195"}).json()
        assert body["numberMatched"] == 12  # 19 in the box, 7 of them indoor


def test_the_client_and_the_follower_see_every_station(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client() as api:
        ids = _register(api, 12)
        with Client(str(api.base_url), token=ADMIN_TOKEN) as c:
            df = c.stations(limit=5)
        assert list(df["id"]) == ids and {"lon", "lat"} <= set(df.columns)
        follower = Follower(str(api.base_url), "sc-011")  # on the last page of 5
        try:
            assert follower.quantities() == DEFAULT_QUANTITIES  # known, no data yet
        finally:
            follower.close()
