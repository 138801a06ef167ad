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
    # Plantower "CF=1" (factory standard particle) series; the plain pm* names above are the
    # "atmospheric environment" series that airrohr and sensor.community use.
    Quantity("pm1_cf1", "µg/m³", "Particules PM1 (CF=1)", "PM1 particles (CF=1)", (0.0, 2000.0)),
    Quantity(
        "pm2_5_cf1", "µg/m³", "Particules PM2,5 (CF=1)", "PM2.5 particles (CF=1)", (0.0, 2000.0)
    ),
    Quantity("pm10_cf1", "µg/m³", "Particules PM10 (CF=1)", "PM10 particles (CF=1)", (0.0, 2000.0)),
    # Plantower particle counts: particles larger than the size, per cm³ of air.
    Quantity("n0_3", "#/cm³", "Particules > 0,3 µm", "Particles > 0.3 µm", (0.0, 100000.0)),
    Quantity("n0_5", "#/cm³", "Particules > 0,5 µm", "Particles > 0.5 µm", (0.0, 100000.0)),
    Quantity("n1", "#/cm³", "Particules > 1 µm", "Particles > 1 µm", (0.0, 100000.0)),
    Quantity("n2_5", "#/cm³", "Particules > 2,5 µm", "Particles > 2.5 µm", (0.0, 100000.0)),
    Quantity("n5", "#/cm³", "Particules > 5 µm", "Particles > 5 µm", (0.0, 100000.0)),
    Quantity("n10", "#/cm³", "Particules > 10 µm", "Particles > 10 µm", (0.0, 100000.0)),
    # Sensirion SPS30 number concentrations: particles from 0.3 µm up to the size, per cm³.
    Quantity("nc0_5", "#/cm³", "Particules 0,3–0,5 µm", "Particles 0.3–0.5 µm", (0.0, 100000.0)),
    Quantity("nc1", "#/cm³", "Particules 0,3–1 µm", "Particles 0.3–1 µm", (0.0, 100000.0)),
    Quantity("nc2_5", "#/cm³", "Particules 0,3–2,5 µm", "Particles 0.3–2.5 µm", (0.0, 100000.0)),
    Quantity("nc4", "#/cm³", "Particules 0,3–4 µm", "Particles 0.3–4 µm", (0.0, 100000.0)),
    Quantity("nc10", "#/cm³", "Particules 0,3–10 µm", "Particles 0.3–10 µm", (0.0, 100000.0)),
    Quantity("tps", "µm", "Taille typique des particules", "Typical particle size", (0.0, 20.0)),
    # Other gases, as mass concentrations at 20 °C and 101.3 kPa like no2.
    Quantity("co", "µg/m³", "Monoxyde de carbone (CO)", "Carbon monoxide (CO)", (0.0, 1.0e6)),
    Quantity("o3", "µg/m³", "Ozone (O₃)", "Ozone (O3)", (0.0, 50000.0)),
    Quantity("ch2o", "µg/m³", "Formaldéhyde (CH₂O)", "Formaldehyde (CH2O)", (0.0, 50000.0)),
    # Winsen ZPHS01B total-VOC grade: 0 (clean) to 3 (heavily polluted), no physical unit.
    Quantity("voc_grade", "grade", "Niveau de COV (0–3)", "VOC grade (0–3)", (0.0, 3.0)),
    # Sound levels of a noise sensor (DNMS on sensor.community boards), A-weighted, over the
    # board's sending interval: equivalent continuous level, minimum and maximum.
    Quantity("laeq", "dB(A)", "Niveau sonore LAeq", "Sound level LAeq", (0.0, 150.0)),
    Quantity(
        "la_min", "dB(A)", "Niveau sonore minimal LAmin", "Minimum sound level LAmin", (0.0, 150.0)
    ),
    Quantity(
        "la_max", "dB(A)", "Niveau sonore maximal LAmax", "Maximum sound level LAmax", (0.0, 150.0)
    ),
    # Position of a mobile board (GPS, WGS 84): a reading of the sensor "gps".
    Quantity("lat", "°", "Latitude", "Latitude", (-90.0, 90.0)),
    Quantity("lon", "°", "Longitude", "Longitude", (-180.0, 180.0)),
    Quantity("altitude", "m", "Altitude", "Altitude", (-500.0, 9000.0)),
)

QUANTITIES: dict[str, Quantity] = {q.name: q for q in _ALL}


def is_known(name: str) -> bool:
    return name in QUANTITIES


def unit_of(name: str) -> str:
    return QUANTITIES[name].unit
