"""The sensor registry: every sensor model the platform knows, by its wire name.

A plain dict. Adding a sensor touches its protocol module, one line here, its test data.
``protocol`` is the pure protocol module for sensors read over a serial line by a gateway;
sensors that only arrive already decoded (I2C on a board, HTTP from airrohr) have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from airq_core.errors import UnknownSensorError
from airq_core.protocols import (
    mhz19,
    plantower,
    rd200m,
    scd30,
    sds011,
    senseair_s8,
    sps30,
    zphs01b,
)

__all__ = ["SENSORS", "SensorModel", "get_sensor"]


@dataclass(frozen=True, slots=True)
class SensorModel:
    name: str
    maker: str
    quantities: tuple[str, ...]
    protocol: ModuleType | None = None


SENSORS: dict[str, SensorModel] = {
    "sds011": SensorModel("sds011", "Nova Fitness", ("pm2_5", "pm10"), sds011),
    "pms5003": SensorModel("pms5003", "Plantower", plantower.QUANTITIES, plantower),
    "pms7003": SensorModel("pms7003", "Plantower", plantower.QUANTITIES, plantower),
    "sps30": SensorModel("sps30", "Sensirion", sps30.QUANTITIES, sps30),
    "mhz19b": SensorModel("mhz19b", "Winsen", ("co2",), mhz19),
    "senseair_s8": SensorModel("senseair_s8", "Senseair", ("co2",), senseair_s8),
    "scd30": SensorModel("scd30", "Sensirion", ("co2", "temperature", "humidity"), scd30),
    "rd200m": SensorModel("rd200m", "FTLab", ("radon",), rd200m),
    "zphs01b": SensorModel("zphs01b", "Winsen", zphs01b.QUANTITIES, zphs01b),
    # Analog: the gateway converts ADC millivolts with airq_core.protocols.b43f.convert.
    "b43f": SensorModel("b43f", "Alphasense", ("no2",)),
    "bme280": SensorModel("bme280", "Bosch", ("temperature", "humidity", "pressure")),
    "bmp280": SensorModel("bmp280", "Bosch", ("temperature", "pressure")),
    "dht22": SensorModel("dht22", "Aosong", ("temperature", "humidity")),
    "sht3x": SensorModel("sht3x", "Sensirion", ("temperature", "humidity")),
    # models that only arrive from sensor.community (airrohr) boards
    "hpm": SensorModel("hpm", "Honeywell", ("pm2_5", "pm10")),
    "npm": SensorModel("npm", "Tera Sensor", ("pm1", "pm2_5", "pm10", "nc1", "nc2_5", "nc10")),
    "ips7100": SensorModel("ips7100", "Piera Systems", ("pm1", "pm2_5", "pm10")),
    "htu21d": SensorModel("htu21d", "TE Connectivity", ("temperature", "humidity")),
    "bmp180": SensorModel("bmp180", "Bosch", ("temperature", "pressure")),
    "ds18b20": SensorModel("ds18b20", "Maxim", ("temperature",)),
    "dnms": SensorModel("dnms", "DNMS", ("laeq", "la_min", "la_max")),
    "gps": SensorModel("gps", "GNSS receiver", ("lat", "lon", "altitude")),
    # a shared airrohr pin whose model is unknown (flag "model_unknown"): see airq_core.airrohr
    "pm_generic": SensorModel("pm_generic", "", ("pm1", "pm2_5", "pm4", "pm10")),
    "temp_humidity_generic": SensorModel("temp_humidity_generic", "", ("temperature", "humidity")),
    "temp_pressure_generic": SensorModel("temp_pressure_generic", "", ("temperature", "pressure")),
}


def get_sensor(name: str) -> SensorModel:
    try:
        return SENSORS[name]
    except KeyError:
        known = ", ".join(sorted(SENSORS))
        raise UnknownSensorError(f"unknown sensor {name!r}; known sensors: {known}") from None
