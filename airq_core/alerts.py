"""What an alert subscription says, shared by the API and the CLI (which write subscriptions)
and the alerts service (which evaluates them): the rule kinds, durations, the presets and the
checks of a rule's numbers (pure, stdlib). docs/alerts.md describes the rules.

Errors: :class:`AlertRuleError` (a ``ValueError``) names the bad field and how to fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airq_core.quantities import QUANTITIES
from airq_core.reference_values import (
    ATMO_CLASSES,
    ATMO_THRESHOLDS,
    WHO_24H,
    daily_statistic,
    reference_quantity,
)

__all__ = [
    "DEFAULT_HYSTERESIS",
    "DRIFT_DEFAULTS",
    "GUIDELINES",
    "KINDS",
    "PRESETS",
    "AlertRuleError",
    "Level",
    "Preset",
    "format_duration",
    "parse_bbox",
    "parse_duration",
    "parse_quiet_hours",
    "resolve_level",
    "validate_rule",
]

KINDS = ("threshold", "silent", "stuck", "drift")
"""``threshold``: a quantity above a value for a window; ``silent``: no reading for a time;
``stuck``: the same value of a quantity for a number of readings in a row; ``drift``: a
station's recent mean far from the median of its neighbours' for a time."""

DRIFT_DEFAULTS = {"radius_km": 2.0, "min_neighbours": 3, "ratio": 2.0, "for_s": 3 * 3600.0}
"""A drift rule without its own figures: neighbours within 2 km, at least 3 of them, the
station's mean more than twice their median (or less than half) for 3 hours."""

GUIDELINES = ("who_24h",)
"""Named thresholds ``--above who-24h``: the WHO 2021 24-hour guideline levels."""

MIN_STUCK_READINGS = 3

DEFAULT_HYSTERESIS = 0.1
"""Without an explicit clear level, an alert ends below ``above × (1 − 0.1)``."""

MAX_DURATION_S = 366 * 86400.0
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|j)?\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "j": 86400, None: 1}


class AlertRuleError(ValueError):
    """A subscription's rule is refused; the message names the field and what to write."""


def parse_duration(text: str | float | int, field: str = "duration") -> float:
    """``"10m"``, ``"90s"``, ``"2h"``, ``"7d"`` (``"7j"``), or seconds -> seconds."""
    if isinstance(text, bool):
        raise AlertRuleError(f"{field}: not a duration")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        m = _DURATION_RE.match(text)
        if not m:
            raise AlertRuleError(
                f"{field}: {text[:40]!r} is not a duration (write 90s, 10m, 2h or 7d)"
            )
        seconds = float(m[1]) * _UNIT_S[m[2].lower() if m[2] else None]
    if not 0 <= seconds <= MAX_DURATION_S:
        raise AlertRuleError(f"{field}: between 0 and 366 days")
    return seconds


def format_duration(seconds: float, lang: str = "fr") -> str:
    """Seconds as a resident reads them: ``10 min``, ``2 h``, ``24 h``, ``7 jours`` /
    ``7 days`` (a single day reads as 24 h, as the WHO guideline is named)."""
    s = round(seconds)
    if s % 86400 == 0 and s >= 2 * 86400:
        n = s // 86400
        word = ("jour" if lang == "fr" else "day") + ("s" if n > 1 else "")
        return f"{n} {word}"
    if s % 3600 == 0 and s >= 3600:
        return f"{s // 3600} h"
    if s % 60 == 0 and s >= 60:
        return f"{s // 60} min"
    return f"{s} s"


def parse_quiet_hours(text: str | None) -> tuple[int, int] | None:
    """``"22-7"`` (local hours, Europe/Paris: no message from 22:00 to 07:00) -> (22, 7)."""
    if text is None or text == "":
        return None
    m = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", text)
    if not m or not (0 <= int(m[1]) <= 23 and 0 <= int(m[2]) <= 23) or m[1] == m[2]:
        raise AlertRuleError(f"quiet hours: {text[:20]!r} is not START-END in hours (e.g. 22-7)")
    return int(m[1]), int(m[2])


@dataclass(frozen=True, slots=True)
class Preset:
    """A ready-made threshold rule (``--preset radon``)."""

    quantity: str
    above: float
    for_s: float
    mode: str  # "all": every reading above over the window; "mean": the window's mean above
    indoor_only: bool = False


PRESETS: dict[str, Preset] = {
    # the French reference level for radon, an annual mean; a week's mean is the earliest sign
    "radon": Preset("radon", 300.0, 7 * 86400.0, "mean", indoor_only=True),
    # ventilation advice in a room (schools' and homes' CO2 guidance)
    "co2": Preset("co2", 1500.0, 600.0, "all", indoor_only=True),
    # the WHO 2021 24-hour guideline for PM2.5 (15 µg/m³) as a 24-hour mean
    "pm2_5_who_24h": Preset("pm2_5", WHO_24H["pm2_5"], 86400.0, "mean"),
}


@dataclass(frozen=True, slots=True)
class Level:
    """A named threshold turned into a rule's figures: ``level`` is what the messages name
    (``who_24h`` or ``atmo:<class>``)."""

    above: float
    for_s: float
    mode: str
    level: str


def resolve_level(quantity: str | None, above_class: str | None, guideline: str | None) -> Level:
    """The figures of ``--above-class degrade`` (the class's lower edge: above the upper bound
    of the class before it; over the sub-index's statistic, a 24-h mean for particles, a 1-h
    mean for gases) or of ``--above who-24h`` (the WHO 2021 24-h guideline as a 24-h mean)."""
    if (above_class is None) == (guideline is None):
        raise AlertRuleError("give either an ATMO class or a guideline (who-24h)")
    q = reference_quantity(quantity or "")
    if guideline is not None:
        key = guideline.strip().lower().replace("-", "_")
        if key not in GUIDELINES:
            raise AlertRuleError(f"above: {guideline[:20]!r} is not a number nor who-24h")
        if q not in WHO_24H:
            names = ", ".join(sorted(WHO_24H))
            raise AlertRuleError(f"quantity: the WHO 24-h guideline exists for {names} only")
        return Level(WHO_24H[q], 86400.0, "mean", key)
    assert above_class is not None
    keys = [c.key for c in ATMO_CLASSES]
    key = above_class.strip().lower().replace("é", "e").replace("-", "_").replace(" ", "_")
    if key not in keys:
        raise AlertRuleError(f"above_class: {above_class[:30]!r} is not one of {', '.join(keys)}")
    bounds = ATMO_THRESHOLDS.get(q)
    if bounds is None:
        names = ", ".join(sorted(ATMO_THRESHOLDS))
        raise AlertRuleError(f"quantity: ATMO classes exist for {names} only")
    rank = keys.index(key)
    if rank == 0:
        raise AlertRuleError("above_class: 'bon' is the best class; choose moyen or worse")
    window = 86400.0 if daily_statistic(q) == "mean" else 3600.0
    return Level(bounds[rank - 1], window, "mean", f"atmo:{key}")


def parse_bbox(text: str | list[float] | tuple[float, ...]) -> tuple[float, float, float, float]:
    """``"lon1,lat1,lon2,lat2"`` (WGS 84 degrees, any two opposite corners) -> (west, south,
    east, north)."""
    try:
        parts = [float(p) for p in (text.split(",") if isinstance(text, str) else text)]
    except (TypeError, ValueError):
        parts = []
    if len(parts) != 4 or any(p != p for p in parts):
        raise AlertRuleError("bbox: write lon1,lat1,lon2,lat2 in degrees (e.g. 3.05,50.6,3.1,50.7)")
    lon1, lat1, lon2, lat2 = parts
    if not all(-180 <= x <= 180 for x in (lon1, lon2)) or not all(
        -90 <= y <= 90 for y in (lat1, lat2)
    ):
        raise AlertRuleError("bbox: longitudes within ±180 and latitudes within ±90, lon first")
    w, e, s, n = min(lon1, lon2), max(lon1, lon2), min(lat1, lat2), max(lat1, lat2)
    if w == e or s == n:
        raise AlertRuleError("bbox: the two corners must differ in longitude and latitude")
    return w, s, e, n


def validate_rule(
    kind: str,
    quantity: str | None,
    above: float | None,
    clear: float | None,
    for_s: float,
    silent_after_s: float | None,
    mode: str = "all",
    stuck_readings: int | None = None,
    *,
    drift_ratio: float | None = None,
    drift_diff: float | None = None,
    radius_km: float | None = None,
    min_neighbours: int | None = None,
) -> None:
    """Raises AlertRuleError when the fields do not make one rule."""
    if kind not in KINDS:
        raise AlertRuleError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if mode not in ("all", "mean"):
        raise AlertRuleError("mode: 'all' (every reading above) or 'mean' (the window's mean)")
    if kind == "silent":
        if silent_after_s is None or silent_after_s < 60:
            raise AlertRuleError("silent_after: give at least 60 s (e.g. 30m)")
        return
    if kind == "stuck" and (stuck_readings is None or stuck_readings < MIN_STUCK_READINGS):
        raise AlertRuleError(
            f"stuck_readings: give at least {MIN_STUCK_READINGS} readings in a row (e.g. 20)"
        )
    if quantity is None or quantity not in QUANTITIES:
        raise AlertRuleError(
            f"quantity: {str(quantity)[:30]!r} is not a quantity of the vocabulary "
            "(pm2_5, pm10, no2, co2, radon…)"
        )
    if kind == "stuck":
        return
    if kind == "drift":
        if drift_ratio is None and drift_diff is None:
            raise AlertRuleError("drift: give a ratio (e.g. 2) or a difference (e.g. 10)")
        if drift_ratio is not None and not 1 < drift_ratio <= 1000:
            raise AlertRuleError("drift_ratio: more than 1 (2: twice or half the neighbours')")
        if drift_diff is not None and not 0 < drift_diff <= 1e9:
            raise AlertRuleError("drift_diff: a positive difference in the quantity's unit")
        if radius_km is None or not 0.05 <= radius_km <= 50:
            raise AlertRuleError("radius: between 0.05 and 50 km (e.g. 2)")
        if min_neighbours is None or not 1 <= min_neighbours <= 100:
            raise AlertRuleError("min_neighbours: between 1 and 100 (e.g. 3)")
        if for_s <= 0:
            raise AlertRuleError("drift_for: how long the station must stay apart (e.g. 3h)")
        return
    if above is None or above != above or abs(above) > 1e9:
        raise AlertRuleError("above: give the threshold as a number (e.g. --above 50)")
    if clear is not None and (clear != clear or clear > above):
        raise AlertRuleError("clear: the level that ends the alert must be at most 'above'")
    if mode == "mean" and for_s <= 0:
        raise AlertRuleError("for: a mean needs a window (e.g. 24h)")
