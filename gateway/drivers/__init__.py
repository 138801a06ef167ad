"""Sensor drivers: how the gateway operates each sensor model over its serial link.

A driver is built with its SensorConfig, a SerialLink, an ``emit(sample)`` callback and a
``wait(seconds) -> bool`` that returns True when the gateway is stopping. It exposes:
    setup()   after the port opens: modes, sleep/wake, pre-heat bookkeeping
    cycle()   one reading cycle; emits zero or more samples; raises SilentSensorError when
              the sensor does not answer
``DRIVERS`` maps a sensor model to its driver class; adding a sensor adds one line.
Decode errors raised by ``cycle()`` are counted by the caller and the loop goes on.
See docs/gateway-drivers.md for how each sensor is used.
"""

from __future__ import annotations

from gateway.drivers.base import Driver, SilentSensorError
from gateway.drivers.mhz19 import Mhz19bDriver
from gateway.drivers.plantower import PlantowerDriver
from gateway.drivers.rd200m import Rd200mDriver
from gateway.drivers.scd30 import Scd30Driver
from gateway.drivers.sds011 import Sds011Driver
from gateway.drivers.senseair_s8 import SenseairS8Driver
from gateway.drivers.sps30 import Sps30Driver
from gateway.drivers.zphs01b import Zphs01bDriver

DRIVERS: dict[str, type[Driver]] = {
    "sds011": Sds011Driver,
    "pms5003": PlantowerDriver,
    "pms7003": PlantowerDriver,
    "sps30": Sps30Driver,
    "mhz19b": Mhz19bDriver,
    "senseair_s8": SenseairS8Driver,
    "scd30": Scd30Driver,
    "rd200m": Rd200mDriver,
    "zphs01b": Zphs01bDriver,
}

__all__ = ["DRIVERS", "Driver", "SilentSensorError"]
