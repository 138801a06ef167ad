"""The vocabulary: one name and one canonical unit per measured quantity.

The same names are used unchanged in MQTT payloads, InfluxDB fields, API JSON and dashboards.
``plausible`` bounds are physical/instrument limits used to reject garbage, not health limits.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QUANTITIES", "Quantity", "is_known", "unit_of"]


@dataclass(frozen=True, slots=True)
class Quantity:
    name: str
    unit: str
    label_fr: str
    label_en: str
    plausible: tuple[float, float]


_ALL = (
    Quantity("pm1", "µg/m³", "Particules PM1", "PM1 particles", (0.0, 2000.0)),
    Quantity("pm2_5", "µg/m³", "Particules fines PM2,5", "Fine particles PM2.5", (0.0, 2000.0)),
    Quantity("pm4", "µg/m³", "Particules PM4", "PM4 particles", (0.0, 2000.0)),
    Quantity("pm10", "µg/m³", "Particules PM10", "PM10 particles", (0.0, 2000.0)),
    Quantity("no2", "µg/m³", "Dioxyde d'azote (NO₂)", "Nitrogen dioxide (NO2)", (-50.0, 5000.0)),
    Quantity("co2", "ppm", "Dioxyde de carbone (CO₂)", "Carbon dioxide (CO2)", (0.0, 40000.0)),
    Quantity("radon", "Bq/m³", "Radon", "Radon", (0.0, 100000.0)),
    Quantity("temperature", "°C", "Température", "Temperature", (-60.0, 85.0)),
    Quantity("humidity", "%", "Humidité relative", "Relative humidity", (0.0, 100.0)),
    Quantity("pressure", "hPa", "Pression atmosphérique", "Air pressure", (300.0, 1100.0)),
)

QUANTITIES: dict[str, Quantity] = {q.name: q for q in _ALL}


def is_known(name: str) -> bool:
    return name in QUANTITIES


def unit_of(name: str) -> str:
    return QUANTITIES[name].unit
