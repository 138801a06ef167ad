"""The rules added after the first slice, on the real broker: drift against the neighbours,
the WHO 24-h guideline, a box of stations, the per-period message cap. Reading times are built
from now (the service decodes them with the real clock)."""

from __future__ import annotations

import time

import httpx
import pytest

import alerts.service
from airq.services import ALERTS_USER, Mosquitto
from airq_core.alerts import resolve_level
from alerts.rules import State
from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.store import AlertDb
from api.alerts_store import AlertStore
from api.registry import Registry
from tests.alerts.conftest import ALERTS_PASSWORD, PUBLIC, Mailbox, Publisher, Receiver
from tests.helpers import ThreadRunner, wait_until

pytestmark = pytest.mark.services

MIN = 60.0
HOUR = 3600.0


def settle(service, n: int) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: service.counters.readings >= n, timeout=15, what=f"{n} readings")


def test_a_drifting_station_is_reported_to_its_owner_and_the_fleet_health_subscriber(
    registry: Registry, store: AlertStore, mailbox: Mailbox, receiver: Receiver,
    publisher: Publisher, start_service,
) -> None:  # fmt: skip
    registry.add("lens-01", 50.4300, 2.8300, name="Lens gare")
    near = {
        "lens-02": (50.4390, 2.8300),
        "lens-03": (50.4300, 2.8460),
        "lens-04": (50.4250, 2.8200),
    }
    for sid, (lat, lon) in near.items():
        registry.add(sid, lat, lon)
    registry.add("lille-01", 50.63, 3.06)  # alone: no neighbour, never compared
    owner = store.add(kind="drift", owner="station", station_id="lens-01", stations=["lens-01"],
                      quantity="pm2_5", for_s=3 * HOUR, drift_ratio=2.0, radius_km=2.0,
                      min_neighbours=3, target=mailbox.url())  # fmt: skip
    fleet = ["lens-01", *near, "lille-01"]
    store.add(kind="drift", owner="admin", stations=fleet, quantity="pm2_5", for_s=3 * HOUR,
              drift_ratio=2.0, radius_km=2.0, min_neighbours=3,
              target=receiver.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    slots = [now - HOUR * 3.5 + i * 15 * MIN for i in range(15)]  # 3 h 30 every 15 min

    def publish(ts: float) -> None:
        for i, sid in enumerate(near):
            publisher.publish(sid, ts, {"pm2_5": 11.0 + i})
        publisher.publish("lille-01", ts, {"pm2_5": 80.0})
        publisher.publish("lens-01", ts, {"pm2_5": 40.0})

    for ts in slots[:12]:  # apart for 2 h 45
        publish(ts)
    settle(service, 12 * 5)
    time.sleep(0.3)
    assert mailbox.mails == [] and receiver.bodies == []
    for ts in slots[12:]:  # 3 h and more
        publish(ts)
    wait_until(lambda: mailbox.mails and receiver.bodies, timeout=10, what="both messages")
    subject, body = mailbox.texts()[0]
    assert subject == "Station à vérifier : la station Lens gare"
    assert "40 µg/m³ en moyenne sur la dernière heure" in body
    assert "(12 µg/m³, valeur médiane)" in body and f"{PUBLIC}/stations/lens-01" in body
    assert f"/v1/alerts/unsubscribe/{owner.id}?key=" in body
    assert receiver.bodies[0]["title"] == "Station à vérifier : la station Lens gare"
    settle(service, 15 * 5)
    time.sleep(0.3)
    assert len(mailbox.mails) == 1 and len(receiver.bodies) == 1
    assert len(service.means) <= len(fleet)  # bounded: one entry per station and quantity


def test_who_24h_guideline_fires_on_the_24h_mean_and_names_it(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    registry.add("douai-02", 50.37, 3.08)
    level = resolve_level("pm10", None, "who-24h")
    store.add(kind="threshold", owner="station", station_id="douai-02", stations=["douai-02"],
              quantity="pm10", above=level.above, for_s=level.for_s, mode=level.mode,
              level=level.level, target=receiver.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    for h in range(25, 1, -1):  # hourly for 24 h: 40 µg/m³, under the guideline (45)
        publisher.publish("douai-02", now - h * HOUR, {"pm10": 40.0})
    settle(service, 24)
    time.sleep(0.3)
    assert receiver.bodies == []
    for hours in (1.5, 1.0, 0.5):  # three high hours lift the 24-h mean over 45
        publisher.publish("douai-02", now - hours * HOUR, {"pm10": 120.0})
    wait_until(lambda: receiver.bodies, timeout=10, what="the WHO guideline message")
    message = receiver.bodies[0]["message"]
    assert "plus de 45 µg/m³ (valeur guide de l'OMS pour 24 h) en moyenne sur 24 h" in message


def test_at_most_one_message_per_period_and_a_flap_nobody_read_is_not_sent(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    registry.add("arras-03", 50.29, 2.78)
    sub = store.add(kind="threshold", owner="station", station_id="arras-03",
                    stations=["arras-03"], quantity="co2", above=1500, for_s=0, clear_for_s=0,
                    cap_s=HOUR, target=receiver.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    publisher.publish("arras-03", now - 4 * MIN, {"co2": 2100.0})
    wait_until(lambda: receiver.bodies, timeout=10, what="the start message")
    for m, v in ((3, 900.0), (2, 2000.0), (1, 800.0)):  # end, start, end within the hour
        publisher.publish("arras-03", now - m * MIN, {"co2": v})
    settle(service, 4)
    time.sleep(0.5)
    assert len(receiver.bodies) == 1
    kept = [(m["kind"], m["error"]) for m in service.db.outbox()]
    # the end held by the cap and the new start cancel out; the last end waits for the hour
    assert kept == [("start", None), ("resolve", "dropped: cancel by a start (cap)"),
                    ("resolve", None)]  # fmt: skip
    first, last = service.db.outbox()[0], service.db.outbox()[-1]
    assert last["due_at"] == pytest.approx(first["due_at"] + HOUR) and last["sent_at"] is None
    assert sub.cap_s == HOUR


def test_a_box_alert_needs_two_of_its_stations_and_names_the_zone(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    for sid in ("wattrelos-01", "wattrelos-02", "wattrelos-03"):
        registry.add(sid, 50.70, 3.21)
    store.add(kind="threshold", owner="admin", bbox="3.2,50.69,3.22,50.71",
              stations=["wattrelos-01", "wattrelos-02", "wattrelos-03"], min_stations=2,
              quantity="pm10", above=80, for_s=0, target=receiver.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    publisher.publish("wattrelos-01", now - 3 * MIN, {"pm10": 300.0})  # one sensor alone
    settle(service, 1)
    time.sleep(0.3)
    assert receiver.bodies == []
    publisher.publish("wattrelos-02", now - 2 * MIN, {"pm10": 110.0})
    wait_until(lambda: receiver.bodies, timeout=10, what="the zone's message")
    title = receiver.bodies[0]["title"]
    assert title == "Alerte Particules PM10 : la zone 50.690, 3.200 – 50.710, 3.220 (2 stations)"


def test_metrics_count_readings_messages_and_latencies(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    broker: Mosquitto, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    registry.add("arras-04", 50.29, 2.78)
    store.add(kind="threshold", owner="station", station_id="arras-04", stations=["arras-04"],
              quantity="co2", above=1500, for_s=0, target=receiver.url())  # fmt: skip
    settings = AlertsSettings(
        mqtt_url=broker.url(ALERTS_USER, ALERTS_PASSWORD), database_url=str(registry.engine.url),
        public_url=PUBLIC, alerts_refresh_s=0.2, alerts_tick_s=0.1, alerts_metrics_port=0,
    )  # fmt: skip
    service = AlertsService(settings)
    runner = ThreadRunner(service.run, "alerts-metrics")
    try:
        wait_until(service.subscribed.is_set, what="alerts subscription")
        base = f"http://127.0.0.1:{service.metrics_server.server_port}"
        assert httpx.get(f"{base}/readyz").json() == {
            "ready": True, "mqtt_connected": True, "subscribed": True,
        }  # fmt: skip
        receiver.fail_next = 1
        monkeypatch.setattr(alerts.service, "RETRY_BASE_S", 0.2)
        publisher.publish("arras-04", time.time() - 2, {"co2": 1900.0})
        publisher.publish("arras-04", time.time() - 1, {"co2": 1950.0})
        wait_until(lambda: receiver.bodies, timeout=10, what="the message after a retry")
        text = httpx.get(f"{base}/metrics").text
        lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#")
        assert float(lines["airq_alerts_readings_total"]) == 2
        assert float(lines["airq_alerts_messages_sent_total"]) == 1
        assert float(lines["airq_alerts_messages_failed_total"]) == 0
        assert float(lines["airq_alerts_delivery_retries_total"]) == 1
        assert float(lines["airq_alerts_subscriptions"]) == 1
        assert float(lines["airq_alerts_evaluation_seconds_count"]) == 2
        assert float(lines["airq_alerts_delivery_seconds_count"]) == 1
        assert float(lines["airq_alerts_delivery_seconds_sum"]) >= 0.2  # waited for the retry
    finally:
        runner.stop()
    assert service.metrics_server is None


def test_an_area_mean_alert_on_the_real_broker(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    stations = ["tourcoing-01", "tourcoing-02", "tourcoing-03"]
    for sid in stations:
        registry.add(sid, 50.72, 3.16)
    store.add(kind="threshold", owner="admin", qpv="QN05905M", stations=stations,
              min_stations=3, area_mean=True, quantity="pm10", above=80, for_s=0, lang="en",
              target=receiver.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    for sid, m, v in (
        ("tourcoing-01", 5, 400.0),
        ("tourcoing-02", 4, 30.0),
        ("tourcoing-03", 3, 40.0),
    ):  # one faulty sensor: the median is 40
        publisher.publish(sid, now - m * MIN, {"pm10": v})
    settle(service, 3)
    time.sleep(0.3)
    assert receiver.bodies == []
    publisher.publish("tourcoing-02", now - 2 * MIN, {"pm10": 95.0})  # 40, 95, 400 -> 95
    wait_until(lambda: receiver.bodies, timeout=10, what="the area's mean message")
    body = receiver.bodies[0]
    assert body["title"] == "PM10 particles alert: the area QN05905M (3 stations)"
    assert "recent mean of the stations: 95 µg/m³" in body["message"]


def test_the_cap_only_spaces_messages_about_different_stations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = AlertDb(f"sqlite:///{tmp_path / 'cap.sqlite'}")
    try:
        db.ensure_states([1, 2], 0.0)
        t0 = 1_800_000_000.0
        for sub, merge in ((1, True), (2, False)):
            db.write_state(sub, 0, State(), t0, [("start", t0, "a", "a")], HOUR, merge=merge)
            db.write_state(sub, 1, State(), t0, [("start", t0 + 60, "b", "b")], HOUR, merge=merge)
            db.write_state(sub, 2, State(), t0, [("resolve", t0 + 90, "c", "c")], HOUR,
                           merge=merge)  # fmt: skip
        kept = {
            sub: [(m["title"], m["due_at"] - t0, m["error"]) for m in db.outbox()
                  if m["subscription_id"] == sub]
            for sub in (1, 2)
        }  # fmt: skip
    finally:
        db.close()
    # one alert: the start "b" and the end "c" nobody read cancel out
    assert kept[1] == [("a", 0, None), ("b", HOUR, "dropped: cancel by a resolve (cap)")]
    # drift (messages about different stations): spaced by the period, none dropped
    assert kept[2] == [("a", 0, None), ("b", HOUR, None), ("c", 2 * HOUR, None)]
