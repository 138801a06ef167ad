"""``/v1/alerts``: a resident subscribes with their station's token, the admin to a QPV or the
fleet; the unsubscribe link; what the API writes is what the alerts service reads (SQLite and
PostgreSQL), and the service's compare-and-set holds on both."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from alerts.rules import State
from alerts.store import AlertDb
from tests.api.api_server import ADMIN_TOKEN

pytestmark = pytest.mark.services

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HOOK = "json://127.0.0.1:9/hook"


def _station(api, sid: str, lat: float = 50.43, lon: float = 2.83) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = api.post("/v1/admin/stations", json={"id": sid, "lat": lat, "lon": lon}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_resident_subscribes_lists_and_unsubscribes_with_the_station_token(
    make_client, registry_url: str
) -> None:
    with make_client(database_url=registry_url) as api:
        own = _station(api, "lens-01")
        _station(api, "lens-02")
        rule = {"station": "lens-01", "quantity": "pm2_5", "above": 50, "window": "10m",
                "notify": "mailto://alice:secret@example.org"}  # fmt: skip
        r = api.post("/v1/alerts/subscriptions", json=rule, headers=own)
        assert r.status_code == 201, r.text
        sub = r.json()
        assert (sub["owner"], sub["stations"], sub["for_s"], sub["lang"]) == (
            "station", ["lens-01"], 600.0, "fr",
        )  # fmt: skip
        assert sub["target"] == "mailto://example.org/…"  # no credentials shown
        link = urlsplit(sub["unsubscribe_url"])
        assert link.path == f"/v1/alerts/unsubscribe/{sub['id']}" and link.query.startswith("key=")

        # another station, an area, a bad rule, a bad target, no token
        other = {**rule, "station": "lens-02"}
        assert api.post("/v1/alerts/subscriptions", json=other, headers=own).status_code == 401
        area = {**rule, "station": None, "fleet": True}
        r = api.post("/v1/alerts/subscriptions", json=area, headers={**own})
        assert r.status_code == 401  # a station token needs its station
        r = api.post("/v1/alerts/subscriptions", json={**rule, "quantity": "pm25"}, headers=own)
        assert r.status_code == 400 and "quantity" in r.json()["detail"]
        r = api.post("/v1/alerts/subscriptions", json={**rule, "notify": "nope"}, headers=own)
        assert r.status_code == 400 and "Apprise" in r.json()["detail"]
        r = api.post("/v1/alerts/subscriptions", json={**rule, "window": "soon"}, headers=own)
        assert r.status_code == 400 and "window" in r.json()["detail"]
        assert api.post("/v1/alerts/subscriptions", json=rule).status_code == 401
        _station(api, "lens-09")
        assert api.post("/v1/admin/stations/lens-09/retire", headers=ADMIN).status_code == 200
        r = api.post("/v1/alerts/subscriptions", json={**rule, "station": "lens-09"},
                     headers=ADMIN)  # fmt: skip
        assert r.status_code == 404, r.text
        r = api.post("/v1/alerts/subscriptions", json={**rule, "notify": HOOK}, headers=own)
        assert r.status_code == 403 and "webhook" in r.json()["detail"]

        # the admin: the fleet's silent stations, in English
        fleet = {"fleet": True, "kind": "silent", "silent_after": "30m", "lang": "en",
                 "notify": HOOK}  # fmt: skip
        r = api.post("/v1/alerts/subscriptions", json=fleet, headers=ADMIN)
        assert r.status_code == 201, r.text
        fleet_id = r.json()["id"]
        assert r.json()["stations"] == ["lens-01", "lens-02"]
        assert r.json()["min_stations"] == 1
        r = api.post("/v1/alerts/subscriptions", json={**fleet, "fleet": False,
                     "station": "lens-01", "qpv": "QP059083"}, headers=ADMIN)  # fmt: skip
        assert r.status_code == 400

        council = {"station": "lens-01", "kind": "silent", "silent_after": "1h", "notify": HOOK}
        r = api.post("/v1/alerts/subscriptions", json=council, headers=ADMIN)
        assert r.status_code == 201 and r.json()["owner"] == "admin"
        council_id = r.json()["id"]
        mine = api.get("/v1/alerts/subscriptions?station=lens-01", headers=own).json()
        assert [s["id"] for s in mine] == [sub["id"]]  # not the council's on the same station
        r = api.delete(f"/v1/alerts/subscriptions/{council_id}?station=lens-01", headers=own)
        assert r.status_code == 403
        assert (
            api.delete(f"/v1/alerts/subscriptions/{council_id}", headers=ADMIN).status_code == 200
        )
        assert len(api.get("/v1/alerts/subscriptions", headers=ADMIN).json()) == 2
        r = api.delete(f"/v1/alerts/subscriptions/{fleet_id}?station=lens-01", headers=own)
        assert r.status_code == 403

        # what the alerts service reads
        db = AlertDb(registry_url)
        try:
            subs = db.read_subscriptions()
            assert subs is not None and set(subs) == {sub["id"], fleet_id}
            rule_read = subs[sub["id"]].rule
            assert (rule_read.quantity, rule_read.above, rule_read.for_s) == ("pm2_5", 50, 600)
            assert subs[fleet_id].rule.silent_after_s == 1800 and subs[fleet_id].lang == "en"
            # compare-and-set: the second writer from the same version loses
            db.ensure_states([sub["id"]], 0.0)
            db.ensure_states([sub["id"]], 0.0)  # idempotent
            ((version, _),) = db.read_states([sub["id"]]).values()
            on = State(active=True, started_at=1.0)
            assert db.write_state(sub["id"], version, on, 1.0, [("start", 1.0, "t", "b")])
            assert not db.write_state(sub["id"], version, State(), 2.0, [("start", 2, "t", "b")])
            assert db.read_states([sub["id"]])[sub["id"]][1].active
            claimed = db.claim_due("w1", 5.0, 60)
            assert [m.title for m in claimed] == ["t"] and db.claim_due("w2", 5.0, 60) == []
        finally:
            db.close()

        # the unsubscribe link: a page first (GET changes nothing), then the button
        page = api.get(f"{link.path}?{link.query}")
        assert page.status_code == 200 and "Me désabonner" in page.text
        key, path = link.query.removeprefix("key="), link.path
        assert api.post(path, data={"key": "wrong"}).status_code == 404
        assert len(api.get("/v1/alerts/subscriptions", headers=ADMIN).json()) == 2
        done = api.post(path, data={"key": key})
        assert done.status_code == 200 and "Vous ne recevrez plus" in done.text
        assert api.get(f"{link.path}?{link.query}").status_code == 404
        r = api.delete(f"/v1/alerts/subscriptions/{fleet_id}", headers=ADMIN)
        assert r.status_code == 200 and r.json() == {"id": fleet_id, "deleted": True}
        assert api.get("/v1/alerts/subscriptions", headers=ADMIN).json() == []


def test_admin_subscribes_a_qpv_whose_alert_needs_two_stations(make_client) -> None:
    with make_client() as api:
        # two stations in Nouveau Roubaix (QP059083), one in Lille
        _station(api, "roubaix-01", 50.67370, 3.18841)
        _station(api, "roubaix-02", 50.67380, 3.18850)
        _station(api, "lille-01", 50.6212, 3.0583)
        body = {"qpv": "qp059083", "quantity": "pm10", "above": 80, "window": "15m",
                "notify": HOOK}  # fmt: skip
        r = api.post("/v1/alerts/subscriptions", json=body, headers=ADMIN)
        assert r.status_code == 201, r.text
        got = r.json()
        assert (got["qpv"], got["stations"], got["min_stations"]) == (
            "QP059083", ["roubaix-01", "roubaix-02"], 2,
        )  # fmt: skip
        r = api.post("/v1/alerts/subscriptions", json={**body, "qpv": "QP000000"}, headers=ADMIN)
        assert r.status_code == 404
        radon = {"station": "lille-01", "preset": "radon", "notify": HOOK}
        r = api.post("/v1/alerts/subscriptions", json=radon, headers=ADMIN)
        assert r.status_code == 201, r.text
        assert (r.json()["quantity"], r.json()["above"], r.json()["mode"]) == (
            "radon", 300.0, "mean",
        )  # fmt: skip
        assert r.json()["for_s"] == 7 * 86400


def test_named_thresholds_drift_and_boxes_through_the_api(make_client) -> None:
    with make_client() as api:
        own = _station(api, "roubaix-01", 50.67370, 3.18841)
        _station(api, "roubaix-02", 50.67380, 3.18850)
        _station(api, "lille-01", 50.6212, 3.0583)
        base = {"station": "roubaix-01", "quantity": "pm10", "notify": "ntfy://roubaix-01"}
        r = api.post("/v1/alerts/subscriptions", json={**base, "above": "who-24h"}, headers=own)
        assert r.status_code == 201, r.text
        got = r.json()
        assert (got["above"], got["for_s"], got["mode"], got["level"]) == (
            45.0, 86400.0, "mean", "who_24h",
        )  # fmt: skip
        r = api.post("/v1/alerts/subscriptions", json={**base, "above_class": "mauvais"},
                     headers=own)  # fmt: skip
        assert r.status_code == 201, r.text
        assert (r.json()["above"], r.json()["level"]) == (50.0, "atmo:mauvais")
        r = api.post("/v1/alerts/subscriptions",
                     json={**base, "quantity": "co2", "above": "who-24h"}, headers=own)  # fmt: skip
        assert r.status_code == 400 and "WHO" in r.json()["detail"]

        # a resident's drift alert on their own station, defaults documented in docs/alerts.md
        drift = {**base, "kind": "drift"}
        r = api.post("/v1/alerts/subscriptions", json=drift, headers=own)
        assert r.status_code == 201, r.text
        got = r.json()
        assert (got["kind"], got["for_s"], got["drift_ratio"], got["radius_km"],
                got["min_neighbours"]) == ("drift", 3 * 3600.0, 2.0, 2.0, 3)  # fmt: skip
        r = api.post("/v1/alerts/subscriptions",
                     json={**drift, "drift_diff": 10, "window": "2h"}, headers=own)  # fmt: skip
        assert (r.json()["drift_ratio"], r.json()["drift_diff"], r.json()["for_s"]) == (
            None, 10.0, 7200.0,
        )  # fmt: skip

        # a box (admin only): the stations inside, two must agree, a cap on messages
        box = {"bbox": "3.18,50.67,3.19,50.68", "quantity": "pm10", "above": 80,
               "at_most_every": "1h", "notify": HOOK}  # fmt: skip
        r = api.post("/v1/alerts/subscriptions", json=box, headers=ADMIN)
        assert r.status_code == 201, r.text
        got = r.json()
        assert (got["stations"], got["min_stations"], got["bbox"], got["cap_s"]) == (
            ["roubaix-01", "roubaix-02"], 2, "3.18,50.67,3.19,50.68", 3600.0,
        )  # fmt: skip
        r = api.post("/v1/alerts/subscriptions", json={**box, "area_mean": True}, headers=ADMIN)
        assert (r.json()["area_mean"], r.json()["min_stations"]) == (True, 2)  # two inside
        r = api.post("/v1/alerts/subscriptions", json={**box, "bbox": "3.18,50.67"},
                     headers=ADMIN)  # fmt: skip
        assert r.status_code == 400 and "lon1,lat1,lon2,lat2" in r.json()["detail"]
        r = api.post("/v1/alerts/subscriptions", json={**box, "bbox": "2.0,40.0,2.1,40.1"},
                     headers=ADMIN)  # fmt: skip
        assert r.status_code == 400 and "no station" in r.json()["detail"]
        r = api.post("/v1/alerts/subscriptions",
                     json={**box, "notify": "ntfy://x", "station": "roubaix-01", "bbox": None},
                     headers=own)  # fmt: skip
        assert r.status_code == 201
        r = api.post("/v1/alerts/subscriptions", json={**box, "notify": "ntfy://x"}, headers=own)
        assert r.status_code == 401  # a station's token names its station


def test_a_subscriptions_table_of_the_first_slice_gains_the_new_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from api.alerts_store import AlertStore

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with engine.begin() as conn:  # the table as the first slice made it
        conn.execute(sa.text(
            "CREATE TABLE alert_subscriptions (id INTEGER PRIMARY KEY, created_at DATETIME "
            "NOT NULL, kind VARCHAR(20) NOT NULL, owner VARCHAR(20) NOT NULL, station_id "
            "VARCHAR(64), qpv VARCHAR(40), stations TEXT NOT NULL, min_stations INTEGER NOT "
            "NULL DEFAULT 1, quantity VARCHAR(40), above FLOAT, clear FLOAT, for_s FLOAT NOT "
            "NULL DEFAULT 0, clear_for_s FLOAT, silent_after_s FLOAT, repeat_s FLOAT NOT NULL "
            "DEFAULT 0, quiet VARCHAR(10), mode VARCHAR(10) NOT NULL DEFAULT 'all', "
            "stuck_readings INTEGER, lang VARCHAR(2) NOT NULL DEFAULT 'fr', target TEXT NOT "
            "NULL, unsubscribe_key VARCHAR(64) NOT NULL)"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO alert_subscriptions (created_at, kind, owner, stations, target, "
            "unsubscribe_key, quantity, above) VALUES ('2026-12-01 10:00:00', 'threshold', "
            "'admin', 'lens-01', 'ntfy://x', 'k', 'pm2_5', 50)"
        ))  # fmt: skip
    store = AlertStore(engine)
    (old,) = store.list()
    assert (old.above, old.level, old.cap_s, old.area_mean) == (50, None, None, False)
    new = store.add(kind="drift", owner="admin", stations=["lens-01"], quantity="pm2_5",
                    for_s=3600, drift_ratio=2, radius_km=2, min_neighbours=3,
                    target="ntfy://y")  # fmt: skip
    assert (new.kind, new.drift_ratio) == ("drift", 2)
    db = AlertDb(str(engine.url))
    try:
        subs = db.read_subscriptions()
    finally:
        db.close()
    assert subs is not None and sorted(subs) == [old.id, new.id]
    engine.dispose()
