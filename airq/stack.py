"""The local stack: Mosquitto, influxd, the ingest, the API and a fleet of virtual stations,
all under one data folder, so that a newcomer sees data flow within a minute.

Everything runs as child processes of this one; Ctrl-C stops them in reverse order.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from airq.commands.common import (
    broker_admin_url_file,
    describe_url,
    registry_path,
    registry_url,
    stop_event,
)
from airq.errors import CliError
from airq.i18n import t
from airq.services import (
    ALERTS_USER,
    API_USER,
    INGEST_USER,
    InfluxDB,
    Mosquitto,
    ServiceError,
    port_is_free,
)
from api.registry import Registry, hash_token
from firmware_tools.virtual import PtySensor, make_emulator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoStation:
    id: str
    name: str
    lat: float
    lon: float
    pm2_5: float  # typical level, so that the map shows contrasts


# Around QPVs of Lens and Lille (2015 perimeters) and two town-centre references.
FLEET = [
    DemoStation("lens-grande-residence", "Lens — Grande Résidence", 50.44912, 2.83905, 11.0),
    DemoStation("lens-cite-2", "Lens — Cité 2", 50.43735, 2.84263, 9.0),
    DemoStation("lille-secteur-sud", "Lille — Secteur Sud", 50.61791, 3.06624, 13.0),
    DemoStation("lille-secteur-nord", "Lille — Secteur Nord", 50.64827, 3.06225, 10.0),
    DemoStation("lens-cite-12-14", "Lens — Cité 12-14", 50.44243, 2.81446, 8.5),
    DemoStation("lille-secteur-ouest", "Lille — Secteur Ouest", 50.62830, 3.02175, 12.0),
    DemoStation("lens-centre", "Lens — centre-ville", 50.43220, 2.83310, 8.0),
    DemoStation("lille-centre", "Lille — centre", 50.63650, 3.06350, 9.5),
]


def seed_history(
    influx_url: str, fleet: list[DemoStation], days: float, step_s: float = 300.0
) -> int:
    """Write ``days`` of plausible past SDS011 readings for the demo fleet and compute their
    aggregates, so that a newcomer's map, station pages and dashboards are not empty."""
    from airq_core.readings import Reading
    from firmware_tools.virtual.values import Wander
    from ingest.influx import InfluxWriter
    from ingest.lineproto import encode_lines
    from ingest.rebuild import rebuild

    writer = InfluxWriter(influx_url, "airquartiers")
    try:
        writer.ensure_database()
        end = time.time() - step_s
        start = end - days * 86400
        n = 0
        for i, st in enumerate(fleet):
            pm25 = Wander(st.pm2_5, st.pm2_5 * 0.8, 0.0, 999.9, seed=100 + i, step=0.08)
            coarse = Wander(st.pm2_5 * 0.7, st.pm2_5 * 0.5, 0.0, 999.9, seed=200 + i)
            readings = []
            t = start
            while t < end:
                a = pm25.next(t)
                readings.append(
                    Reading(st.id, "sds011", t, {"pm2_5": a, "pm10": round(a + coarse.next(t), 1)})
                )
                t += step_s
            for k in range(0, len(readings), 5000):
                writer.write_lines(encode_lines(readings[k : k + 5000]))
            n += len(readings)
        rebuild(writer, int(start * 1000), int(end * 1000))
        return n
    finally:
        writer.close()


def _pick_port(preferred: int) -> int:
    from airq.services import free_port

    return preferred if port_is_free(preferred) else free_port()


def ensure_packages() -> None:
    """Install Mosquitto and InfluxDB from Debian when they are missing and we may."""
    missing = [
        pkg
        for binary, pkg in (("mosquitto", "mosquitto"), ("influxd", "influxdb"))
        if not (shutil.which(binary) or Path(f"/usr/sbin/{binary}").exists())
    ]
    if not missing:
        return
    prefix: list[str] = []
    if os.geteuid() != 0:
        if (
            shutil.which("sudo")
            and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
        ):
            prefix = ["sudo", "-n"]
        else:
            raise CliError(
                f"il manque {', '.join(missing)} / missing: install with "
                f"'sudo apt-get install {' '.join(missing)}'"
            )
    print(f"Installation de {', '.join(missing)} (apt-get)…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=False, env=env)
    r = subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", *missing], env=env)
    if r.returncode != 0:
        raise CliError(f"apt-get install {' '.join(missing)} failed")


class Stack:
    def __init__(
        self, data: Path, n_stations: int, interval: float, api_port: int, history_days: float = 7.0
    ) -> None:
        self.data = data.resolve()
        self.fleet = FLEET[: max(1, min(n_stations, len(FLEET)))]
        self.interval = interval
        self.api_port = api_port
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.ptys: list[PtySensor] = []
        self.mosquitto: Mosquitto | None = None
        self.influx: InfluxDB | None = None
        self.logs = self.data / "logs"
        self.history_days = history_days
        self.registry = registry_path(self.data)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        with open(self.logs / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "airq", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children.append((name, proc))

    def start(self) -> dict[str, str]:
        self.logs.mkdir(parents=True, exist_ok=True)
        registry = Registry(registry_url(self.data))
        tokens: dict[str, str] = {}
        try:
            for st in self.fleet:
                if registry.get(st.id) is None:
                    tokens[st.id] = registry.add(st.id, st.lat, st.lon, st.name)
                else:  # demo stations: a fresh token each run (tokens are only stored hashed)
                    tokens[st.id] = registry.rotate_token(st.id)
            station_users = registry.mosquitto_users()
        finally:
            registry.close()
        ingest_pw, api_pw = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        alerts_pw = secrets.token_urlsafe(18)
        self.influx = InfluxDB(self.data / "influxdb", port=_pick_port(18086)).start()
        self.mosquitto = Mosquitto(
            self.data / "mosquitto",
            port=_pick_port(18830),
            users={
                INGEST_USER: hash_token(ingest_pw),
                API_USER: hash_token(api_pw),
                ALERTS_USER: hash_token(alerts_pw),
                **station_users,
            },
        )
        # the accounts of this run (fresh service passwords, rotated demo tokens), written
        # while the broker is stopped; afterwards they change live (dynamic security)
        self.mosquitto.write_config()
        self.mosquitto.write_dynsec()
        self.mosquitto.start()
        # `airq station add` and the demo's API reach the broker as its admin: a station
        # added during the demo publishes at once (airq.commands.common.broker_accounts)
        admin_url = broker_admin_url_file(self.data)
        admin_url.write_text(self.mosquitto.admin_url + "\n")
        os.chmod(admin_url, 0o600)
        marker = self.data / "history-seeded"
        if self.history_days > 0 and not marker.exists():
            print(t("stack_history", days=self.history_days), flush=True)
            seed_history(self.influx.url, self.fleet, self.history_days)
            marker.write_text("1")
        base_env = {
            **os.environ,
            "AIRQ_INFLUX_URL": self.influx.url,
            "AIRQ_INFLUX_DB": "airquartiers",
            "AIRQ_DATABASE_URL": registry_url(self.data),
        }
        self._spawn(
            "ingest",
            ["ingest", "run"],
            {
                **base_env,
                "AIRQ_MQTT_URL": self.mosquitto.url(INGEST_USER, ingest_pw),
                "AIRQ_INGEST_STATE_DIR": str(self.data / "ingest-state"),
            },
        )
        self._spawn(
            "api",
            ["api", "--port", str(self.api_port)],
            {
                **base_env,
                "AIRQ_MQTT_URL": self.mosquitto.url(API_USER, api_pw),
                "AIRQ_BROKER_ADMIN_URL": self.mosquitto.admin_url,
            },
        )
        # alerts of the subscriptions in the registry (`airq alerts subscribe`), their links
        # pointing at this API
        self._spawn(
            "alerts",
            ["alerts", "run"],
            {
                **base_env,
                "AIRQ_MQTT_URL": self.mosquitto.url(ALERTS_USER, alerts_pw),
                "AIRQ_PUBLIC_URL": f"http://127.0.0.1:{self.api_port}",
            },
        )
        gw_dir = self.data / "gateways"
        gw_dir.mkdir(exist_ok=True)
        for i, st in enumerate(self.fleet):
            emu = make_emulator("sds011", seed=i, period=1.0, pm2_5=st.pm2_5, pm10=st.pm2_5 * 1.7)
            pty = PtySensor(emu).start()
            self.ptys.append(pty)
            cfg = gw_dir / f"{st.id}.toml"
            cfg.write_text(
                f'station = "{st.id}"\n'
                f'state_dir = "{gw_dir / st.id}"\n'
                "[mqtt]\n"
                f'url = "{self.mosquitto.url(st.id, tokens[st.id])}"\n'
                "[[sensors]]\n"
                'type = "sds011"\n'
                f'port = "{pty.port}"\n'
                f"interval = {self.interval}\n"
                "warmup = 0\n"
            )
            self._spawn(f"gateway-{st.id}", ["gateway", "run", "--config", str(cfg)], base_env)
        return {
            "api": f"http://127.0.0.1:{self.api_port}",
            "mqtt": f"mqtt://127.0.0.1:{self.mosquitto.port}",
            "influx": self.influx.url,
        }

    def check_children(self) -> None:
        for name, proc in self.children:
            if proc.poll() is not None:
                raise CliError(
                    f"{name} s'est arrêté (code {proc.returncode}) / {name} exited; "
                    f"voir / see {self.logs / (name + '.log')}"
                )

    def stop(self) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(self.children):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pty in self.ptys:
            pty.close()
        if self.mosquitto:
            broker_admin_url_file(self.data).unlink(missing_ok=True)
            self.mosquitto.stop()
        if self.influx:
            self.influx.stop()


def _summary(api: str) -> str | None:
    try:
        fc = httpx.get(f"{api}/v1/stations", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    live = [f for f in fc.get("features", []) if f["properties"].get("last_seen")]
    if not live:
        return f"{len(fc.get('features', []))} stations, en attente des premières mesures…"
    latest = max(live, key=lambda f: f["properties"]["last_seen"])
    sid = latest["properties"]["id"]
    try:
        pts = httpx.get(
            f"{api}/v1/stations/{sid}/series", params={"quantity": "pm2_5"}, timeout=5
        ).json()["points"]
    except (httpx.HTTPError, ValueError, KeyError):
        pts = []
    last = f"{sid} PM2,5 = {pts[-1]['value']} µg/m³ à {pts[-1]['time']}" if pts else sid
    return f"{len(live)}/{len(fc['features'])} stations actives — dernière mesure : {last}"


def run_stack(
    data: Path,
    stations: int = 8,
    interval: float = 5.0,
    api_port: int = 8000,
    duration: float = 0,
    history_days: float = 7.0,
) -> int:
    ensure_packages()
    if not port_is_free(api_port):
        raise CliError(f"le port {api_port} est occupé / port {api_port} is busy: use --api-port")
    stack = Stack(data, stations, interval, api_port, history_days)
    stop = stop_event()
    started = time.monotonic()
    try:
        urls = stack.start()
        print(
            "\nAirQuartiers — pile locale démarrée / local stack running\n"
            f"  Carte / map   : {urls['api']}/carte\n"
            f"  API (OpenAPI) : {urls['api']}/docs\n"
            f"  Stations      : {urls['api']}/v1/stations\n"
            f"  Série         : {urls['api']}/v1/stations/{stack.fleet[0].id}/series"
            "?quantity=pm2_5\n"
            f"  MQTT          : {urls['mqtt']}  (topics airq/v1/<station>/readings)\n"
            f"  InfluxDB      : {urls['influx']}  (base airquartiers)\n"
            f"  Données/data  : {stack.data}   Journaux/logs : {stack.logs}\n"
            f"  {t('stack_registry', path=stack.registry)}\n"
            "Ctrl-C pour tout arrêter / to stop everything.\n",
            flush=True,
        )
        if os.environ.get("AIRQ_DATABASE_URL"):
            print(
                t(
                    "stack_database_url_ignored",
                    url=describe_url(os.environ["AIRQ_DATABASE_URL"]),
                    path=stack.registry,
                ),
                flush=True,
            )
        while not stop.wait(5.0):
            stack.check_children()
            line = _summary(urls["api"])
            if line:
                print(time.strftime("%H:%M:%S"), line, flush=True)
            if duration and time.monotonic() - started > duration:
                break
    except ServiceError as exc:
        raise CliError(str(exc)) from None
    finally:
        print("Arrêt… / stopping…", flush=True)
        stack.stop()
    return 0
