"""A whole gateway with three sensors on three ports (SDS011, PMS5003, MH-Z19B on ptys),
publishing to a real Mosquitto: each sensor's readings arrive under its own name, with the
values its virtual sensor sent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.gateway.conftest import gateway_on_ptys
from tests.helpers import wait_until

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
    tmp_path: Path, registry, mosquitto, caplog
) -> None:
    token = registry.add("roubaix-02", 50.690, 3.181)
    mosquitto.sync()
    caplog.set_level(logging.INFO, logger="gateway.service")
    with gateway_on_ptys(tmp_path, mosquitto, "roubaix-02", token, SENSORS) as rig:
        wait_until(
            lambda: all(len(rig.received(name)) >= 3 for name in SENSORS),
            what="three readings from each sensor",
        )
    assert {r["sensor"] for r in rig.collector.readings()} == set(SENSORS)
    for name, pty in rig.ptys.items():
        got = [r["values"] for r in rig.received(name)]
        sent = [s.values for _, s in pty.emulator.emitted]
        assert _is_subsequence(got, sent), name  # what each sensor sent, in order
    assert set(rig.received("pms5003")[0]["values"]) >= {"pm2_5", "pm2_5_cf1", "n0_3"}
    assert [r.state for r in rig.gateway.runners] == ["ok"] * 3
    receiving = [m for m in caplog.messages if m.endswith("receiving data")]
    assert sorted(receiving) == sorted(  # once each, on the first reading
        f"{name} on {pty.port}: receiving data" for name, pty in rig.ptys.items()
    )
