"""MQTT over TLS as deployed: deploy/mosquitto/mosquitto.conf run by the real broker with both
its listeners (plain for the services, TLS for stations and gateways), a certificate from
`airq broker tls-cert` (private CA). A station registered through the API publishes over TLS
at once and is cut off at once when retired; a client that does not trust the CA, plain MQTT
on the TLS port and TLS below 1.2 are refused; a renewed certificate is served after SIGHUP."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from airq.commands.broker import make_tls_cert
from airq.services import INGEST_USER, Mosquitto
from airq_core import wire
from api.registry import Registry, hash_token
from tests.api.api_server import ADMIN_TOKEN, running, settings_for
from tests.helpers import INGEST_PASSWORD, MqttCollector, wait_until

pytestmark = pytest.mark.services

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# an MQTT 3.1.1 CONNECT without credentials (client id "probe"): answered by a CONNACK on a
# plain listener (refused: not authorised), by nothing on the TLS one
CONNECT = bytes.fromhex("101100044d5154540402003c000570726f6265")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's command, run as documented: the broker's folder (fullchain.pem,
    privkey.pem, ca.crt) and the private CA beside it (tls-ca/)."""
    root = tmp_path_factory.mktemp("pki")
    r = subprocess.run(
        [sys.executable, "-m", "airq", "--lang", "en", "broker", "tls-cert",
         "--domain", "localhost", "--domain", "127.0.0.1", "--out", str(root / "tls")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"ca_file = this file: {root / 'tls' / 'ca.crt'}" in r.stdout
    assert (root / "tls-ca" / "ca.key").stat().st_mode & 0o077 == 0
    assert (root / "tls" / "privkey.pem").stat().st_mode & 0o077 == 0
    return root


@pytest.fixture
def broker(tmp_path: Path, registry: Registry, pki: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(
        tmp_path / "mosquitto",
        users={INGEST_USER: hash_token(INGEST_PASSWORD), **registry.mosquitto_users()},
        tls=(pki / "tls" / "fullchain.pem", pki / "tls" / "privkey.pem"),
    ).start()
    registry.accounts = b.accounts
    yield b
    registry.accounts = None
    b.stop()


class TlsSession:
    """A station's paho connection over TLS: CONNACK's reason, then whether the broker
    closed it (no reconnection)."""

    def __init__(self, port: int, user: str, password: str, ca_file: Path) -> None:
        self.connack = threading.Event()
        self.closed = threading.Event()
        self.reason = ""
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv311
        )
        self.client.username_pw_set(user, password)
        self.client.tls_set_context(ssl.create_default_context(cafile=str(ca_file)))

        def on_connect(c, u, flags, rc, props):  # type: ignore[no-untyped-def]
            self.reason = str(rc)
            self.connack.set()
            if rc.is_failure:
                c.disconnect()

        def on_disconnect(c, u, flags, rc, props):  # type: ignore[no-untyped-def]
            self.closed.set()
            c.disconnect()

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert self.connack.wait(5), "no CONNACK"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def tls_login(port: int, user: str, password: str, ca_file: Path) -> str:
    s = TlsSession(port, user, password, ca_file)
    s.close()
    return s.reason


def handshake(port: int, ctx: ssl.SSLContext, name: str = "127.0.0.1") -> tuple[str, str]:
    """(certificate serial, TLS version) of a TLS handshake with the broker."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=name) as tls,
    ):
        cert = tls.getpeercert()
        assert cert is not None
        return str(cert["serialNumber"]), str(tls.version())


def first_reply(port: int, data: bytes) -> bytes:
    """What the broker answers to ``data`` sent on a bare TCP connection (b"": closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        try:
            return s.recv(64)
        except ConnectionResetError:
            return b""


@pytest.fixture
def api(monkeypatch, registry, broker, influxd):  # type: ignore[no-untyped-def]
    # as in the deployment: the API is the broker's admin over the plain listener
    monkeypatch.setenv("AIRQ_BROKER_ADMIN_URL", broker.admin_url)
    monkeypatch.setenv("AIRQ_API_MQTT_PASSWORD", "api-publisher-secret-42")
    settings = settings_for(influxd.url, "nodb", str(registry.engine.url))
    with running(settings) as client:
        sync = client.app.state.broker_sync  # type: ignore[attr-defined]
        assert sync is not None and sync.done.wait(10), "no start-up sync"
        yield client


def test_a_station_registered_through_the_api_publishes_over_tls_at_once(api, broker, pki) -> None:  # type: ignore[no-untyped-def]
    ca = pki / "tls" / "ca.crt"
    # the ingest's side: the plain listener, as in the compose network
    collector = MqttCollector(broker.url(INGEST_USER, INGEST_PASSWORD), client_id="ingest-w")
    wait_until(collector.subscribed.is_set, what="the ingest's subscription")
    try:
        r = api.post(
            "/v1/admin/stations", json={"id": "lens-01", "lat": 50.4, "lon": 2.8}, headers=AUTH
        )
        answered = time.monotonic()
        assert r.status_code == 201, r.text
        s = TlsSession(broker.tls_port, "lens-01", r.json()["token"], ca)  # first attempt
        try:
            assert s.reason == "Success", s.reason
            info = s.client.publish(wire.readings_topic("lens-01"), b"[]", qos=1)
            info.wait_for_publish(5)  # PUBACK: the broker accepted it
            accepted = time.monotonic() - answered
            wait_until(lambda: collector.messages, what="the station's message, over TLS")
            delivered = time.monotonic() - answered
        finally:
            s.close()
        print(f"registration -> PUBACK over TLS {accepted:.3f} s, at the ingest {delivered:.3f} s")
        assert accepted < 1.0 and delivered < 1.0
        assert collector.messages == [(wire.readings_topic("lens-01"), b"[]")]
    finally:
        collector.close()


def test_a_retired_station_is_cut_off_over_tls(registry, broker, pki) -> None:  # type: ignore[no-untyped-def]
    ca = pki / "tls" / "ca.crt"
    token = registry.add("lens-01", 50.4, 2.8)
    live = TlsSession(broker.tls_port, "lens-01", token, ca)
    assert live.reason == "Success", live.reason
    t0 = time.monotonic()
    registry.retire("lens-01")
    try:
        assert live.closed.wait(max(0.0, 1.0 - (time.monotonic() - t0))), "still connected"
        assert tls_login(broker.tls_port, "lens-01", token, ca) == "Not authorized"
    finally:
        live.close()


# paho-mqtt 2.2 leaves the socket of a failed TLS handshake to the garbage collector
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_client_that_does_not_trust_the_ca_fails_the_handshake(  # type: ignore[no-untyped-def]
    tmp_path, registry, broker, pki
) -> None:
    token = registry.add("lens-01", 50.4, 2.8)
    other = tmp_path / "other"
    make_tls_cert(["localhost"], other / "tls", other / "ca")
    for ctx in (
        ssl.create_default_context(),  # the system's CAs: a gateway without ca_file
        ssl.create_default_context(cafile=str(other / "ca" / "ca.crt")),  # another CA
    ):
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            handshake(broker.tls_port, ctx)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="lens-01")
        client.username_pw_set("lens-01", token)
        client.tls_set_context(ctx)
        with pytest.raises(ssl.SSLCertVerificationError):
            client.connect("127.0.0.1", broker.tls_port)
    # the right CA, but a name the certificate does not carry
    trusting = ssl.create_default_context(cafile=str(pki / "tls" / "ca.crt"))
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(broker.tls_port, trusting, name="mqtt.example.org")
    assert handshake(broker.tls_port, trusting)[1] in ("TLSv1.2", "TLSv1.3")
    assert tls_login(broker.tls_port, "lens-01", token, pki / "tls" / "ca.crt") == "Success"


def test_plain_mqtt_and_old_tls_are_refused_on_the_tls_port(broker, pki) -> None:  # type: ignore[no-untyped-def]
    # the same bytes get a CONNACK (0x20, not authorised) on the plain listener
    assert first_reply(broker.port, CONNECT)[:1] == b"\x20"
    assert first_reply(broker.tls_port, CONNECT) == b""

    def context(version: ssl.TLSVersion) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(pki / "tls" / "ca.crt"))
        with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = version
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer them
        return ctx

    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        # the broker answers with a protocol-version alert: it refuses, not our client
        with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
            handshake(broker.tls_port, context(old))
    for ok in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        assert handshake(broker.tls_port, context(ok))[1] == ok.name.replace("_", ".")


def test_a_renewed_certificate_is_served_after_sighup(registry, broker, pki) -> None:  # type: ignore[no-untyped-def]
    """Mosquitto 2.0.11 reads certfile/keyfile again on SIGHUP: new connections get the new
    certificate, open ones stay connected. (`airq broker tls-cert` again: same CA.)"""
    ca = pki / "tls" / "ca.crt"
    ctx = ssl.create_default_context(cafile=str(ca))
    token = registry.add("lens-01", 50.4, 2.8)
    live = TlsSession(broker.tls_port, "lens-01", token, ca)
    try:
        before, _ = handshake(broker.tls_port, ctx)
        make_tls_cert(["localhost", "127.0.0.1"], pki / "tls", pki / "tls-ca")
        renewed = subprocess.run(
            ["openssl", "x509", "-in", str(pki / "tls" / "fullchain.pem"), "-noout", "-serial"],
            capture_output=True, text=True, check=True,
        ).stdout.strip().partition("=")[2]  # fmt: skip
        assert renewed != before
        assert handshake(broker.tls_port, ctx)[0] == before  # not before the signal
        assert broker.proc is not None
        os.kill(broker.proc.pid, signal.SIGHUP)
        wait_until(lambda: handshake(broker.tls_port, ctx)[0] == renewed, what="new certificate")
        assert broker.proc.poll() is None
        assert not live.closed.is_set(), "SIGHUP closed an open TLS connection"
        live.client.publish(wire.readings_topic("lens-01"), b"[]", qos=1).wait_for_publish(5)
    finally:
        live.close()
