"""Health and regulatory reference values used by the API statistics and the dashboards.

Sources (see ``../shared/reference/sensors.md`` §5): the WHO 2021 global air quality guidelines
(24-hour levels) and the French ATMO index sub-index thresholds (arrêté du 10 juillet 2020, in
force since 1 January 2021). A value equal to a class's upper bound belongs to that (lower)
class: ``atmo_class("pm2_5", 10.0) == "bon"``.

The ATMO index is an official, zone-level daily product computed by the AASQA. A class computed
here from a citizen sensor is *indicative* ("classe indicative type ATMO") and must never be
presented as the official index.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ATMO_CLASSES",
    "ATMO_THRESHOLDS",
    "NIGHT_NOISE",
    "WHO_24H",
    "AtmoClass",
    "NoiseReference",
    "atmo_class",
    "daily_statistic",
    "night_noise_references",
    "reference_quantity",
    "who_24h",
]

# WHO 2021 24-hour guideline levels (AQG), µg/m³. Exceeding means strictly above.
WHO_24H: dict[str, float] = {"pm2_5": 15.0, "pm10": 45.0, "no2": 25.0}


@dataclass(frozen=True, slots=True)
class NoiseReference:
    """A night-noise reference level, dB(A), outdoors at the most exposed facade.

    ``indicator`` is what it applies to: ``Lnight`` (LAeq over 22:00–06:00, averaged over a
    year in the texts). A ``laeq`` reading of a DNMS covers one sending interval: a night's
    or a year's Lnight must be energy-averaged from them, never read off one value.
    """

    key: str
    source: str
    indicator: str
    level_db: float
    label_fr: str
    label_en: str


# WHO Environmental Noise Guidelines for the European Region (2018): road traffic Lnight
# 45 dB (railway 44, aircraft 40). WHO Night Noise Guidelines for Europe (2009): Lnight,outside
# 40 dB, the lowest level with observed adverse effects on sleep. France, arrêté du 4 avril
# 2006 (art. 7), limit values of the strategic noise maps: road Ln 62 dB(A), conventional
# railway Ln 65 dB(A).
NIGHT_NOISE: tuple[NoiseReference, ...] = (
    NoiseReference(
        "who_2018_road", "WHO ENG 2018", "Lnight", 45.0,
        "OMS 2018, trafic routier, nuit", "WHO 2018, road traffic, night",
    ),
    NoiseReference(
        "who_2009_night", "WHO NNG 2009", "Lnight", 40.0,
        "OMS 2009, bruit nocturne (objectif)", "WHO 2009, night noise (target)",
    ),
    NoiseReference(
        "fr_road_ln", "arrêté du 4 avril 2006", "Lnight", 62.0,
        "Valeur limite française, route, nuit (Ln)", "French limit value, road, night (Ln)",
    ),
    NoiseReference(
        "fr_rail_ln", "arrêté du 4 avril 2006", "Lnight", 65.0,
        "Valeur limite française, voie ferrée, nuit (Ln)",
        "French limit value, conventional railway, night (Ln)",
    ),
)  # fmt: skip


def night_noise_references(quantity: str) -> tuple[NoiseReference, ...]:
    """Night-noise references a sound-level quantity is compared with (``laeq``), or ()."""
    return NIGHT_NOISE if quantity == "laeq" else ()


@dataclass(frozen=True, slots=True)
class AtmoClass:
    key: str
    label_fr: str
    label_en: str
    colour: str  # RGB hex commonly used for the ATMO index


ATMO_CLASSES: tuple[AtmoClass, ...] = (
    AtmoClass("bon", "Bon", "Good", "#50F0E6"),
    AtmoClass("moyen", "Moyen", "Fair", "#50CCAA"),
    AtmoClass("degrade", "Dégradé", "Degraded", "#F0E641"),
    AtmoClass("mauvais", "Mauvais", "Poor", "#FF5050"),
    AtmoClass("tres_mauvais", "Très mauvais", "Very poor", "#960032"),
    AtmoClass("extremement_mauvais", "Extrêmement mauvais", "Extremely poor", "#872181"),
)

# Upper bounds of the first five classes (the sixth is open), µg/m³.
ATMO_THRESHOLDS: dict[str, tuple[float, float, float, float, float]] = {
    "pm2_5": (10.0, 20.0, 25.0, 50.0, 75.0),
    "pm10": (20.0, 40.0, 50.0, 100.0, 150.0),
    "no2": (40.0, 90.0, 120.0, 230.0, 340.0),
    "o3": (50.0, 100.0, 130.0, 240.0, 380.0),
}

# Daily statistic each ATMO sub-index is computed on: the daily mean for particles, the
# maximum of the hourly means for gases.
_DAILY_STAT = {"pm2_5": "mean", "pm10": "mean", "no2": "max", "o3": "max"}


def reference_quantity(quantity: str) -> str:
    """The quantity whose reference values apply: a humidity-corrected series
    (``pm2_5_hcorr``) is compared with the same values as the raw one (``pm2_5``)."""
    return quantity.removesuffix("_hcorr")


def who_24h(quantity: str) -> float | None:
    """WHO 2021 24-hour guideline level of a quantity (µg/m³), or None."""
    return WHO_24H.get(reference_quantity(quantity))


def daily_statistic(quantity: str) -> str:
    """``"mean"`` or ``"max"`` (of hourly means): what the ATMO sub-index of a day uses."""
    return _DAILY_STAT.get(reference_quantity(quantity), "mean")


def atmo_class(quantity: str, value: float) -> AtmoClass | None:
    """The ATMO class of one daily value, or None for a quantity without ATMO thresholds."""
    bounds = ATMO_THRESHOLDS.get(reference_quantity(quantity))
    if bounds is None:
        return None
    for cls, upper in zip(ATMO_CLASSES, bounds, strict=False):
        if value <= upper:
            return cls
    return ATMO_CLASSES[-1]


# -- the overall ATMO index and annual references (issue 15) --------------------------------
# SO₂ sub-index of the arrêté du 10 juillet 2020 (annex I, 1.1): maximum of the daily hourly
# maxima, upper bounds of the first five classes, µg/m³. No sensor of the platform measures it
# yet; the overall index takes it when a station does.
ATMO_THRESHOLDS["so2"] = (100.0, 200.0, 350.0, 500.0, 750.0)
_DAILY_STAT["so2"] = "max"

# The five pollutants of the ATMO index (arrêté du 10 juillet 2020, art. 3), in the order the
# answers list them; the index of a day is the worst of their sub-indices (art. 6).
ATMO_POLLUTANTS: tuple[str, ...] = ("pm2_5", "pm10", "no2", "o3", "so2")


@dataclass(frozen=True, slots=True)
class AnnualReference:
    """An annual-mean reference value, µg/m³. Exceeding means strictly above."""

    key: str
    source: str
    kind: str  # "guideline" (WHO, not binding) or "limit" (EU limit value)
    label_fr: str
    label_en: str
    values: dict[str, float]


# WHO 2021 global air quality guidelines, annual AQG levels. Directive 2008/50/EC annual limit
# values, in force until the recast's take over. Directive (EU) 2024/2881 (recast, OJ L
# 20.11.2024), annex I, annual limit values to be attained by 1 January 2030. Checked against
# ../shared/reference/sensors.md §5.2–5.3, EUR-Lex 32024L2881 and the airclim.org table (old,
# new and WHO values side by side).
ANNUAL_REFERENCES: tuple[AnnualReference, ...] = (
    AnnualReference(
        "who_2021", "OMS / WHO 2021", "guideline",
        "Valeur guide annuelle OMS 2021", "WHO 2021 annual guideline level",
        {"pm2_5": 5.0, "pm10": 15.0, "no2": 10.0},
    ),
    AnnualReference(
        "eu_2030", "Directive (UE) 2024/2881", "limit",
        "Valeur limite annuelle UE applicable en 2030", "EU annual limit value from 2030",
        {"pm2_5": 10.0, "pm10": 20.0, "no2": 20.0},
    ),
    AnnualReference(
        "eu_2008", "Directive 2008/50/CE", "limit",
        "Valeur limite annuelle UE en vigueur", "EU annual limit value in force",
        {"pm2_5": 25.0, "pm10": 40.0, "no2": 40.0},
    ),
)  # fmt: skip

# Data requirements of an annual mean (Directive 2008/50/EC annex I A, kept by 2024/2881): fixed
# measurements need a minimum data capture of 90 %; indicative measurements a minimum time
# coverage of 14 % of the year (evenly spread, with 90 % data capture within it).
MIN_CAPTURE_FIXED = 0.90
MIN_TIME_COVERAGE_INDICATIVE = 0.14


def annual_references(quantity: str) -> list[tuple[AnnualReference, float]]:
    """(reference, value) of every annual reference that has a value for ``quantity``."""
    q = reference_quantity(quantity)
    return [(r, r.values[q]) for r in ANNUAL_REFERENCES if q in r.values]


__all__ += [
    "ANNUAL_REFERENCES",
    "ATMO_POLLUTANTS",
    "MIN_CAPTURE_FIXED",
    "MIN_TIME_COVERAGE_INDICATIVE",
    "AnnualReference",
    "annual_references",
]
