"""The alerts service against real parts: readings published on a real Mosquitto (the
deployment's config and ACL), French mails received by a local SMTP server, JSON notifications
by a local HTTP receiver; restarts and duplicate deliveries. Reading times are built from now
(the service decodes them with the real clock)."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from api.alerts_store import AlertStore
from api.registry import Registry
from tests.alerts.conftest import PUBLIC, Clock, Mailbox, Publisher, Receiver
from tests.helpers import wait_until

pytestmark = pytest.mark.services

MIN = 60.0


def settle(service, n: int) -> None:  # type: ignore[no-untyped-def]
    """Waits until the service has evaluated ``n`` readings."""
    wait_until(lambda: service.counters.readings >= n, timeout=10, what=f"{n} readings")


def test_resident_gets_one_french_mail_when_pm25_stays_high_and_one_when_it_resolves(
    registry: Registry, store: AlertStore, mailbox: Mailbox, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    registry.add("lens-01", 50.43, 2.83, name="École Jean Jaurès")
    sub = store.add(kind="threshold", owner="station", station_id="lens-01",
                    stations=["lens-01"], quantity="pm2_5", above=50, for_s=10 * MIN,
                    target=mailbox.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    publisher.publish("lens-01", now - 30 * MIN, {"pm2_5": 62.0})
    publisher.publish("lens-01", now - 24 * MIN, {"pm2_5": 48.0})  # a dip: starts again
    publisher.publish("lens-01", now - 23 * MIN, {"pm2_5": 70.0})
    settle(service, 3)
    assert mailbox.mails == []
    sent = publisher.publish("lens-01", now - 13 * MIN, {"pm2_5": 75.0})  # 10 min above
    wait_until(lambda: len(mailbox.mails) == 1, timeout=10, what="the start mail")
    latency = mailbox.times[0] - sent
    assert latency < 5, latency
    subject, body = mailbox.texts()[0]
    assert subject == "Alerte Particules fines PM2,5 : la station École Jean Jaurès"
    assert "plus de 50 µg/m³ depuis plus de 10 min" in body and "75 µg/m³" in body
    assert "limitez l'effort physique en extérieur" in body
    assert f"{PUBLIC}/stations/lens-01" in body
    assert f"{PUBLIC}/v1/alerts/unsubscribe/{sub.id}?key={sub.unsubscribe_key}" in body
    # hovering under the threshold but above the clear level (45): no message
    for minutes, value in ((12.5, 47.0), (12, 52.0), (11, 46.0)):
        publisher.publish("lens-01", now - minutes * MIN, {"pm2_5": value})
    for minutes in (10, 5, 0):  # under 45 for the window: one resolution
        publisher.publish("lens-01", now - minutes * MIN, {"pm2_5": 20.0})
    wait_until(lambda: len(mailbox.mails) == 2, timeout=10, what="the resolution mail")
    subject, body = mailbox.texts()[1]
    assert subject.startswith("Fin d'alerte Particules fines PM2,5")
    assert "redescendu sous 45 µg/m³" in body and "L'alerte commencée le" in body
    settle(service, 10)
    time.sleep(0.3)
    assert len(mailbox.mails) == 2


def test_an_area_alert_needs_more_than_one_station(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    for sid in ("roubaix-01", "roubaix-02", "roubaix-03"):
        registry.add(sid, 50.69, 3.17)
    store.add(kind="threshold", owner="admin", qpv="QN05901M",
              stations=["roubaix-01", "roubaix-02", "roubaix-03"], min_stations=2,
              quantity="pm10", above=80, for_s=0, lang="en",
              target=receiver.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    for m in (5, 4, 3, 2):  # one sensor gone wild
        publisher.publish("roubaix-01", now - m * MIN, {"pm10": 400.0})
    publisher.publish("roubaix-02", now - 2 * MIN, {"pm10": 30.0})
    settle(service, 5)
    time.sleep(0.3)
    assert receiver.bodies == []
    publisher.publish("roubaix-03", now - MIN, {"pm10": 120.0})
    wait_until(lambda: receiver.bodies, timeout=10, what="the area notification")
    body = receiver.bodies[0]
    assert body["title"] == "PM10 particles alert: the area QN05901M (2 stations)"
    assert "as a" not in body["message"] and "What to do" in body["message"]
    settle(service, 6)
    time.sleep(0.3)
    assert len(receiver.bodies) == 1


def test_a_silent_station_is_reported_to_its_owner_then_its_return(
    registry: Registry, store: AlertStore, mailbox: Mailbox, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    registry.add("douai-01", 50.37, 3.08)
    store.add(kind="silent", owner="station", station_id="douai-01", stations=["douai-01"],
              silent_after_s=30 * MIN, target=mailbox.url())  # fmt: skip
    clock = Clock()
    service, _ = start_service(clock=clock)
    publisher.publish("douai-01", time.time() - 5, {"pm2_5": 8.0})
    settle(service, 1)
    time.sleep(0.3)
    assert mailbox.mails == []
    clock.offset = 31 * MIN  # half an hour without a reading
    wait_until(lambda: len(mailbox.mails) == 1, timeout=10, what="the silent-station mail")
    subject, body = mailbox.texts()[0]
    assert subject == "Station muette : la station douai-01" and "branchée" in body
    publisher.publish("douai-01", clock() - 5, {"pm2_5": 9.0})
    wait_until(lambda: len(mailbox.mails) == 2, timeout=10, what="the back mail")
    assert mailbox.texts()[1][0] == "Station de retour : la station douai-01"


def test_nothing_is_sent_twice_across_restarts_and_a_start_due_meanwhile_comes_after(
    registry: Registry, store: AlertStore, mailbox: Mailbox, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    registry.add("lens-02", 50.43, 2.83)
    store.add(kind="threshold", owner="station", station_id="lens-02", stations=["lens-02"],
              quantity="pm2_5", above=50, for_s=10 * MIN, target=mailbox.url())  # fmt: skip
    service, runner = start_service()
    now = time.time()
    publisher.publish("lens-02", now - 20 * MIN, {"pm2_5": 80.0})
    settle(service, 1)
    runner.stop()  # pending, stopped: the broker keeps what comes next for its session
    publisher.publish("lens-02", now - 9 * MIN, {"pm2_5": 81.0})  # the start is due now
    assert mailbox.mails == []
    service, runner = start_service()
    wait_until(lambda: len(mailbox.mails) == 1, timeout=10, what="the start after restart")
    runner.stop()
    service, runner = start_service()
    # the same readings again (a duplicate delivery) and a later one still above
    publisher.publish("lens-02", now - 20 * MIN, {"pm2_5": 80.0})
    publisher.publish("lens-02", now - 9 * MIN, {"pm2_5": 81.0})
    publisher.publish("lens-02", now - 8 * MIN, {"pm2_5": 82.0})
    settle(service, 3)
    time.sleep(0.5)
    assert len(mailbox.mails) == 1


def test_replicas_split_the_readings_and_send_each_message_once(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    stations = [f"lille-{i:02d}" for i in range(6)]
    for sid in stations:
        registry.add(sid, 50.63, 3.06)
        store.add(kind="threshold", owner="station", station_id=sid, stations=[sid],
                  quantity="pm2_5", above=50, for_s=4 * MIN, target=receiver.url(sid))  # fmt: skip
    a, _ = start_service("airq-alerts-a")
    b, _ = start_service("airq-alerts-b")
    now = time.time()
    for m in range(10, 0, -1):
        for sid in stations:
            publisher.publish(sid, now - m * MIN, {"pm2_5": 90.0})
    wait_until(lambda: a.counters.readings + b.counters.readings >= 60, timeout=15,
               what="every reading evaluated")  # fmt: skip
    assert a.counters.readings and b.counters.readings  # both replicas had work
    wait_until(lambda: len(receiver.bodies) >= 6, timeout=10, what="six start messages")
    time.sleep(0.5)
    assert len(receiver.bodies) == 6


def test_a_failed_delivery_is_retried_then_sent_once(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import alerts.service

    monkeypatch.setattr(alerts.service, "RETRY_BASE_S", 0.2)
    registry.add("arras-01", 50.29, 2.78)
    store.add(kind="threshold", owner="station", station_id="arras-01", stations=["arras-01"],
              quantity="co2", above=1500, for_s=0, target=receiver.url())  # fmt: skip
    receiver.fail_next = 2
    start_service()
    publisher.publish("arras-01", time.time() - 1, {"co2": 2100.0})
    wait_until(lambda: receiver.bodies, timeout=10, what="the message after two failures")
    assert "aérez la pièce" in receiver.bodies[0]["message"]
    time.sleep(0.5)
    assert len(receiver.bodies) == 1 and receiver.fail_next == 0


def test_an_ended_subscription_is_forgotten_and_its_pending_message_dropped(
    registry: Registry, store: AlertStore, receiver: Receiver, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    registry.add("arras-02", 50.29, 2.78)
    hour = datetime.now(ZoneInfo("Europe/Paris")).hour  # quiet now and for two hours
    sub = store.add(kind="threshold", owner="station", station_id="arras-02",
                    stations=["arras-02"], quantity="co2", above=1500, for_s=0,
                    quiet=f"{hour}-{(hour + 2) % 24}", target=receiver.url())  # fmt: skip
    service, _ = start_service()
    publisher.publish("arras-02", time.time() - 1, {"co2": 2100.0})
    settle(service, 1)
    # the reading is counted when evaluated; its message reaches the outbox just after
    outbox = wait_until(service.db.outbox, timeout=10, what="the held message in the outbox")
    assert [m["kind"] for m in outbox] == ["start"] and outbox[0]["due_at"] > time.time()
    store.remove(sub.id)  # held by the quiet hours, then unsubscribed
    wait_until(lambda: not service.db.read_states([sub.id]), timeout=10, what="state dropped")
    assert sub.id not in service.states and receiver.bodies == []


def test_flagged_readings_start_no_alert_and_a_foreign_board_keeps_no_station_alive(
    registry: Registry, store: AlertStore, mailbox: Mailbox, publisher: Publisher,
    start_service,
) -> None:  # fmt: skip
    """A warm-up value, or a value pushed by another station's board, is stored flagged and
    left out of the statistics: it starts no alert either. A warm-up reading still says the
    station is alive; a foreign board's reading does not."""
    registry.add("lens-01", 50.43, 2.83, name="École Jean Jaurès")
    store.add(kind="threshold", owner="station", station_id="lens-01", stations=["lens-01"],
              quantity="pm2_5", above=50, for_s=5 * MIN, target=mailbox.url())  # fmt: skip
    service, _ = start_service()
    now = time.time()
    for minutes in (20, 17, 14, 11):  # 9 min above the threshold, every value flagged
        publisher.publish("lens-01", now - minutes * MIN, {"pm2_5": 900.0}, flags=("warmup",))
    for minutes in (10, 7, 4, 1):
        publisher.publish(
            "lens-01", now - minutes * MIN, {"pm2_5": 900.0}, flags=("foreign_board",)
        )
    settle(service, 8)
    time.sleep(0.3)
    assert mailbox.mails == []
    ((_version, sub_state),) = service.states.values()
    assert sub_state.tracks == {} and not sub_state.active
    # the same values unflagged start the alert
    for minutes in (9, 6, 3, 0):
        publisher.publish("lens-01", now - minutes * MIN, {"pm2_5": 900.0})
    wait_until(lambda: len(mailbox.mails) == 1, timeout=10, what="the start mail")
