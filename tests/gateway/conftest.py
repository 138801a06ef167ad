from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from airq.services import INGEST_USER, Mosquitto
from firmware_tools.virtual import PtySensor, make_emulator
from firmware_tools.virtual.sds011 import VirtualSDS011
from gateway.config import load_config
from gateway.service import Gateway
from tests.helpers import INGEST_PASSWORD, MqttCollector, ThreadRunner

ROOT = Path(__file__).resolve().parents[2]


class Plug:
    """A virtual SDS011 behind a stable path (like /dev/ttyUSB0) that can be unplugged and
    plugged back: the path is a symlink to the current pty."""

    def __init__(self, path: Path, seed: int = 0) -> None:
        self.path = path
        self.seed = seed
        self.pty: PtySensor | None = None
        self.emitted: list = []

    def plug(self) -> PtySensor:
        emu = VirtualSDS011(seed=self.seed, period=0.1)
        emu.active = False
        emu.emitted = self.emitted  # one record across re-plugs
        self.pty = PtySensor(emu).start()
        tmp = self.path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.pty.port)
        os.replace(tmp, self.path)
        return self.pty

    def unplug(self) -> None:
        if self.pty:
            self.pty.close()
            self.pty = None
        self.path.unlink(missing_ok=True)


@pytest.fixture
def plug(tmp_path: Path) -> Iterator[Plug]:
    p = Plug(tmp_path / "ttyUSB0")
    p.plug()
    yield p
    p.unplug()


def write_config(
    path: Path,
    station: str,
    url: str,
    port: Path,
    state_dir: Path,
    interval: float = 0.2,
    max_disk_mb: float = 50,
    extra: str = "",
) -> Path:
    path.write_text(
        f'station = "{station}"\nstate_dir = "{state_dir}"\n'
        f'[mqtt]\nurl = "{url}"\nkeepalive = 5\n'
        f"[queue]\nmax_disk_mb = {max_disk_mb}\nbatch_size = 50\nmax_rate = 2000\n"
        f'[[sensors]]\ntype = "sds011"\nport = "{port}"\ninterval = {interval}\nwarmup = 0\n'
        + extra
    )
    return path


def start_gateway_process(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "airq", "gateway", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


class GatewayOnPtys:
    """A whole gateway in a thread reading virtual sensors on ptys, publishing to a real
    Mosquitto, and an ingest-side subscriber recording what arrives."""

    def __init__(self, ptys: dict[str, PtySensor], gateway: Gateway, collector: MqttCollector):
        self.ptys = ptys
        self.gateway = gateway
        self.collector = collector

    def received(self, sensor: str) -> list[dict[str, Any]]:
        """The readings that arrived from ``sensor``, in order."""
        return [r for r in self.collector.readings() if r["sensor"] == sensor]


@contextmanager
def gateway_on_ptys(
    tmp_path: Path,
    mosquitto: Mosquitto,
    station: str,
    token: str,
    emulators: dict[str, dict[str, Any]],
) -> Iterator[GatewayOnPtys]:
    """One pty per entry of ``emulators`` (sensor type -> options of its virtual sensor), a
    gateway config with one ``[[sensors]]`` section each (interval 0.3 s, no warm-up skip), the
    gateway running as ``station`` with ``token``. On leaving: the gateway stopped, the
    subscriber closed, the ptys closed; what arrived stays readable."""
    ptys = {
        name: PtySensor(make_emulator(name, **opts)).start() for name, opts in emulators.items()
    }
    try:
        sections = "".join(
            f'[[sensors]]\ntype = "{name}"\nport = "{pty.port}"\ninterval = 0.3\nwarmup = 0\n'
            for name, pty in ptys.items()
        )
        config = tmp_path / "gw.toml"
        config.write_text(
            f'station = "{station}"\nstate_dir = "{tmp_path / "state"}"\n'
            f'[mqtt]\nurl = "{mosquitto.url(station, token)}"\nkeepalive = 5\n' + sections
        )
        collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
        try:
            gw = Gateway(load_config(config))
            runner = ThreadRunner(gw.run, "gateway")
            try:
                yield GatewayOnPtys(ptys, gw, collector)
            finally:
                runner.stop()
        finally:
            collector.close()
    finally:
        for pty in ptys.values():
            pty.close()
