"""The journeys of the people the platform serves, on the production shape (conftest.py):

(a) a facilitator registers stations in bulk and through the admin API; their gateways publish
    with their own credentials at once (the broker's accounts follow the registry live);
(b) a resident finds their station on the public map;
(c) an analyst pulls a QPV's series as CSV and Parquet, and Grafana's map layers are allowed
    by CORS;
(d) the public map loads in a real browser without a script error, with the station's marker.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from airq.services import INGEST_USER
from airq_core import wire
from airq_core.readings import Reading, format_time
from firmware_tools.virtual import PtySensor, make_emulator
from tests.acceptance.conftest import Stack, mqtt_login_ok
from tests.browser import open_browser
from tests.helpers import wait_until

pytestmark = pytest.mark.services

# Two participants of a Lens/Lille workshop (positions around the QPVs of the demo fleet; the
# registry rounds them to ~100 m: no consent for an exact position)
PARTICIPANTS = """\
id;nom;lat;lon;emplacement;position_exacte;capteurs;participant;contact
lens-01;Grande Résidence;50.44912;2.83905;extérieur;non;sds011;Aïcha B.;a@example.org
;Secteur Sud;50.61791;3.06624;extérieur;non;sds011;M. Dupont;
"""
BULK_IDS = ["lens-01", "lens-02"]
API_STATION = {"id": "lens-ecole", "lat": 50.4487, "lon": 2.8386, "name": "École Jean Macé"}
GRAFANA = "http://localhost:3000"


@dataclass
class Fleet:
    tokens: dict[str, str]
    gateways: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ptys: list[PtySensor] = field(default_factory=list)
    forbidden_value: float = 777.7


def _series(stack: Stack, station: str, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{stack.api_url}/v1/stations/{station}/series",
        params={"quantity": "pm2_5", **params},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()["points"]  # type: ignore[no-any-return]


def _publish(port: int, station: str, token: str, topic: str, payload: bytes) -> None:
    """A station's own MQTT client (paho), QoS 1, waiting for the broker's PUBACK."""
    # the broker binds a station's account to its id as client id
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=station)
    client.username_pw_set(station, token)
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def _gateway_config(text: str, pty: str, state_dir: Path) -> str:
    """The TOML `airq station register --gateway-configs` wrote, on this machine: the virtual
    sensor's pty instead of /dev/ttyUSB0, a state folder, and a short cadence for the test."""
    text = re.sub(r'port = "/dev/ttyUSB0"', f"port = {json.dumps(pty)}", text)
    text = re.sub(r"interval = \d+", "interval = 2\nwarmup = 0", text)
    return text.replace("\n[mqtt]", f"\nstate_dir = {json.dumps(str(state_dir))}\n[mqtt]", 1)


@pytest.fixture(scope="module")
def fleet(stack: Stack) -> Iterator[Fleet]:
    out = stack.root / "atelier"
    src = stack.root / "participants.csv"
    src.write_text(PARTICIPANTS, encoding="utf-8")
    workshop_env = {
        **stack.envs["api"],
        "AIRQ_WORKSHOP_MQTT_URL": f"mqtt://127.0.0.1:{stack.mosquitto.port}",
        "AIRQ_WORKSHOP_PLATFORM_URL": stack.api_url,
    }
    # --allow-local: this deployment's platform (stack.api_url) is on this machine
    r = stack.airq(
        "station", "register", "--csv", str(src), "--prefix", "lens", "--out", str(out),
        "--no-pdf", "--gateway-configs", "--allow-local", env=workshop_env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "2 station(s) créée(s) : lens-01, lens-02" in r.stdout
    with (out / "recap.csv").open(encoding="utf-8-sig", newline="") as f:
        tokens = {row["id"]: row["jeton"] for row in csv.DictReader(f, delimiter=";")}
    assert sorted(tokens) == BULK_IDS
    assert not any(tok in r.stdout for tok in tokens.values())  # only in the recap file

    # one more station through the admin API (the facilitator's web tool)
    admin = f"{stack.api_url}/v1/admin/stations"
    assert httpx.post(admin, json=API_STATION, timeout=10).status_code in (401, 403)
    created = httpx.post(
        admin,
        json=API_STATION,
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    tokens[API_STATION["id"]] = created.json()["token"]

    # the broker took the new accounts with the registry (dynamic security): no export, no
    # reload, no wait
    port = stack.mosquitto.port
    for sid, token in tokens.items():
        assert mqtt_login_ok(port, sid, token), sid
    fleet = Fleet(tokens)
    try:
        for i, sid in enumerate(BULK_IDS):
            pty = PtySensor(make_emulator("sds011", seed=i, period=1.0, pm2_5=9.0 + i)).start()
            fleet.ptys.append(pty)
            generated = (out / "passerelles" / f"{sid}.toml").read_text()
            assert f"mqtt://{sid}:" in generated  # the station's own credentials
            cfg = stack.root / f"gateway-{sid}.toml"
            cfg.write_text(_gateway_config(generated, pty.port, stack.root / f"gw-{sid}"))
            log = (stack.root / f"gateway-{sid}.log").open("ab")
            fleet.gateways[sid] = subprocess.Popen(
                [sys.executable, "-m", "airq", "gateway", "run", "--config", str(cfg)],
                env={**stack.base_env(), "AIRQ_LANG": "fr"},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=stack.root,
                start_new_session=True,
            )
            log.close()
        # the admin-API station is a board speaking MQTT itself (paho, its own token): it first
        # tries to publish as another station (the ACL drops it), then as itself
        sid, token = API_STATION["id"], tokens[API_STATION["id"]]
        now = time.time()
        forged = Reading("lens-01", "sds011", now - 2, {"pm2_5": fleet.forbidden_value}, seq=1)
        _publish(port, sid, token, wire.readings_topic("lens-01"), wire.encode_reading(forged))
        own = Reading(sid, "sds011", now - 1, {"pm2_5": 12.5, "pm10": 20.0}, seq=1)
        _publish(port, sid, token, wire.readings_topic(sid), wire.encode_reading(own))

        def all_stored() -> bool:
            for name, proc in fleet.gateways.items():
                if proc.poll() is not None:
                    pytest.fail(f"gateway {name} exited:\n{stack.log_tail('gateway-' + name)}")
            stack.check_alive()
            return all(_series(stack, s) for s in tokens)

        wait_until(all_stored, timeout=60, interval=0.5, what="readings of every station")
        yield fleet
    finally:
        for proc in fleet.gateways.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in fleet.gateways.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pty in fleet.ptys:
            pty.close()


# (a) ------------------------------------------------------------------------------------------


def test_facilitator_registers_stations_and_their_gateways_publish(
    stack: Stack, fleet: Fleet
) -> None:
    for sid in fleet.tokens:
        points = _series(stack, sid)
        assert points and all(p["value"] >= 0 for p in points), sid
    assert [p["value"] for p in _series(stack, API_STATION["id"])] == [12.5]
    # readings under lens-01 are its gateway's only: the ACL dropped the forged one
    assert fleet.forbidden_value not in [p["value"] for p in _series(stack, "lens-01")]
    # each station has its own credentials; the broker refuses a wrong or another's token
    port = stack.mosquitto.port
    assert not mqtt_login_ok(port, "lens-01", fleet.tokens["lens-02"])
    assert not mqtt_login_ok(port, INGEST_USER, fleet.tokens["lens-01"])
    # the raw readings are kept as long as the deployment says (AIRQ_INFLUX_RAW_RETENTION)
    days = stack.envs["ingest"]["AIRQ_INFLUX_RAW_RETENTION"].removesuffix("d")
    rps = stack.influx.query("SHOW RETENTION POLICIES", db=stack.envs["ingest"]["AIRQ_INFLUX_DB"])
    durations = [row[1] for row in rps["results"][0]["series"][0]["values"]]  # type: ignore[index]
    assert f"{int(days) * 24}h0m0s" in durations


# (b) ------------------------------------------------------------------------------------------


def _station_layer(stack: Stack, **headers: str) -> httpx.Response:
    return httpx.get(
        f"{stack.api_url}/v1/qpv/stations.geojson",
        params={"quantity": "pm2_5"},
        headers=headers,
        timeout=30,
    )


def _qpv_of(stack: Stack, station: str) -> str:
    layer = _station_layer(stack).json()
    (feature,) = [f for f in layer["features"] if f["properties"]["station_id"] == station]
    codes = feature["properties"]["qpv"]
    assert codes, feature
    return str(codes[0])


def test_resident_sees_their_station_on_the_public_map(stack: Stack, fleet: Fleet) -> None:
    r = _station_layer(stack)
    assert r.status_code == 200, r.text
    features = {f["properties"]["station_id"]: f for f in r.json()["features"]}
    assert set(fleet.tokens) <= set(features)
    lon, lat = features["lens-01"]["geometry"]["coordinates"]
    assert (round(lat, 3), round(lon, 3)) == (50.449, 2.839)  # rounded, never the exact address
    assert _qpv_of(stack, "lens-01")  # Grande Résidence lies inside a QPV of Lens
    page = httpx.get(f"{stack.api_url}/carte", timeout=10)
    assert page.status_code == 200 and "Qualité de l'air dans les quartiers" in page.text
    station = httpx.get(f"{stack.api_url}/stations/lens-01", timeout=10)
    assert station.status_code == 200 and "Particules fines" in station.text


# (c) ------------------------------------------------------------------------------------------


def test_analyst_pulls_a_qpv_series_as_csv_and_parquet(stack: Stack, fleet: Fleet) -> None:
    import pyarrow.parquet as pq

    code = _qpv_of(stack, "lens-01")
    end = time.time()
    # the gateway keeps publishing: wait until a reading stamped after `end` is stored, so the
    # readings of the period have all arrived and the CSV and Parquet answers hold the same rows
    wait_until(
        lambda: _series(stack, "lens-01", every="raw", start=format_time(end)),
        timeout=30,
        what="a reading of lens-01 after the period's end",
    )
    params = {
        "qpv": code,
        "quantity": "pm2_5",
        "every": "raw",
        "start": format_time(end - 3600),
        "end": format_time(end),
    }
    url = f"{stack.api_url}/v1/series"
    as_csv = httpx.get(url, params={**params, "format": "csv"}, timeout=60)
    assert as_csv.status_code == 200, as_csv.text
    text = as_csv.text
    rows = list(csv.DictReader(io.StringIO("\n".join(
        line for line in text.splitlines() if not line.startswith("#")
    ))))  # fmt: skip
    stations = {row["station"] for row in rows}
    assert "lens-01" in stations and "lens-02" not in stations  # lens-02 is in Lille
    assert all(float(row["value"]) >= 0 for row in rows)
    as_parquet = httpx.get(url, params={**params, "format": "parquet"}, timeout=60)
    assert as_parquet.status_code == 200, as_parquet.text
    table = pq.read_table(io.BytesIO(as_parquet.content)).to_pydict()
    assert set(table["station"]) == stations
    assert len(table["value"]) == len(rows)


def test_grafana_map_layers_are_allowed_by_cors(stack: Stack, fleet: Fleet) -> None:
    layers = [
        ("/v1/qpv/stations.geojson", {"quantity": "pm2_5"}),
        ("/v1/qpv/exposure.geojson", {"quantity": "pm2_5", "start": "now-30d", "end": "now"}),
    ]
    for path, params in layers:
        r = httpx.get(
            f"{stack.api_url}{path}", params=params, headers={"Origin": GRAFANA}, timeout=30
        )
        assert r.status_code == 200, (path, r.text)
        assert r.headers.get("access-control-allow-origin") == GRAFANA, path
        pre = httpx.options(
            f"{stack.api_url}{path}",
            headers={"Origin": GRAFANA, "Access-Control-Request-Method": "GET"},
            timeout=10,
        )
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == GRAFANA
    other = _station_layer(stack, Origin="https://elsewhere.example")
    assert "access-control-allow-origin" not in other.headers


# (d) ------------------------------------------------------------------------------------------


def test_public_map_loads_in_a_browser_with_the_station_marker(
    stack: Stack, fleet: Fleet
) -> None:
    from selenium.webdriver.common.by import By

    driver = open_browser()
    try:
        driver.get(f"{stack.api_url}/carte")
        # Leaflet markers (.mk), grouped in clusters when dense; the deployment's tile source
        # (OpenStreetMap by default) may be out of reach: the page then keeps the outlines
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, ".mk, .cluster"),
            timeout=30,
            what="station markers on /carte",
        )
        listed = driver.find_element(By.ID, "list").text
        assert "Grande Résidence" in listed  # the resident's station, by its name
        assert driver.find_element(By.ID, "error").text == ""
        count = (
            "return document.querySelectorAll('.mk').length + [...document.querySelectorAll("
            "'.cluster')].reduce((n, e) => n + (parseInt(e.textContent) || 0), 0)"
        )
        wait_until(
            lambda: driver.execute_script(count) >= len(fleet.tokens),
            timeout=30,
            what=f"{len(fleet.tokens)} stations on the map (markers and clusters)",
        )
        assert driver.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive")  # QPV outlines
        errors = [
            e
            for e in driver.get_log("browser")
            if e["level"] in ("SEVERE", "ERROR")
            # the browser's own favicon request (the page names none) is not the page's, nor
            # tiles the machine cannot reach
            and not (
                e["source"] == "network"
                and ("/favicon.ico " in e["message"] or ".png" in e["message"])
            )
        ]
        assert errors == [], errors
    finally:
        driver.quit()
