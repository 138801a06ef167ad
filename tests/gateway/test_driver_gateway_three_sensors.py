"""A whole gateway with three sensors on three ports (SDS011, PMS5003, MH-Z19B on ptys),
publishing to a real Mosquitto: each sensor's readings arrive under its own name, with the
values its virtual sensor sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from airq.services import INGEST_USER
from firmware_tools.virtual import PtySensor, make_emulator
from gateway.config import load_config
from gateway.service import Gateway
from tests.helpers import INGEST_PASSWORD, MqttCollector, ThreadRunner, wait_until

pytestmark = pytest.mark.services

SENSORS = {
    "sds011": {"seed": 1},
    "pms5003": {"seed": 2},
    "mhz19b": {"seed": 3, "preheat_s": 0},
}


def _is_subsequence(values: list, of: list) -> bool:
    it = iter(of)
    return all(any(v == w for w in it) for v in values)


def test_three_sensors_on_three_ports_arrive_under_their_names(
    tmp_path: Path, registry, mosquitto
) -> None:
    token = registry.add("roubaix-02", 50.690, 3.181)
    mosquitto.sync()
    ptys = {name: PtySensor(make_emulator(name, **opts)).start() for name, opts in SENSORS.items()}
    try:
        sections = "".join(
            f'[[sensors]]\ntype = "{name}"\nport = "{pty.port}"\ninterval = 0.3\nwarmup = 0\n'
            for name, pty in ptys.items()
        )
        config = tmp_path / "gw.toml"
        config.write_text(
            f'station = "roubaix-02"\nstate_dir = "{tmp_path / "state"}"\n'
            f'[mqtt]\nurl = "{mosquitto.url("roubaix-02", token)}"\nkeepalive = 5\n' + sections
        )
        collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
        gw = Gateway(load_config(config))
        runner = ThreadRunner(gw.run, "gateway")

        def received(name: str) -> list[dict]:
            return [r for r in collector.readings() if r["sensor"] == name]

        wait_until(
            lambda: all(len(received(name)) >= 3 for name in SENSORS),
            what="three readings from each sensor",
        )
        runner.stop()
        collector.close()
    finally:
        for pty in ptys.values():
            pty.close()
    assert {r["sensor"] for r in collector.readings()} == set(SENSORS)
    for name, pty in ptys.items():
        got = [r["values"] for r in received(name)]
        sent = [s.values for _, s in pty.emulator.emitted]
        assert _is_subsequence(got, sent), name  # what each sensor sent, in order
    assert set(received("pms5003")[0]["values"]) >= {"pm2_5", "pm2_5_cf1", "n0_3"}
    assert [r.state for r in gw.runners] == ["ok"] * 3
