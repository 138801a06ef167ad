"""MH-Z19B driver against a virtual MH-Z19B on a real pty: pre-heat readings dropped, ABC
left alone or switched as configured, silence."""

from __future__ import annotations

import time

import pytest

from airq_core.protocols import mhz19 as proto
from gateway.config import GatewayConfig, GatewayConfigError
from gateway.drivers import DRIVERS, SilentSensorError
from tests.gateway.driver_harness import driver_rig
from tests.helpers import wait_until


def test_preheat_readings_are_dropped() -> None:
    # A tiny pre-heat on both sides: the virtual sensor's flat 410 ppm lasts 1 s.
    with driver_rig("mhz19b", {"preheat_s": 1.0}, interval=1, warmup=1.0) as rig:
        rig.driver.setup()
        rig.driver.cycle()  # read during pre-heat: dropped
        assert rig.samples == [] and rig.driver.dropped == 1
        assert rig.emitted[0].values == {"co2": 410.0}  # the tell-tale flat value
        wait_until(lambda: not rig.driver.preheating(), what="end of pre-heat")
        for _ in range(3):
            rig.driver.cycle()
        assert rig.samples == rig.emitted[1:]  # every later reading, exactly as sent
        assert all(s.sensor == "mhz19b" and s.values["co2"] != 410 for s in rig.samples)
        assert proto.CMD_ABC not in rig.emu.commands  # ABC left as the sensor has it


def test_default_preheat_is_the_protocol_constant() -> None:
    assert DRIVERS["mhz19b"].default_warmup == proto.PREHEAT_S == 180


def test_abc_false_switches_it_off() -> None:
    with driver_rig("mhz19b", {"preheat_s": 0}, interval=1, warmup=0, abc=False) as rig:
        assert rig.emu.abc  # factory default
        rig.driver.setup()
        assert not rig.emu.abc
        rig.driver.cycle()
        assert rig.samples == rig.emitted


def test_abc_key_is_validated() -> None:
    def build(sensor: dict) -> GatewayConfig:
        return GatewayConfig.from_dict(
            {"station": "lens-01", "mqtt": {"url": "mqtt://a:b@h:1883"}, "sensors": [sensor]}
        )

    assert build({"type": "mhz19b", "port": "/dev/ttyUSB0", "abc": False}).sensors[0].abc is False
    assert build({"type": "scd30", "port": "/dev/ttyUSB0"}).sensors[0].abc is None
    with pytest.raises(GatewayConfigError, match=r"sensors\.0\.abc"):
        build({"type": "mhz19b", "port": "/dev/ttyUSB0", "abc": "no"})
    with pytest.raises(GatewayConfigError, match=r"sensors\.0\.abc.*mhz19b"):
        build({"type": "sds011", "port": "/dev/ttyUSB0", "abc": False})


def test_silent_sensor_raises() -> None:
    with driver_rig("mhz19b", interval=1, warmup=0) as rig:
        rig.driver.reply_timeout = 0.3
        rig.driver.setup()
        rig.pty.silent = True
        started = time.monotonic()
        with pytest.raises(SilentSensorError, match=r"MHZ19B on /dev/.* does not answer"):
            rig.driver.cycle()
        assert time.monotonic() - started < 2
