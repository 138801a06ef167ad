"""The HTTPS front of the deployment (deploy/caddy/Caddyfile, docs/operations.md "HTTPS"): a
real caddy (Debian's 2.6.2, the project's Caddyfile in its test mode: Caddy's internal CA,
loopback ports) in front of a real API, itself publishing to a real Mosquitto.

Clients connect from loopback addresses of their own (127.0.0.2, …); 127.0.0.1 is the proxy's,
the only address the API believes X-Forwarded-For from (AIRQ_TRUSTED_PROXIES)."""

from __future__ import annotations

import base64
import json
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from airq.services import API_USER, InfluxDB, Mosquitto, free_port
from api.registry import Registry, hash_token
from tests.acceptance.compose_env import load_compose
from tests.api.api_server import ADMIN_TOKEN, running, settings_for
from tests.deploy.caddy_server import CADDYFILE, Caddy, Front, caddy_binary, next_source
from tests.helpers import wait_until

pytestmark = pytest.mark.services

AIRROHR = Path(__file__).resolve().parents[1] / "data" / "airrohr" / "sds011_bme280.json"
API_PASSWORD = "api-password-https"
STATION = "lens-07"
BURST = 5  # requests a client may make before 429 (refill: 1 per minute)

# The sensor.community firmware on ESP8266 (airrohr-firmware.ino, getNewLoggerWiFiClient)
# gives BearSSL setBufferSizes(1024, …): BearSSL::WiFiClientSecure adds 325 bytes of overhead,
# and BearSSL refuses an encrypted record whose length does not fit the input buffer minus
# its 5-byte header (ssl_engine.c, BR_ERR_TOO_LARGE).
BEARSSL_INPUT_BUFFER = 1024 + 325
BEARSSL_MAX_RECORD = BEARSSL_INPUT_BUFFER - 5


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _board_headers(station: str, token: str) -> dict[str, str]:
    """What the firmware sends to a custom API (HTTPClient: Basic auth, these headers)."""
    return {
        **_basic(station, token),
        "Content-Type": "application/json",
        "X-Sensor": "esp8266-3122405",
        "X-MAC-ID": "esp8266-5ccf7f123456",
    }


@dataclass
class Deployment:
    front: Front
    registry: Registry
    token: str  # STATION's


@contextmanager
def deployment(root: Path, influxd: InfluxDB, **api_settings: Any) -> Iterator[Deployment]:
    """Mosquitto, the API (publishing to it) and caddy in front, a station registered."""
    registry = Registry(f"sqlite:///{root / 'registry.sqlite'}")
    token = registry.add(STATION, 50.449, 2.839, "Grande Résidence")
    broker = Mosquitto(root / "mosquitto", users={API_USER: hash_token(API_PASSWORD)}).start()
    db = f"https_{uuid.uuid4().hex[:8]}"
    influxd.query(f'CREATE DATABASE "{db}"')
    settings = settings_for(
        influxd.url,
        db,
        str(registry.engine.url),
        mqtt_url=broker.url(API_USER, API_PASSWORD),
        rate_limit_per_minute=1,
        rate_limit_burst=BURST,
        **api_settings,
    )
    caddy = None
    try:
        with running(settings) as api:
            wait_until(
                lambda: api.app.state.publisher.connected.is_set(),  # type: ignore[attr-defined]
                what="the API's broker connection",
            )
            caddy = Caddy(root / "caddy", upstream=f"127.0.0.1:{api.base_url.port}").start()
            front = Front(caddy, api)
            try:
                yield Deployment(front, registry, token)
            finally:
                front.close()
    finally:
        if caddy is not None:
            caddy.stop()
        broker.stop()
        registry.close()


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory, influxd: InfluxDB) -> Iterator[Deployment]:
    caddy_binary()
    root = tmp_path_factory.mktemp("https")
    with deployment(root, influxd, trusted_proxies=["127.0.0.1"]) as d:
        yield d


# --- HTTPS with the internal CA ------------------------------------------------------------


def test_https_answers_with_a_certificate_of_the_internal_ca(dep: Deployment) -> None:
    r = dep.front.https("GET", "/v1/quantities")
    assert r.status_code == 200, r.text
    assert "pm2_5" in r.json()
    # the certificate is for the name, issued under the root in caddy's data folder
    with socket.create_connection(("127.0.0.1", dep.front.caddy.https_port)) as raw:
        ctx = dep.front.tls_context()
        with ctx.wrap_socket(raw, server_hostname=dep.front.caddy.domain) as tls:
            cert = tls.getpeercert()
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert ("DNS", dep.front.caddy.domain) in cert["subjectAltName"]


def test_a_client_without_the_internal_root_refuses_the_certificate(dep: Deployment) -> None:
    """The test above proves something: the system's trust store does not know this CA."""
    client = dep.front.client(verify=ssl.create_default_context())
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        dep.front.https("GET", "/v1/quantities", client=client)


def test_clients_without_sni_get_the_certificate_of_the_name(dep: Deployment) -> None:
    """A client given the server's address sends no SNI (curl, Python; not BearSSL, which
    sends the address and is refused: docs/operations.md): default_sni picks the name's."""
    with socket.create_connection(("127.0.0.1", dep.front.caddy.https_port)) as raw:
        ctx = dep.front.tls_context()
        ctx.check_hostname = False
        with ctx.wrap_socket(raw) as tls:  # no server_hostname: no SNI
            cert = tls.getpeercert()
    assert ("DNS", dep.front.caddy.domain) in cert["subjectAltName"]


# --- plain HTTP: redirected, except the boards' push ----------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/carte"),
        ("GET", "/stations/lens-07"),
        ("GET", "/v1/series?station=lens-07&quantity=pm2_5"),
        ("GET", "/docs"),
        ("GET", "/v1/ingest/airrohr"),  # the push is a POST; anything else is redirected
        ("POST", "/v1/ingest/readings"),
        ("POST", "/v1/admin/stations"),
        ("POST", "/v1/ingest/airrohr/"),
    ],
)
def test_plain_http_redirects_to_https(dep: Deployment, method: str, path: str) -> None:
    r = dep.front.http(method, path)
    assert r.status_code == 308, (r.status_code, r.text)  # 308 keeps the method and body
    assert r.headers["location"] == f"{dep.front.https_base}{path}"


def test_plain_http_redirects_to_the_name_whatever_host_was_sent(dep: Deployment) -> None:
    """The redirect goes to AIRQ_DOMAIN, never to a Host the client chose (no open redirect)."""
    for host in ("evil.example", "127.0.0.1"):
        r = dep.front.http("GET", "/carte?lang=en", headers={"Host": host})
        assert r.status_code == 308
        assert r.headers["location"] == f"{dep.front.https_base}/carte?lang=en"


def test_admin_over_plain_http_never_reaches_the_api(dep: Deployment) -> None:
    """The admin token sent in clear gets a redirect, and the request is not executed."""
    r = dep.front.http(
        "POST",
        "/v1/admin/stations",
        json={"id": "roubaix-01", "lat": 50.69, "lon": 3.18},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 308
    assert dep.registry.get("roubaix-01") is None
    # over HTTPS the same request is executed (so the check above could fail)
    ok = dep.front.https(
        "POST",
        "/v1/admin/stations",
        json={"id": "roubaix-02", "lat": 50.69, "lon": 3.18},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert ok.status_code == 201, ok.text
    assert dep.registry.get("roubaix-02") is not None


def test_airrohr_push_over_plain_http_is_accepted_for_a_registered_station(
    dep: Deployment,
) -> None:
    r = dep.front.http(
        "POST",
        "/v1/ingest/airrohr",
        content=AIRROHR.read_bytes(),
        headers=_board_headers(STATION, dep.token),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["station"] == STATION  # published under the authenticated station only
    assert body["accepted"] == {"sds011": 2, "bme280": 3}


def test_airrohr_push_whatever_the_host_a_board_was_given(dep: Deployment) -> None:
    """Boards are often set up with the server's address: Host is then that address."""
    c = dep.front.client()
    r = c.post(
        f"http://127.0.0.1:{dep.front.caddy.http_port}/v1/ingest/airrohr",
        content=AIRROHR.read_bytes(),
        headers=_board_headers(STATION, dep.token),
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("station", "token"),
    [(STATION, "not-the-token"), ("nobody-01", "whatever"), ("", "")],
)
def test_airrohr_push_over_plain_http_is_refused_without_a_station_token(
    dep: Deployment, station: str, token: str
) -> None:
    headers = _board_headers(station, token) if station else {"Content-Type": "application/json"}
    r = dep.front.http("POST", "/v1/ingest/airrohr", content=AIRROHR.read_bytes(), headers=headers)
    assert r.status_code == 401, r.text


def test_airrohr_push_over_plain_http_is_rate_limited_per_client(dep: Deployment) -> None:
    board = dep.front.client()
    codes = [
        dep.front.http(
            "POST",
            "/v1/ingest/airrohr",
            client=board,
            content=b"{}",
            headers=_board_headers(STATION, "guessing"),
        ).status_code
        for _ in range(BURST + 2)
    ]
    assert codes == [401] * BURST + [429, 429]
    # the registered board, from its own address, is not held back by the guesser
    r = dep.front.http(
        "POST",
        "/v1/ingest/airrohr",
        content=AIRROHR.read_bytes(),
        headers=_board_headers(STATION, dep.token),
    )
    assert r.status_code == 200, r.text


def test_airrohr_push_larger_than_the_api_takes_gets_its_413_through_the_proxy(
    dep: Deployment,
) -> None:
    r = dep.front.http(
        "POST",
        "/v1/ingest/airrohr",
        content=b" " * (64 * 1024 + 1),
        headers=_board_headers(STATION, dep.token),
    )
    assert r.status_code == 413


def test_airrohr_push_over_https(dep: Deployment) -> None:
    r = dep.front.https(
        "POST",
        "/v1/ingest/airrohr",
        content=AIRROHR.read_bytes(),
        headers=_board_headers(STATION, dep.token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["station"] == STATION


# --- headers and what stays inside -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/carte", "/stations/lens-07"])
def test_csp_and_security_headers_survive_the_proxy(dep: Deployment, path: str) -> None:
    direct = dep.front.api.get(path)
    proxied = dep.front.https("GET", path)
    assert proxied.status_code == direct.status_code == 200
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
        assert proxied.headers.get(name) == direct.headers[name], name
    assert (
        "'unsafe-inline'"
        not in proxied.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    assert proxied.content == direct.content


def test_problem_details_survive_the_proxy(dep: Deployment) -> None:
    r = dep.front.https("GET", "/v1/stations/nobody-01")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_metrics_are_not_served_over_the_internet(dep: Deployment) -> None:
    assert dep.front.api.get("/metrics").status_code == 200  # the API has them
    assert dep.front.https("GET", "/metrics").status_code == 404


# --- the client address ---------------------------------------------------------------------


def test_rate_limit_sees_the_client_address_not_a_spoofed_header(dep: Deployment) -> None:
    """A client sending a new X-Forwarded-For each time keeps one bucket (its address), and
    another client behind the same proxy keeps its own."""
    spoofer = dep.front.client()
    codes = [
        dep.front.https(
            "GET",
            "/v1/stations",
            client=spoofer,
            headers={"X-Forwarded-For": f"203.0.113.{i}, 198.51.100.{i}"},
        ).status_code
        for i in range(BURST + 2)
    ]
    assert codes == [200] * BURST + [429, 429]
    assert dep.front.https("GET", "/v1/stations").status_code == 200


def test_without_trusted_proxies_every_client_shares_the_proxy_bucket(
    tmp_path: Path, influxd: InfluxDB
) -> None:
    """What AIRQ_TRUSTED_PROXIES changes: without it, the API keys on caddy's address, so one
    client's burst holds back everyone (the test above would fail)."""
    caddy_binary()
    with deployment(tmp_path, influxd) as d:
        first = d.front.client()
        codes = [
            d.front.https("GET", "/v1/stations", client=first).status_code for _ in range(BURST)
        ]
        assert codes == [200] * BURST
        assert d.front.https("GET", "/v1/stations").status_code == 429  # another client


# --- what an ESP8266 needs of the TLS front ---------------------------------------------------


@dataclass
class Record:
    type: int  # 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
    length: int
    encrypted: bool


def bearssl_like_exchange(
    port: int, domain: str, cafile: Path, request: bytes
) -> tuple[list[Record], bytes]:
    """One request as the ESP8266 firmware makes it: TLS 1.2 at most (BearSSL), an ECDSA
    suite it has, no session ticket, no ALPN (HTTP/1.1), ``Connection: close``. Returns every
    TLS record the server sent (type, length, sent encrypted or not) and the response."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(cafile))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305")
    ctx.options |= ssl.OP_NO_TICKET
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=domain)
    records: list[Record] = []
    pending = b""
    encrypted = False
    with socket.create_connection(
        ("127.0.0.1", port), timeout=20, source_address=(next_source(), 0)
    ) as sock:

        def flush() -> None:
            data = outgoing.read()
            if data:
                sock.sendall(data)

        def receive() -> bool:
            nonlocal pending, encrypted
            data = sock.recv(65536)
            if not data:
                incoming.write_eof()
                return False
            pending += data
            while len(pending) >= 5 and len(pending) >= 5 + int.from_bytes(pending[3:5], "big"):
                length = int.from_bytes(pending[3:5], "big")
                records.append(Record(pending[0], length, encrypted))
                encrypted = encrypted or pending[0] == 20  # after ChangeCipherSpec
                pending = pending[5 + length :]
            incoming.write(data)
            return True

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                if not receive():
                    raise ConnectionError("closed during the handshake") from None
        assert tls.version() == "TLSv1.2"
        tls.write(request)
        flush()
        response = b""
        while True:
            try:
                chunk = tls.read(65536)
            except ssl.SSLWantReadError:
                if not receive():
                    break
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            if not chunk:
                break
            response += chunk
    return records, response


def _request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_esp8266_push_over_tls_fits_the_firmware_receive_buffer(dep: Deployment) -> None:
    """The answer to an airrohr push comes in encrypted records small enough for the 1 KB
    receive buffer the firmware gives BearSSL. Caddy (Go's crypto/tls) does not negotiate
    Maximum Fragment Length and cannot be told a record size: it works because Go starts every
    connection with records of one TCP segment (about 1.2 KB) and this answer is one record."""
    caddy = dep.front.caddy
    body = AIRROHR.read_bytes()
    request = _request(
        "POST",
        "/v1/ingest/airrohr",
        caddy.domain,
        {**_board_headers(STATION, dep.token), "User-Agent": "NRZ-2024-135/3122405/5ccf7f123456"},
        body,
    )
    records, response = bearssl_like_exchange(
        caddy.https_port, caddy.domain, caddy.root_cert, request
    )
    assert response.startswith(b"HTTP/1.1 200 "), response[:200]
    assert b'"station":"lens-07"' in response
    sealed = [r for r in records if r.encrypted]
    assert sealed, records  # the Finished message and the answer at least
    too_big = [r for r in sealed if r.length > BEARSSL_MAX_RECORD]
    assert too_big == [], records
    # records sent in clear (the certificate chain) are read by BearSSL in pieces, up to 16 KB
    assert all(r.length <= 16384 for r in records if not r.encrypted)


def test_the_esp8266_fragment_length_request_does_not_break_the_handshake(
    dep: Deployment,
) -> None:
    """BearSSL with a 1 KB buffer puts max_fragment_length=1024 (RFC 6066) in its ClientHello
    and fails only if the server answers another length (ERR_BAD_FRAGLEN). Debian's openssl
    client sends the same extension: the handshake completes and the push goes through; the
    server either ignores the extension (Go, today) or grants 1024."""
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl not installed (apt-get install openssl)")
    caddy = dep.front.caddy
    request = _request(
        "POST",
        "/v1/ingest/airrohr",
        caddy.domain,
        _board_headers(STATION, dep.token),
        AIRROHR.read_bytes(),
    )
    source = next_source()
    r = subprocess.run(
        [
            exe,
            "s_client",
            "-connect",
            f"127.0.0.1:{caddy.https_port}",
            "-bind",
            f"{source}:0",
            "-servername",
            caddy.domain,
            "-tls1_2",
            "-maxfraglen",
            "1024",
            "-tlsextdebug",
            "-CAfile",
            str(caddy.root_cert),
            "-ign_eof",
        ],
        input=request,
        capture_output=True,
        timeout=60,
    )
    out = r.stdout.decode(errors="replace")
    assert "Verify return code: 0 (ok)" in out, out[-2000:]
    assert "HTTP/1.1 200 OK" in out and '"station":"lens-07"' in out, out[-2000:]
    granted = re.search(r'TLS server extension "max fragment length".*\n(.*)', out)
    assert granted is None or "02" in granted.group(1), out  # absent, or 2^10 granted


def test_larger_answers_come_in_records_too_big_for_the_esp8266(dep: Deployment) -> None:
    """The measure above can fail: the map page (12 KB) comes in growing records (Go's dynamic
    record sizing), past what the board could decrypt. Boards only push, so only the push's
    answer must fit; docs/operations.md says so."""
    caddy = dep.front.caddy
    request = _request("GET", "/carte", caddy.domain, {}, b"")
    records, response = bearssl_like_exchange(
        caddy.https_port, caddy.domain, caddy.root_cert, request
    )
    assert response.startswith(b"HTTP/1.1 200 ")
    assert max(r.length for r in records if r.encrypted) > BEARSSL_MAX_RECORD


# --- the compose service runs this file --------------------------------------------------------


def _caddyfile_variables() -> dict[str, str | None]:
    """``{$NAME}`` / ``{$NAME:default}`` read by the Caddyfile: name -> default (None: none)."""
    found = re.findall(r"\{\$([A-Z_][A-Z0-9_]*)(:[^}]*)?\}", CADDYFILE.read_text())
    return {name: default[1:] if default else None for name, default in found}


def test_tests_change_only_where_caddy_listens_and_what_it_proxies() -> None:
    """The compose service gives the Caddyfile its required variables; the tests set those
    (AIRQ_TLS to its test mode) plus only listen address, ports and upstream, which the
    deployment leaves to their defaults."""
    compose = load_compose()
    service = compose["services"]["caddy"]
    given = set(service["environment"])
    variables = _caddyfile_variables()
    required = {n for n, d in variables.items() if d is None}
    assert required <= given
    caddy = Caddy(Path("/nonexistent"), upstream="127.0.0.1:1")
    test_only = {k for k in caddy.environment() if k.startswith("AIRQ_")} - given
    assert test_only == {
        "AIRQ_CADDY_BIND",
        "AIRQ_CADDY_HTTP_PORT",
        "AIRQ_CADDY_HTTPS_PORT",
        "AIRQ_CADDY_UPSTREAM",
    }
    assert all(variables[k] is not None for k in test_only)  # defaulted in the deployment
    assert variables["AIRQ_CADDY_UPSTREAM"] == "api:8000"
    assert "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in service["volumes"]
    assert {"80:80", "443:443"} <= set(service["ports"])


@pytest.mark.parametrize(
    ("domain", "tls", "issuers"),
    [
        ("localhost", "internal", ["internal"]),  # compose's defaults
        ("airq.example.org", "ops@example.org", ["acme", "zerossl"]),  # a real domain
    ],
)
def test_the_deployment_modes_are_valid_caddy_configurations(
    tmp_path: Path, domain: str, tls: str, issuers: list[str]
) -> None:
    """What the compose service runs (no port or address changed) adapts and validates; with
    an e-mail the certificate comes from ACME with that account (Let's Encrypt, then ZeroSSL)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "AIRQ_DOMAIN": domain,
        "AIRQ_TLS": tls,
    }
    run = [caddy_binary(), "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    adapted = subprocess.run(
        [run[0], "adapt", *run[1:]], env=env, capture_output=True, text=True, timeout=60
    )
    assert adapted.returncode == 0, adapted.stderr
    config = json.loads(adapted.stdout)
    policy = config["apps"]["tls"]["automation"]["policies"][0]
    assert policy["subjects"] == [domain]
    assert [i["module"] for i in policy["issuers"]] == issuers
    if tls != "internal":
        assert {i["email"] for i in policy["issuers"]} == {tls}
    listen = {a for srv in config["apps"]["http"]["servers"].values() for a in srv["listen"]}
    assert listen == {":80", ":443"}  # every interface of the container
    valid = subprocess.run(
        [run[0], "validate", *run[1:]], env=env, capture_output=True, text=True, timeout=60
    )
    assert valid.returncode == 0, valid.stderr


def test_compose_trusts_forwarded_for_from_caddy_only() -> None:
    services = load_compose()["services"]
    api, caddy = services["api"], services["caddy"]
    address = caddy["networks"]["edge"]["ipv4_address"]
    assert "edge" in api["networks"]
    assert api["environment"]["AIRQ_TRUSTED_PROXIES"] == f'["{address}"]'
    # the API is reached from the Internet through caddy only
    assert all(str(p).startswith("127.0.0.1:") for p in api["ports"])


def _healthcheck(caddy: Caddy, port: int) -> list[str]:
    test = load_compose()["services"]["caddy"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return [a.replace("127.0.0.1:80/", f"127.0.0.1:{port}/") for a in test[1:]]


def test_compose_healthcheck_passes_on_the_running_caddy(dep: Deployment) -> None:
    args = _healthcheck(dep.front.caddy, dep.front.caddy.http_port)
    if shutil.which(args[0]) is None:
        pytest.skip(f"{args[0]} not installed")
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (shlex.join(args), r.stderr)
    # and fails where no caddy listens
    args = _healthcheck(dep.front.caddy, free_port())
    assert subprocess.run(args, capture_output=True, timeout=30).returncode != 0
