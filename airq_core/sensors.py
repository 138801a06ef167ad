"""The sensor registry: every sensor model the platform knows, by its wire name.

A plain dict of one record per model. Adding a sensor is one record here plus its modules: the
pure protocol module (``airq_core.protocols.<family>``), the gateway driver and the virtual
sensor, all named by dotted path (``package.module:Class``) and imported only when asked for
(:func:`load`), so that this module imports no app and no app imports another: the gateway
resolves ``driver``, the workshop tools resolve ``emulator``.

``protocol`` is the pure protocol module for sensors read over a serial line by a gateway, and
``commands`` the module that builds the bytes a host sends them
(``airq_core.protocols.commands.<family>``); sensors that only arrive already decoded (I²C on a
board, HTTP from airrohr) have neither.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from airq_core.errors import UnknownSensorError

__all__ = ["SENSORS", "SensorModel", "get_sensor", "load"]


def load(path: str) -> object:
    """Import ``package.module`` or ``package.module:attribute`` and return it."""
    module, _, attribute = path.partition(":")
    found: object = importlib.import_module(module)
    for part in filter(None, attribute.split(".")):
        found = getattr(found, part)
    return found


@dataclass(frozen=True, slots=True)
class SensorModel:
    """One sensor model.

    ``protocol_path``, ``driver``, ``emulator`` and ``commands_path`` are dotted paths, resolved
    lazily: the protocol module by :attr:`protocol`, the host-command builders by
    :attr:`commands`, the others by the app that needs them (with :func:`load`). An emulator
    class is built with ``sensor=<name>`` and the user's options.
    """

    name: str
    maker: str
    quantities: tuple[str, ...]
    protocol_path: str | None = None
    driver: str | None = None
    emulator: str | None = None
    commands_path: str | None = None

    @property
    def protocol(self) -> ModuleType | None:
        """The pure protocol module (None for a sensor not read over a serial line)."""
        if self.protocol_path is None:
            return None
        return importlib.import_module(self.protocol_path)

    @property
    def commands(self) -> ModuleType | None:
        """The host-command builders (None for a sensor not read over a serial line)."""
        if self.commands_path is None:
            return None
        return importlib.import_module(self.commands_path)


def _serial(
    name: str, maker: str, quantities: tuple[str, ...], family: str, driver: str, emulator: str
) -> SensorModel:
    return SensorModel(
        name,
        maker,
        quantities,
        f"airq_core.protocols.{family}",
        f"gateway.drivers.{family}:{driver}",
        f"firmware_tools.virtual.{family}:{emulator}",
        f"airq_core.protocols.commands.{family}",
    )


_PM = ("pm1_cf1", "pm2_5_cf1", "pm10_cf1", "pm1", "pm2_5", "pm10")
_PMS = (*_PM, "n0_3", "n0_5", "n1", "n2_5", "n5", "n10")
_PMS_T = (*_PM, "n0_3", "n0_5", "n1", "n2_5", "temperature", "humidity")
_SPS30 = ("pm1", "pm2_5", "pm4", "pm10", "nc0_5", "nc1", "nc2_5", "nc4", "nc10", "tps")
_ZPHS01B = (
    *("pm1", "pm2_5", "pm10", "co2", "voc_grade", "temperature", "humidity"),
    *("ch2o", "co", "o3", "no2"),
)
_TRH = ("temperature", "humidity")

SENSORS: dict[str, SensorModel] = {
    "sds011": _serial(
        "sds011", "Nova Fitness", ("pm2_5", "pm10"), "sds011", "Sds011Driver", "VirtualSDS011"
    ),
    "pms5003": _serial("pms5003", "Plantower", _PMS, "plantower", "PlantowerDriver", "VirtualPMS"),
    "pms7003": _serial("pms7003", "Plantower", _PMS, "plantower", "PlantowerDriver", "VirtualPMS"),
    "pms5003t": _serial(
        "pms5003t", "Plantower", _PMS_T, "plantower", "PlantowerDriver", "VirtualPMS"
    ),
    "pms5003st": _serial(
        "pms5003st",
        "Plantower",
        (*_PMS, "ch2o", *_TRH),
        "plantower",
        "PlantowerDriver",
        "VirtualPMS",
    ),
    "sps30": _serial("sps30", "Sensirion", _SPS30, "sps30", "Sps30Driver", "VirtualSPS30"),
    "mhz19b": _serial("mhz19b", "Winsen", ("co2",), "mhz19", "Mhz19bDriver", "VirtualMHZ19B"),
    "senseair_s8": _serial(
        "senseair_s8", "Senseair", ("co2",), "senseair_s8", "SenseairS8Driver", "VirtualS8"
    ),
    "scd30": _serial("scd30", "Sensirion", ("co2", *_TRH), "scd30", "Scd30Driver", "VirtualSCD30"),
    "rd200m": _serial("rd200m", "FTLab", ("radon",), "rd200m", "Rd200mDriver", "VirtualRD200M"),
    "zphs01b": _serial("zphs01b", "Winsen", _ZPHS01B, "zphs01b", "Zphs01bDriver", "VirtualZPHS01B"),
    # Analog: the gateway converts ADC millivolts with airq_core.protocols.b43f.convert.
    "b43f": SensorModel("b43f", "Alphasense", ("no2",)),
    "bme280": SensorModel("bme280", "Bosch", ("temperature", "humidity", "pressure")),
    "bmp280": SensorModel("bmp280", "Bosch", ("temperature", "pressure")),
    "dht22": SensorModel("dht22", "Aosong", _TRH),
    "sht3x": SensorModel("sht3x", "Sensirion", _TRH),
    # models that only arrive from sensor.community (airrohr) boards
    "hpm": SensorModel("hpm", "Honeywell", ("pm2_5", "pm10")),
    "npm": SensorModel("npm", "Tera Sensor", ("pm1", "pm2_5", "pm10", "nc1", "nc2_5", "nc10")),
    "ips7100": SensorModel("ips7100", "Piera Systems", ("pm1", "pm2_5", "pm10")),
    "htu21d": SensorModel("htu21d", "TE Connectivity", _TRH),
    "bmp180": SensorModel("bmp180", "Bosch", ("temperature", "pressure")),
    "ds18b20": SensorModel("ds18b20", "Maxim", ("temperature",)),
    "dnms": SensorModel("dnms", "DNMS", ("laeq", "la_min", "la_max")),
    "gps": SensorModel("gps", "GNSS receiver", ("lat", "lon", "altitude")),
    # a shared airrohr pin whose model is unknown (flag "model_unknown"): see airq_core.airrohr
    "pm_generic": SensorModel("pm_generic", "", ("pm1", "pm2_5", "pm4", "pm10")),
    "temp_humidity_generic": SensorModel("temp_humidity_generic", "", _TRH),
    "temp_pressure_generic": SensorModel("temp_pressure_generic", "", ("temperature", "pressure")),
}


def get_sensor(name: str) -> SensorModel:
    try:
        return SENSORS[name]
    except KeyError:
        known = ", ".join(sorted(SENSORS))
        raise UnknownSensorError(f"unknown sensor {name!r}; known sensors: {known}") from None
