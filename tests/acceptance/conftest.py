"""The production shape, on this machine: Mosquitto and influxd (airq/services.py, running the
deployment's configuration), then ``airq ingest run`` and ``airq api`` as subprocesses with the
environment and command of their docker-compose.yml services, localized (hosts, ports, paths).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from airq.services import ALERTS_USER, INGEST_USER, InfluxDB, Mosquitto, free_port
from tests.acceptance.compose_env import (
    Localization,
    load_compose,
    local_environment,
    substitute,
)
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    """The running services and what they were given."""

    root: Path
    compose: dict[str, Any]
    variables: dict[str, str]  # what an operator's .env holds
    where: Localization
    mosquitto: Mosquitto
    influx: InfluxDB
    envs: dict[str, dict[str, str]] = field(default_factory=dict)  # service -> compose part
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.where.ports[8000]}"

    @property
    def admin_token(self) -> str:
        return self.variables["AIRQ_ADMIN_TOKEN"]

    def base_env(self) -> dict[str, str]:
        """The machine's environment without any AirQuartiers or InfluxDB setting."""
        return {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRQ_", "INFLUXDB_", "GF_", "GRAFANA_"))
        }

    def airq(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120):  # type: ignore[no-untyped-def]
        """Run an ``airq`` command (as an operator would, in the api container)."""
        return subprocess.run(
            [sys.executable, "-m", "airq", *args],
            env={**self.base_env(), **(env if env is not None else self.envs["api"])},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def spawn(self, name: str, service: str) -> None:
        """Start the compose service ``service`` as ``airq <its command>``."""
        env = local_environment(self.compose, service, self.variables, self.where)
        self.envs[service] = env
        args = self.where.command([str(a) for a in self.compose["services"][service]["command"]])
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "airq", *args],
            env={**self.base_env(), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,  # no .env here: the environment is all they get
            start_new_session=True,
        )
        log.close()

    def log_tail(self, name: str, n: int = 3000) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def mqtt_login_ok(port: int, user: str, password: str, client_id: str | None = None) -> bool:
    """Whether the broker accepts ``user``/``password`` now (a real paho connection), with
    ``client_id`` (default: ``user``, the only one a station's account may use)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    done = threading.Event()
    result: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or user)
    client.username_pw_set(user, password)

    def on_connect(c, u, flags, rc, props):  # type: ignore[no-untyped-def]
        result.append(not rc.is_failure)
        done.set()

    client.on_connect = on_connect
    try:
        client.connect("127.0.0.1", port, keepalive=5)
    except OSError:
        return False
    client.loop_start()
    done.wait(5)
    client.disconnect()
    client.loop_stop()
    return bool(result and result[0])


def wait_http(url: str, stack: Stack, timeout: float = 60) -> None:
    def up() -> bool:
        stack.check_alive()
        try:
            return httpx.get(url, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=timeout, interval=0.2, what=url)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("acceptance")
    compose = load_compose()
    # what the operator writes in .env: only the secrets the compose file requires
    variables = {
        "AIRQ_INGEST_MQTT_PASSWORD": secrets.token_urlsafe(24),
        "AIRQ_API_MQTT_PASSWORD": secrets.token_urlsafe(24),
        "AIRQ_ALERTS_MQTT_PASSWORD": secrets.token_urlsafe(24),
        "AIRQ_ADMIN_TOKEN": secrets.token_urlsafe(32),
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "AIRQ_BROKER_ADMIN_PASSWORD": secrets.token_urlsafe(24),
    }
    volumes = {name: root / "volumes" / name for name in compose.get("volumes", {})}
    for path in volumes.values():
        path.mkdir(parents=True)
    influx_env = {
        k: substitute(str(v), variables)
        for k, v in (compose["services"]["influxdb"].get("environment") or {}).items()
    }
    influx = InfluxDB(root / "influxdb", env=influx_env).start()
    # as the compose service starts it: a first dynamic-security file with the admin account
    # only (`mosquitto_ctrl dynsec init`, the password of the operator's .env)
    mosquitto = Mosquitto(
        root / "mosquitto", admin_password=variables["AIRQ_BROKER_ADMIN_PASSWORD"]
    ).start()
    where = Localization(
        hosts={"mosquitto:1883": mosquitto.port, "influxdb:8086": influx.port},
        # published ports, and the ingest's health/metrics port (container loopback)
        ports={8000: free_port(), 9108: free_port(), 1883: mosquitto.port, 8086: influx.port},
        volumes=volumes,
    )
    s = Stack(root, compose, variables, where, mosquitto, influx)
    s.envs["influxdb"] = influx_env
    try:
        # the api's environment is also the operator's (docker-compose exec api airq ...)
        s.envs["api"] = local_environment(compose, "api", variables, where)
        # the API creates the service accounts at start-up (AIRQ_BROKER_ADMIN_URL), then the
        # ingest can log in (in the deployment it restarts until then)
        s.spawn("api", "api")
        wait_until(
            lambda: s.check_alive()
            or mqtt_login_ok(
                mosquitto.port, INGEST_USER, variables["AIRQ_INGEST_MQTT_PASSWORD"], "probe"
            ),
            what="the API to create the service accounts on the broker",
        )
        s.spawn("ingest", "ingest")
        wait_until(
            lambda: s.check_alive()
            or mqtt_login_ok(
                mosquitto.port, ALERTS_USER, variables["AIRQ_ALERTS_MQTT_PASSWORD"], "probe-a"
            ),
            what="the API to create the alerts account on the broker",
        )
        spawned = time.time()
        s.spawn("alerts", "alerts")
        beat = Path(s.envs["alerts"]["AIRQ_ALERTS_HEARTBEAT_FILE"])
        wait_until(
            lambda: s.check_alive() or (beat.exists() and beat.stat().st_mtime >= spawned - 1),
            what="the alerts service's first heartbeat",
        )
        wait_until(lambda: s.check_alive() or _port_open(where.ports[8000]), what="the API port")
        wait_http(f"{s.api_url}/v1/quantities", s)
        # the ingest's readiness (503 until connected and subscribed): a station's first
        # reading published before the ingest's shared subscription exists has no subscriber
        # and is dropped by the broker (it happened on a loaded machine: a station never seen)
        wait_http(f"http://127.0.0.1:{where.ports[9108]}/readyz", s)
        yield s
    finally:
        s.stop()
        mosquitto.stop()
        influx.stop()
