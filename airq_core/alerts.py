"""What an alert subscription says, shared by the API and the CLI (which write subscriptions)
and the alerts service (which evaluates them): the rule kinds, durations, the presets and the
checks of a rule's numbers (pure, stdlib). docs/alerts.md describes the rules.

Errors: :class:`AlertRuleError` (a ``ValueError``) names the bad field and how to fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airq_core.quantities import QUANTITIES

__all__ = [
    "DEFAULT_HYSTERESIS",
    "KINDS",
    "PRESETS",
    "AlertRuleError",
    "Preset",
    "format_duration",
    "parse_duration",
    "parse_quiet_hours",
    "validate_rule",
]

KINDS = ("threshold", "silent", "stuck")
"""``threshold``: a quantity above a value for a window; ``silent``: no reading for a time;
``stuck``: the same value of a quantity for a number of readings in a row."""

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
    """Seconds as a resident reads them: ``10 min``, ``2 h``, ``7 jours`` / ``7 days``."""
    s = round(seconds)
    if s % 86400 == 0 and s >= 86400:
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
    "pm2_5_who_24h": Preset("pm2_5", 15.0, 86400.0, "mean"),
}


def validate_rule(
    kind: str,
    quantity: str | None,
    above: float | None,
    clear: float | None,
    for_s: float,
    silent_after_s: float | None,
    mode: str = "all",
    stuck_readings: int | None = None,
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
    if above is None or above != above or abs(above) > 1e9:
        raise AlertRuleError("above: give the threshold as a number (e.g. --above 50)")
    if clear is not None and (clear != clear or clear > above):
        raise AlertRuleError("clear: the level that ends the alert must be at most 'above'")
    if mode == "mean" and for_s <= 0:
        raise AlertRuleError("for: a mean needs a window (e.g. 24h)")
