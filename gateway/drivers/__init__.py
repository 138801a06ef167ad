"""Sensor drivers: how the gateway operates each sensor model over its serial link.

A driver is built with its SensorConfig, a SerialLink, an ``emit(sample)`` callback and a
``wait(seconds) -> bool`` that returns True when the gateway is stopping. It exposes:
    setup()   after the port opens: modes, sleep/wake, pre-heat bookkeeping
    cycle()   one reading cycle; emits zero or more samples; raises SilentSensorError when
              the sensor does not answer
``DRIVERS`` maps a sensor model to its driver class; adding a sensor adds one line.
"""

from __future__ import annotations

from gateway.drivers.base import Driver, SilentSensorError
from gateway.drivers.sds011 import Sds011Driver

DRIVERS: dict[str, type[Driver]] = {
    "sds011": Sds011Driver,
}

__all__ = ["DRIVERS", "Driver", "SilentSensorError"]
