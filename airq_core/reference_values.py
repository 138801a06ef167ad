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
