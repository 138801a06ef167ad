from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_tools.virtual import PtySensor
from firmware_tools.virtual.sds011 import VirtualSDS011

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
