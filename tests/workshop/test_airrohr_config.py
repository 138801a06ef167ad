"""airrohr (sensor.community firmware) settings: the /config form, the French steps, applying
them to a board's set-up page, and the request they make the firmware send, accepted by a
running API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn

from airq.cli import main
from airq.services import API_USER, INGEST_USER, free_port
from api.app import create_app
from api.registry import hash_token
from api.settings import ApiSettings
from firmware_tools.airrohr import airrohr_settings, firmware_request
from firmware_tools.settings import WorkshopSettings
from tests.helpers import INGEST_PASSWORD, wait_until

# Configuration keys of the firmware (airrohr-firmware/airrohr-cfg.h.py, configShape): the
# /config POST handler only reads these names.
FIRMWARE_KEYS = {
    "current_lang", "wlanssid", "wlanpwd", "www_username", "www_password", "fs_ssid", "fs_pwd",
    "www_basicauth_enabled", "dht_read", "htu21d_read", "ppd_read", "sds_read", "pms_read",
    "hpm_read", "npm_read", "npm_fulltime", "ips_read", "sen5x_read", "sps30_read", "bmp_read",
    "bmx280_read", "sht3x_read", "scd30_read", "ds18b20_read", "dnms_read", "dnms_correction",
    "temp_correction", "height_above_sealevel", "gps_read", "send2dusti", "ssl_dusti",
    "send2madavi", "ssl_madavi", "send2sensemap", "send2fsapp", "send2aircms", "send2csv",
    "auto_update", "use_beta", "has_display", "has_sh1106", "has_flipped_display",
    "has_lcd1602", "has_lcd1602_27", "has_lcd2004", "has_lcd2004_27", "display_wifi_info",
    "display_device_info", "static_ip", "static_subnet", "static_gateway", "static_dns",
    "debug", "sending_intervall_ms", "time_for_wifi_config", "powersave", "senseboxid",
    "send2custom", "host_custom", "url_custom", "port_custom", "user_custom", "pwd_custom",
    "ssl_custom", "send2influx", "host_influx", "url_influx", "port_influx", "user_influx",
    "pwd_influx", "measurement_name_influx", "ssl_influx",
}  # fmt: skip

TOKEN = "Zk3x9Qw2LmN8pR4tV6yB1cD5fG7hJ0kL"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "data.airquartiers.fr")
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_CHECK", "false")  # no network here


def _settings(**kw: object) -> WorkshopSettings:
    base: dict[str, object] = {
        "ingest_host": "data.airquartiers.fr",
        "ingest_port": 443,
        "ingest_tls": True,
    }
    return WorkshopSettings(**{**base, **kw})  # type: ignore[arg-type]


def test_form_fields_are_firmware_keys_with_firmware_values() -> None:
    fields = airrohr_settings(
        "lens-01",
        TOKEN,
        _settings(),
        ["sds011", "bme280"],
        wifi_ssid="Box-1234",
        wifi_password="motdepasse",
    )
    assert set(fields) <= FIRMWARE_KEYS
    assert fields["send2custom"] == "1" and fields["ssl_custom"] == "1"
    assert (fields["host_custom"], fields["url_custom"], fields["port_custom"]) == (
        "data.airquartiers.fr",
        "/v1/ingest/airrohr",
        "443",
    )
    assert (fields["user_custom"], fields["pwd_custom"]) == ("lens-01", TOKEN)
    assert fields["sds_read"] == "1" and fields["bmx280_read"] == "1"
    assert fields["pms_read"] == "0" and fields["dht_read"] == "0"  # factory defaults replaced
    assert fields["send2dusti"] == "0" and fields["send2madavi"] == "0"
    assert all(v in ("0", "1") for k, v in fields.items() if k.endswith("_read"))
    assert fields["wlanssid"] == "Box-1234"


def test_unsupported_sensor_points_to_the_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["airrohr", "config", "lens-01", "--token", TOKEN, "--sensors", "sds011", "mhz19b"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "ne sait pas lire : mhz19b" in err and "passerelle" in err


def test_too_long_wifi_name_is_a_usage_error_naming_the_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ssid = "x" * 35  # the firmware keeps 34 characters
    args = ["airrohr", "config", "lens-01", "--token", TOKEN, "--sensors", "sds011"]
    rc = main([*args, "--wifi-ssid", ssid])
    assert rc == 2
    err = capsys.readouterr().err
    assert "wlanssid" in err and "34" in err and "trop longue" in err


def test_steps_in_french_from_the_recap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recap = tmp_path / "recap.csv"
    recap.write_text(
        "id;nom;capteurs;jeton\nlens-01;A;sds011 bme280;" + TOKEN + "\n", encoding="utf-8-sig"
    )
    monkeypatch.setenv("AIRQ_WORKSHOP_INGEST_HOST", "data.airquartiers.fr")
    assert main(["airrohr", "config", "lens-01", "--recap", str(recap)]) == 0
    out = capsys.readouterr().out
    assert "Ouvrez http://192.168.4.1/config" in out
    assert "cochez uniquement BME280 / BMP280, SDS011" in out
    assert "« Envoyer les données vers l'API personnelle »" in out
    assert f"« Utilisateur » = lens-01 ; « Mot de passe » = {TOKEN}" in out
    assert "« Serveur » = data.airquartiers.fr ; « Chemin » = /v1/ingest/airrohr" in out
    assert main(["airrohr", "config", "lens-02", "--recap", str(recap)]) == 1
    assert "la station lens-02 n'est pas dans" in capsys.readouterr().err


class _Board(BaseHTTPRequestHandler):
    """The board's set-up page as the firmware serves it: POST /config, form-encoded."""

    received: ClassVar[list[list[tuple[str, str]]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        ok = self.path == "/config" and self.headers.get_content_type() == (
            "application/x-www-form-urlencoded"
        )
        if ok:
            type(self).received.append(parse_qsl(body, keep_blank_values=True))
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b"Sensor is rebooting.")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def board() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Board)
    _Board.received = []
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_apply_posts_the_form_once(board: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "airrohr",
            "config",
            "lens-01",
            "--token",
            TOKEN,
            "--sensors",
            "pms5003",
            "--wifi-ssid",
            "Box",
            "--wifi-password",
            "pw",
            "--apply",
            board,
        ]
    )
    assert rc == 0
    assert "Réglages acceptés par la carte" in capsys.readouterr().out
    (form,) = _Board.received
    keys = [k for k, _ in form]
    assert len(keys) == len(set(keys))  # one value per key: the firmware keeps the first
    d = dict(form)
    assert d["pms_read"] == "1" and d["sds_read"] == "0" and d["pwd_custom"] == TOKEN


def test_apply_to_an_unreachable_board_says_to_join_its_wifi(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    rc = main(
        [
            "airrohr",
            "config",
            "lens-01",
            "--token",
            TOKEN,
            "--sensors",
            "sds011",
            "--apply",
            f"http://127.0.0.1:{port}",
        ]
    )
    assert rc == 1
    assert "Wi-Fi « airRohr-… »" in capsys.readouterr().err


def _can_login(port: int, user: str, password: str) -> bool:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user)  # stations: bound to their id
    c.username_pw_set(user, password)
    try:
        c.connect("127.0.0.1", port)
    except OSError:
        return False
    ok = threading.Event()
    c.on_connect = lambda cl, u, f, rc, p: ok.set() if not rc.is_failure else None
    c.loop_start()
    ok.wait(2)
    c.loop_stop()
    c.disconnect()
    return ok.is_set()


@pytest.mark.services
def test_generated_settings_are_accepted_by_the_running_api(registry, mosquitto) -> None:  # type: ignore[no-untyped-def]
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    token = registry.add("lens-01", 50.449, 2.839, "Grande Résidence")
    api_password = "api-password-for-tests"
    mosquitto.set_users(
        {
            INGEST_USER: hash_token(INGEST_PASSWORD),
            API_USER: hash_token(api_password),
            **registry.mosquitto_users(),
        }
    )
    wait_until(
        lambda: _can_login(mosquitto.port, API_USER, api_password),
        what="the broker to accept the API account",
    )
    received: list[bytes] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="airrohr-test-sub")
    sub.username_pw_set(INGEST_USER, INGEST_PASSWORD)
    sub.on_message = lambda c, u, m: received.append(m.payload)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("airq/v1/lens-01/readings", qos=1)
    sub.loop_start()

    port = free_port()
    settings = ApiSettings(
        database_url=str(registry.engine.url), mqtt_url=mosquitto.url(API_USER, api_password)
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    try:
        wait_until(lambda: server.started, what="uvicorn")
        wait_until(subscribed.is_set, what="subscription")
        fields = airrohr_settings(
            "lens-01",
            token,
            WorkshopSettings(ingest_host="127.0.0.1", ingest_port=port, ingest_tls=False),
            ["sds011", "bme280"],
        )
        url, headers, body = firmware_request(
            fields,
            {
                "SDS_P1": 10.52,
                "SDS_P2": 4.32,
                "BME280_temperature": 17.59,
                "BME280_pressure": 98680.28,
                "BME280_humidity": 57.78,
            },
        )
        assert url == f"http://127.0.0.1:{port}/v1/ingest/airrohr"
        r = httpx.post(url, headers=headers, content=body, timeout=10)
        assert 200 <= r.status_code < 300, r.text
        wait_until(lambda: received, what="the readings on the broker")
        assert b"4.32" in b"".join(received) and b"10.52" in b"".join(received)

        bad = {**headers, "Authorization": "Basic bGVucy0wMTp3cm9uZw=="}  # lens-01:wrong
        assert httpx.post(url, headers=bad, content=body, timeout=10).status_code in (401, 403)
    finally:
        server.should_exit = True
        th.join(10)
        sub.loop_stop()
        sub.disconnect()
