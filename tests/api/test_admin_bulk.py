"""Bulk registration (``POST /v1/admin/stations/bulk``) on a real API over SQLite and
PostgreSQL: a JSON array or a CSV file, all or nothing, a per-row report; and the paged
admin listing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.api_server import ADMIN_TOKEN

pytestmark = pytest.mark.services

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CSV = {**AUTH, "Content-Type": "text/csv"}


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_a_csv_file_registers_every_station_with_its_token(make_client, registry_url) -> None:  # type: ignore[no-untyped-def]
    rows = ["id;lat;lon;name;indoor"] + [
        f"sc-{i:04d};50,{4000 + i};2,839;Lieu {i};{'oui' if i % 2 else 'non'}" for i in range(300)
    ]
    with make_client(database_url=registry_url) as api:
        r = api.post("/v1/admin/stations/bulk", content=_csv(rows), headers=CSV)
        assert r.status_code == 201, r.text[:500]
        report = r.json()
        assert report["created"] == 300 and report["dry_run"] is False
        first = report["rows"][0]
        assert (first["row"], first["id"], first["ok"]) == (2, "sc-0000", True)
        assert len({e["token"] for e in report["rows"]}) == 300
        listed = api.get("/v1/admin/stations", headers=AUTH, params={"limit": 10_000}).json()
        by_id = {s["id"]: s for s in listed}
        assert by_id["sc-0001"]["indoor"] is True and by_id["sc-0001"]["lat"] == 50.4001
        assert by_id["sc-0299"]["name"] == "Lieu 299"
        # the token works over HTTP at once (the HTTP ingest authenticates with it)
        tok = report["rows"][5]["token"]
        ok = api.post("/v1/ingest/readings", json=[], auth=("sc-0005", tok))
        bad = api.post("/v1/ingest/readings", json=[], auth=("sc-0005", tok + "x"))
        assert ok.status_code != 401 and bad.status_code == 401


def test_bad_rows_are_reported_one_by_one_and_nothing_is_created(make_client, registry_url) -> None:  # type: ignore[no-untyped-def]
    with make_client(database_url=registry_url) as api:
        body = {"id": "lens-01", "lat": 50.449, "lon": 2.839}
        assert api.post("/v1/admin/stations", json=body, headers=AUTH).status_code == 201
        items: list[Any] = [
            {"id": "sc-0001", "lat": 50.1, "lon": 3.0},
            {"id": "sc-0001", "lat": 50.2, "lon": 3.0},  # twice in the file
            {"id": "lens-01", "lat": 50.3, "lon": 3.0},  # exists
            {"id": "sc-0004", "lat": 91, "lon": 3.0},  # bad coordinates
            {"id": "sc-0005", "lat": "50.1", "lon": 3.0},  # not a number
            {"id": "Bad Id!", "lat": 50.1, "lon": 3.0},
            {"id": "airq-ingest", "lat": 50.1, "lon": 3.0},  # reserved
            {"id": "sc-0008", "lat": 50.1, "lon": 3.0, "colour": "red"},
            "not an object",
            {"id": "sc-0010", "lat": 50.1, "lon": 3.0, "indoor": "maybe"},
            {"id": "sc-0011", "lat": 50.1, "lon": 3.0, "name": "x" * 201},
            {"id": "sc-0012", "lat": 50.1, "lon": 3.0},
        ]
        r = api.post("/v1/admin/stations/bulk", json=items, headers=AUTH)
        assert r.status_code == 422, r.text
        problem = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert problem["detail"] == "10 of 12 rows refused: nothing was created"
        codes = {e["row"]: (e["id"], e["ok"], e.get("code")) for e in problem["rows"]}
        assert codes == {
            1: ("sc-0001", True, None),
            2: ("sc-0001", False, "duplicate"),
            3: ("lens-01", False, "exists"),
            4: ("sc-0004", False, "bad_coords"),
            5: ("sc-0005", False, "bad_coords"),
            6: ("Bad Id!", False, "bad_id"),
            7: ("airq-ingest", False, "bad_id"),
            8: ("sc-0008", False, "bad_row"),
            9: (None, False, "bad_row"),
            10: ("sc-0010", False, "bad_row"),
            11: ("sc-0011", False, "bad_row"),
            12: ("sc-0012", True, None),
        }
        assert "row 1" in problem["rows"][1]["reason"]
        assert all("token" not in e for e in problem["rows"])
        ids = [s["id"] for s in api.get("/v1/admin/stations", headers=AUTH).json()]
        assert ids == ["lens-01"]  # all or nothing

        # the same file without its bad rows: checked (dry run), then created
        good = [items[0], items[11]]
        r = api.post("/v1/admin/stations/bulk?dry_run=true", json=good, headers=AUTH)
        assert r.status_code == 200 and r.json()["created"] == 0, r.text
        assert "token" not in r.json()["rows"][0]
        assert len(api.get("/v1/admin/stations", headers=AUTH).json()) == 1
        r = api.post("/v1/admin/stations/bulk", json=good, headers=AUTH)
        assert r.status_code == 201 and r.json()["created"] == 2


@pytest.mark.parametrize(
    ("body", "headers", "status", "detail"),
    [
        (b"", CSV, 400, "header"),
        (b"\xff\xfe\x00garbage", CSV, 400, "UTF-8"),
        (b"name,place\nx,y\n", CSV, 400, "lacks id, lat, lon"),
        (b"id,lat,lon,colour\n", CSV, 400, "unknown CSV column"),
        (b"id,lat,lon\n\n\n", CSV, 400, "no station"),
        (b"{not json", {**AUTH, "Content-Type": "application/json"}, 400, "not JSON"),
        (b'{"id": "x"}', {**AUTH, "Content-Type": "application/json"}, 400, "JSON array"),
        (b"[]", {**AUTH, "Content-Type": "application/json"}, 400, "no station"),
        (b"id,lat,lon\n", {**AUTH, "Content-Type": "application/xml"}, 415, "text/csv"),
    ],
)
def test_an_unusable_body_is_a_clear_problem(make_client, body, headers, status, detail) -> None:  # type: ignore[no-untyped-def]
    with make_client() as api:
        r = api.post("/v1/admin/stations/bulk", content=body, headers=headers)
        assert r.status_code == status, r.text
        assert detail in r.json()["detail"]


def test_garbage_csv_lines_are_refused_row_by_row(make_client) -> None:  # type: ignore[no-untyped-def]
    text = (
        "id,lat,lon,name\n"
        "ok-01,50.1,3.0,fine\n"
        "too-many,1,2,3,4,5\n"
        "\x00\x01\x02,zz,??\n"
        "ok-05,50.5,3.0\n"
        ",,,\n"
        '"ok-07",50.7,3.0,"a, b"\n'
        'bad-08,50.1,3.0,"unclosed\n'
        "swallowed-09,50.1,3.0\n"
    )
    with make_client() as api:
        r = api.post("/v1/admin/stations/bulk", content=text.encode(), headers=CSV)
        assert r.status_code == 422, r.text
        got = [(e["row"], e["id"], e["ok"], e.get("code")) for e in r.json()["rows"]]
        assert got == [
            (2, "ok-01", True, None),
            (3, None, False, "bad_row"),  # more fields than columns
            (4, "\x00\x01\x02", False, "bad_coords"),
            (5, "ok-05", True, None),
            (7, "ok-07", True, None),
            # an unclosed quote takes the rest of the file with it: reported on its line
            (8, None, False, "bad_row"),
        ]
        assert api.get("/v1/admin/stations", headers=AUTH).json() == []


def test_the_admin_listing_pages_with_a_next_link(make_client, registry_url) -> None:  # type: ignore[no-untyped-def]
    items = [{"id": f"sc-{i:03d}", "lat": 50.0, "lon": 3.0} for i in range(25)]
    with make_client(database_url=registry_url) as api:
        assert api.post("/v1/admin/stations/bulk", json=items, headers=AUTH).status_code == 201
        seen: list[str] = []
        url: str | None = "/v1/admin/stations?limit=10"
        pages = 0
        while url:
            r = api.get(url, headers=AUTH)
            assert r.status_code == 200, r.text
            seen += [s["id"] for s in r.json()]
            url = r.links.get("next", {}).get("url")
            pages += 1
        assert seen == [i["id"] for i in items] and pages == 3
        assert len(api.get("/v1/admin/stations", headers=AUTH).json()) == 25  # default page
        assert "link" not in api.get("/v1/admin/stations", headers=AUTH).headers
