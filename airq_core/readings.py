"""Data types: a *sample* is decoded from one frame; a *reading* is a sample stamped with
station, sensor and time, and is what crosses MQTT."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Reading", "Sample", "format_time", "parse_time"]


@dataclass(frozen=True, slots=True)
class Sample:
    """Values decoded from one sensor frame, in canonical units.

    ``flags`` mark values that are real but must be read with care (``"warmup"``, ``"coarse"``).
    ``meta`` carries protocol details that are not measurements (device id, status bytes).
    """

    sensor: str
    values: dict[str, float]
    flags: tuple[str, ...] = ()
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample from one sensor of one station at one time (``ts``: Unix seconds, UTC)."""

    station: str
    sensor: str
    ts: float
    values: dict[str, float]
    seq: int | None = None
    flags: tuple[str, ...] = ()

    @property
    def ts_ms(self) -> int:
        return round(self.ts * 1000)


def parse_time(value: str | float | int) -> float:
    """RFC 3339 text (with a zone) or Unix seconds -> Unix seconds (float).

    Raises ValueError for text without a time zone, garbage, or a non-finite number (an int
    too large for a float included). The result may still be far from any plausible time:
    callers bound it (``airq_core.wire.TS_MIN``/``TS_MAX``) before formatting it.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        try:
            t = float(value)
        except OverflowError:
            raise ValueError("time is not a finite number") from None
        if t != t or t in (float("inf"), float("-inf")):
            raise ValueError("time is not a finite number")
        return t
    if not isinstance(value, str):
        raise ValueError("time must be RFC 3339 text or Unix seconds")
    text = value.strip()
    if len(text) > 40:
        raise ValueError("time text too long")
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {text[:40]!r}") from None
    if dt.tzinfo is None:
        raise ValueError(f"time has no time zone (add 'Z' for UTC): {text[:40]!r}")
    return dt.timestamp()


def format_time(ts: float) -> str:
    """Unix seconds -> RFC 3339 UTC text, with milliseconds only when needed.

    Raises ValueError (never OverflowError/OSError) for a time outside years 1..9999."""
    try:
        dt = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"time {ts!r:.30} is outside the years 1 to 9999") from None
    if dt.microsecond == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
