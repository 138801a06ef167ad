"""Sensor drivers: how the gateway operates each sensor model over its serial link.

A driver is built with its SensorConfig, a SerialLink, an ``emit(sample)`` callback and a
``wait(seconds) -> bool`` that returns True when the gateway is stopping. It exposes:
    setup()   after the port opens: modes, sleep/wake, pre-heat bookkeeping
    cycle()   one reading cycle; emits zero or more samples; raises SilentSensorError when
              the sensor does not answer
``DRIVERS`` maps a sensor model to its driver class. It is read from the sensor registry
(``airq_core.sensors.SENSORS[model].driver``, a dotted path imported on first use): adding a
sensor adds its record there and its driver module here, nothing else.
Decode errors raised by ``cycle()`` are counted by the caller and the loop goes on.
See docs/gateway-drivers.md for how each sensor is used.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from airq_core.sensors import SENSORS, load
from gateway.drivers.base import Driver, SilentSensorError

__all__ = ["DRIVERS", "Driver", "SilentSensorError"]


class _Drivers(Mapping[str, type[Driver]]):
    """Sensor model -> driver class, resolved from the registry when first asked for."""

    def __getitem__(self, model: str) -> type[Driver]:
        spec = SENSORS.get(model)
        if spec is None or spec.driver is None:
            raise KeyError(model)
        driver = load(spec.driver)
        if not (isinstance(driver, type) and issubclass(driver, Driver)):
            raise TypeError(f"{spec.driver} (driver of {model}) is not a Driver class")
        return driver

    def __iter__(self) -> Iterator[str]:
        return (name for name, spec in SENSORS.items() if spec.driver is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


DRIVERS: Mapping[str, type[Driver]] = _Drivers()
