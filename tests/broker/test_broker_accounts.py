"""Broker accounts kept from the registry (dynamic security), against the real Mosquitto: a
station connects only as itself, registry operations take effect within a second, the
service accounts survive anything the registry does."""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from airq.services import ADMIN_USER, API_USER, INGEST_USER
from airq_core import wire
from api.broker_accounts import BrokerError
from api.registry import Registry, hash_token
from tests.helpers import INGEST_PASSWORD, MqttCollector, wait_until

pytestmark = pytest.mark.services


class Session:
    """A real paho connection: CONNACK's reason, then whether the broker closed it."""

    def __init__(self, port: int, user: str, password: str, client_id: str, clean: bool = True):
        self.connack = threading.Event()
        self.closed = threading.Event()
        self.reason = ""
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean,
            protocol=mqtt.MQTTv311,
        )
        self.client.username_pw_set(user, password)

        def on_connect(c, u, flags, rc, props):  # type: ignore[no-untyped-def]
            self.reason = str(rc)
            self.connack.set()
            if rc.is_failure:
                c.disconnect()  # no retry

        def on_disconnect(c, u, flags, rc, props):  # type: ignore[no-untyped-def]
            self.closed.set()
            c.disconnect()  # closed by the broker: no reconnection

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert self.connack.wait(5), "no CONNACK"

    @property
    def accepted(self) -> bool:
        return self.reason == "Success"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def login(port: int, user: str, password: str, client_id: str) -> str:
    """CONNACK's reason for a fresh connection ("Success" or why not)."""
    s = Session(port, user, password, client_id)
    s.close()
    return s.reason


def test_a_station_connects_only_with_its_own_id_as_client_id(registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    token = registry.add("lens-01", 50.4, 2.8)
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Success"
    for other in ("airq-ingest", "airq-api-1", "lille-02", "lens-01-bis", "gw"):
        assert login(mosquitto.port, "lens-01", token, other) == "Not authorized", other
    assert login(mosquitto.port, "lens-01", "not-its-token", "lens-01") == "Not authorized"
    assert login(mosquitto.port, "nobody", "x", "nobody") == "Not authorized"


def test_a_station_publishes_only_on_its_own_topics(registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    tokens = {st: registry.add(st, 50.4, 2.8) for st in ("lens-01", "lille-02")}
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD), client_id="acl-watch")
    s = Session(mosquitto.port, "lens-01", tokens["lens-01"], "lens-01")
    try:
        s.client.publish(wire.readings_topic("lille-02"), b'{"forged": 1}', qos=1)
        # Mosquitto 2.0 closes the connection of a client publishing where it may not
        assert s.closed.wait(5), "a forged publish left the connection open"
    finally:
        s.close()
    s = Session(mosquitto.port, "lens-01", tokens["lens-01"], "lens-01")
    try:
        s.client.publish(wire.readings_topic("lens-01"), b'{"own": 1}', qos=1).wait_for_publish(5)
        wait_until(lambda: collector.messages, what="the station's own reading")
        time.sleep(0.3)  # the forged one, published first, would be there by now
        assert collector.messages == [(wire.readings_topic("lens-01"), b'{"own": 1}')]
    finally:
        s.close()
        collector.close()


def test_registry_changes_reach_the_broker_within_a_second(registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    token = registry.add("lens-01", 50.4, 2.8)
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Success"
    assert time.monotonic() - t0 < 1.0

    live = Session(mosquitto.port, "lens-01", token, "lens-01")
    assert live.accepted
    t0 = time.monotonic()
    new = registry.rotate_token("lens-01")
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Not authorized"
    assert login(mosquitto.port, "lens-01", new, "lens-01") == "Success"
    assert time.monotonic() - t0 < 1.0
    assert live.closed.wait(1.0), "a connection open with the old token stays open"
    live.close()

    live = Session(mosquitto.port, "lens-01", new, "lens-01")
    assert live.accepted
    t0 = time.monotonic()
    registry.retire("lens-01")
    assert live.closed.wait(1.0), "the retired station's connection stays open"
    assert login(mosquitto.port, "lens-01", new, "lens-01") == "Not authorized"
    assert time.monotonic() - t0 < 1.0
    live.close()


def test_a_refused_broker_change_leaves_the_registry_unchanged(registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    token = registry.add("lens-01", 50.4, 2.8)
    mosquitto.stop()
    try:
        with pytest.raises(BrokerError, match="not reachable"):
            registry.add("lille-02", 50.6, 3.0)
        assert registry.get("lille-02") is None
        with pytest.raises(BrokerError):
            registry.rotate_token("lens-01")
        with pytest.raises(BrokerError):
            registry.retire("lens-01")
        station = registry.get("lens-01")
        assert station is not None and station.retired_at is None
        assert registry.verify_token("lens-01", token)
    finally:
        mosquitto.start()
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Success"
    token = registry.add("lille-02", 50.6, 3.0)  # the same id, once the broker is back
    assert login(mosquitto.port, "lille-02", token, "lille-02") == "Success"


def test_registry_operations_never_remove_the_service_accounts(registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    accounts = mosquitto.accounts
    accounts.sync([], {API_USER: "api-secret-123"})  # creates the API's account
    tokens = {st: registry.add(st, 50.4, 2.8) for st in ("lens-01", "lille-02")}
    registry.rotate_token("lens-01")
    registry.retire("lille-02")
    for name in (INGEST_USER, API_USER, ADMIN_USER, "airq-x"):
        with pytest.raises(BrokerError, match="not a station id"):
            accounts.remove_station(name)
    report = accounts.sync([])  # a registry emptied by mistake
    assert report.removed == ["lens-01"]
    assert {c["username"] for c in accounts.list_clients()} == {INGEST_USER, API_USER, ADMIN_USER}
    assert login(mosquitto.port, INGEST_USER, INGEST_PASSWORD, "airq-ingest") == "Success"
    assert login(mosquitto.port, API_USER, "api-secret-123", "airq-api-1") == "Success"
    assert login(mosquitto.port, "lille-02", tokens["lille-02"], "lille-02") == "Not authorized"


def test_sync_removes_unknown_stations_binds_strays_and_reports_missing(
    registry, mosquitto
) -> None:  # type: ignore[no-untyped-def]
    accounts = mosquitto.accounts
    ghost_token = "ghost-token-0123456789"
    accounts.create_station("ghost-01", ghost_token)  # on the broker, not in the registry
    token = registry.add("lens-01", 50.4, 2.8)
    gone = registry.add("lille-02", 50.6, 3.0)
    accounts.remove_station("lille-02")  # lost by the broker (restored from an old backup)
    # a station's account changed by hand: no bound client id, no role, out of the group
    stray = registry.add("roubaix-03", 50.69, 3.17)
    accounts.client.run(
        [
            {"command": "setClientId", "username": "roubaix-03"},
            {
                "command": "removeClientRole",
                "username": "roubaix-03",
                "rolename": "station-roubaix-03",
            },
            {
                "command": "removeGroupClient",
                "groupname": "airq-stations",
                "username": "roubaix-03",
            },
        ]
    )
    assert login(mosquitto.port, "roubaix-03", stray, "other") == "Success"
    first = accounts.sync(registry.publishing_ids(), {INGEST_USER: INGEST_PASSWORD})
    assert first.removed == ["ghost-01"] and first.missing == ["lille-02"]
    assert first.bound == ["roubaix-03"] and first.created == []
    assert login(mosquitto.port, "ghost-01", ghost_token, "ghost-01") == "Not authorized"
    assert login(mosquitto.port, "roubaix-03", stray, "other") == "Not authorized"
    assert login(mosquitto.port, "roubaix-03", stray, "roubaix-03") == "Success"
    assert login(mosquitto.port, "lens-01", token, "lens-01") == "Success"
    again = accounts.sync(registry.publishing_ids())
    assert again.as_dict() == {"created": [], "bound": [], "removed": [], "missing": ["lille-02"]}
    new = registry.rotate_token("lille-02")  # what the report says to do
    assert login(mosquitto.port, "lille-02", gone, "lille-02") == "Not authorized"
    assert login(mosquitto.port, "lille-02", new, "lille-02") == "Success"
    assert accounts.sync(registry.publishing_ids()).missing == []


def test_imported_stations_get_no_broker_account(registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    registry.ensure("sc-12345", 50.6, 3.0, source="sensor.community")
    names = {c["username"] for c in mosquitto.accounts.list_clients()}
    assert "sc-12345" not in names
    assert "sc-12345" not in registry.publishing_ids()


def test_a_broker_first_started_from_registry_hashes_accepts_the_tokens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The registry's PBKDF2 hashes go into the broker's first file as they are (also with
    more iterations than the broker's own 101)."""
    from airq.services import Mosquitto

    reg = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    try:
        token = reg.add("lens-01", 50.4, 2.8)
        users = {**reg.mosquitto_users(), "lille-02": hash_token("slow-token", 20_000)}
        broker = Mosquitto(tmp_path / "m", users=users).start()
        try:
            assert login(broker.port, "lens-01", token, "lens-01") == "Success"
            assert login(broker.port, "lille-02", "slow-token", "lille-02") == "Success"
            saved = json.loads(broker.dynsec_file.read_text())
            assert {c["username"] for c in saved["clients"]} >= {ADMIN_USER, "lens-01"}
        finally:
            broker.stop()
    finally:
        reg.close()
