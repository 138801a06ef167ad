"""TLS to the broker: a CA file in the gateway config, the TLS listener of the deployment's
Mosquitto (8883 deployed), the readings reaching the ingest's account on the plain one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airq.services import INGEST_USER, Mosquitto
from api.registry import hash_token
from gateway.config import GatewayConfig
from gateway.service import Gateway
from tests.helpers import INGEST_PASSWORD, MqttCollector, ThreadRunner, wait_until

pytestmark = pytest.mark.services


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    d = tmp_path / "pki"
    d.mkdir()
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=AirQuartiers test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=d,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=d,
    )
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.crt",
        cwd=d,
    )
    return d


# paho-mqtt 2.2 leaves the socket of a failed TLS handshake to the garbage collector
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_gateway_publishes_over_tls_with_a_ca_file(tmp_path, certs, registry, plug):
    token = registry.add("lens-tls", 50.449, 2.839)
    broker = Mosquitto(
        tmp_path / "mq",
        users={INGEST_USER: hash_token(INGEST_PASSWORD), **registry.mosquitto_users()},
        tls=(certs / "server.crt", certs / "server.key"),
    ).start()
    # the ingest's side: the services' plain listener (mosquitto:1883 in the compose network)
    collector = MqttCollector(broker.url(INGEST_USER, INGEST_PASSWORD), client_id="ingest-w")
    try:

        def config(ca: Path) -> GatewayConfig:
            return GatewayConfig.from_dict(
                {
                    "station": "lens-tls",
                    "state_dir": str(tmp_path / f"state-{ca.stem}"),
                    "mqtt": {
                        "url": broker.tls_url("lens-tls", token),
                        "ca_file": str(ca),
                    },
                    "sensors": [
                        {"type": "sds011", "port": str(plug.path), "interval": 0.2, "warmup": 0}
                    ],
                }
            )

        gw = Gateway(config(certs / "ca.crt"))
        runner = ThreadRunner(gw.run, "gateway")
        wait_until(lambda: gw.publisher.published >= 3, what="readings over TLS")
        wait_until(lambda: len(collector.messages) >= 3, what="readings at the ingest")
        runner.stop()

        # a CA that did not sign the broker's certificate: no connection, readings kept
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=other",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
            cwd=certs,
        )
        gw2 = Gateway(config(certs / "other.crt"))
        runner2 = ThreadRunner(gw2.run, "gateway")
        wait_until(lambda: gw2.store.depth >= 3, what="readings kept while TLS fails")
        assert gw2.publisher.published == 0 and gw2.publisher.state != "connected"
        runner2.stop()
    finally:
        collector.close()
        broker.stop()
