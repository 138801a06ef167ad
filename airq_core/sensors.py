"""The sensor registry: every sensor model the platform knows, by its wire name.

A plain dict. Adding a sensor touches its protocol module, one line here, its test data.
``protocol`` is the pure protocol module for sensors read over a serial line by a gateway;
sensors that only arrive already decoded (I2C on a board, HTTP from airrohr) have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from airq_core.errors import UnknownSensorError
from airq_core.protocols import sds011

__all__ = ["SENSORS", "SensorModel", "get_sensor"]


@dataclass(frozen=True, slots=True)
class SensorModel:
    name: str
    maker: str
    quantities: tuple[str, ...]
    protocol: ModuleType | None = None


SENSORS: dict[str, SensorModel] = {
    "sds011": SensorModel("sds011", "Nova Fitness", ("pm2_5", "pm10"), sds011),
    "bme280": SensorModel("bme280", "Bosch", ("temperature", "humidity", "pressure")),
    "bmp280": SensorModel("bmp280", "Bosch", ("temperature", "pressure")),
    "dht22": SensorModel("dht22", "Aosong", ("temperature", "humidity")),
    "sht3x": SensorModel("sht3x", "Sensirion", ("temperature", "humidity")),
}


def get_sensor(name: str) -> SensorModel:
    try:
        return SENSORS[name]
    except KeyError:
        known = ", ".join(sorted(SENSORS))
        raise UnknownSensorError(f"unknown sensor {name!r}; known sensors: {known}") from None
