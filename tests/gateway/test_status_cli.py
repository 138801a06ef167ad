"""``airq gateway status`` reads the running gateway's status file (French by default)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.service import Gateway
from tests.gateway.conftest import ROOT, write_config
from tests.helpers import ThreadRunner, wait_until

pytestmark = pytest.mark.services


def _status_cli(
    config: Path, *extra: str, json_out: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "airq",
            *extra,
            "gateway",
            "status",
            "--config",
            str(config),
            *(["--json"] if json_out else []),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_status_shows_queue_sensors_and_broker(tmp_path, plug, registry, mosquitto):
    token = registry.add("lens-01", 50.449, 2.839)
    mosquitto.sync()
    config = write_config(
        tmp_path / "gw.toml",
        "lens-01",
        mosquitto.url("lens-01", token),
        plug.path,
        tmp_path / "state",
    )
    r = _status_cli(config)
    assert r.returncode == 1 and "la passerelle tourne-t-elle" in r.stderr  # not started yet

    gw = Gateway(load_config(config))
    runner = ThreadRunner(gw.run, "gateway")
    wait_until(lambda: gw.publisher.published >= 2, what="readings published")
    status_file = tmp_path / "state/status.json"
    wait_until(
        lambda: status_file.exists() and '"connected"' in status_file.read_text(),
        what="status file",
    )
    fr = _status_cli(config)
    en = _status_cli(config, "--lang", "en")
    raw = json.loads(_status_cli(config, json_out=True).stdout)
    runner.stop()
    assert fr.returncode == 0, fr.stderr
    assert "connecté" in fr.stdout and "sds011 @" in fr.stdout and "fonctionne" in fr.stdout
    assert "pm2_5=" in fr.stdout
    assert "connected" in en.stdout and "working" in en.stdout
    assert raw["station"] == "lens-01" and raw["queue"]["dropped"] == 0
    assert raw["sensors"][0]["state"] == "ok"
