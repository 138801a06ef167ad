"""MQTT wire format v1 (see docs/wire-format.md): topics and the payload codec.

Readings:  ``airq/v1/<station>/readings``, payload one JSON object or an array of them:
    {"ts": "2026-11-21T20:15:00Z", "sensor": "sds011",
     "values": {"pm2_5": 7.1, "pm10": 12.3}, "seq": 42}
Status:    ``airq/v1/<station>/status``, ``online`` / ``offline`` (last will), never retained.

Decoding is split so that an app can use a faster JSON parser: ``parse_json`` then
``decode_readings``. One bad reading in an array does not reject the others; one bad value in a
reading drops that value only (the reading is dropped when no value is left). Every rejection
is a ``WireFormatError`` whose ``reason`` is one of ``REASONS``.

Every step is bounded, whatever a station sends: payload size, JSON depth (``parse_json``
refuses NaN/Infinity literals and nesting deeper than the ingest's orjson does, so that MQTT
and HTTP agree), array length, times (``TS_MIN``..``TS_MAX``, else ``bad_ts``, before any
formatting), numbers of any size, ``seq`` (fits InfluxDB's int64), flags (a short charset).
Decoding never raises for content: bad content is a rejection.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

from airq_core.errors import WireFormatError
from airq_core.quantities import QUANTITIES
from airq_core.readings import Reading, format_time, parse_time
from airq_core.sensors import SENSORS

__all__ = [
    "REASONS",
    "STATION_ID_RE",
    "TS_MAX",
    "TS_MIN",
    "Limits",
    "decode_readings",
    "encode_reading",
    "encode_readings",
    "parse_json",
    "parse_topic",
    "readings_topic",
    "status_topic",
]

VERSION = "v1"
ROOT = f"airq/{VERSION}"
STATION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")  # use fullmatch (no trailing newline)
STATUS_ONLINE = b"online"
STATUS_OFFLINE = b"offline"
READINGS_FILTER = f"{ROOT}/+/readings"

REASONS = {
    "bad_topic": "topic is not airq/v1/<station>/readings with a valid station id",
    "payload_too_large": "payload larger than the size limit",
    "not_json": "payload is not UTF-8 JSON",
    "bad_structure": "payload is not a reading object or an array of them",
    "too_many_readings": "array longer than the limit",
    "bad_ts": "ts missing or not RFC 3339 with a zone / Unix seconds",
    "ts_future": "ts too far in the future",
    "ts_too_old": "ts too far in the past",
    "unknown_sensor": "sensor is not a model of the sensor registry",
    "bad_values": "values missing, empty or not an object",
    "unknown_quantity": "a value names a quantity outside the vocabulary",
    "not_number": "a value is not a finite number",
    "out_of_range": "a value is outside the plausible range of its quantity",
    "bad_seq": "seq is not a non-negative integer",
    "bad_flags": "flags is not a list of short strings",
    "unknown_station": "station is not in the registry",
    # counted by the ingest, never by decoding
    "retained": "a retained MQTT message, replayed by the broker: not a new reading",
    "internal": "the ingest failed on this message (kept in its dead-letter store)",
}

# the times a reading may carry, whatever the limits: 1970-01-01 .. 2100-01-01 (exclusive);
# outside them a time is no measurement (and cannot always be formatted: year 10000)
TS_MIN = 0.0
TS_MAX = 4102444800.0
SEQ_MAX = 2**63 - 1  # an InfluxDB integer field
MAX_JSON_DEPTH = 512  # below orjson's 1024 and Python's recursion limit
FLAG_RE = re.compile(r"[A-Za-z0-9_.:-]{1,32}")  # no comma: flags are stored comma-joined


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 256 * 1024
    max_readings: int = 1000
    max_future_s: float = 300.0
    max_age_s: float = 400 * 86400.0
    check_ranges: bool = True


DEFAULT_LIMITS = Limits()


def readings_topic(station: str) -> str:
    return f"{ROOT}/{station}/readings"


def status_topic(station: str) -> str:
    return f"{ROOT}/{station}/status"


def parse_topic(topic: str) -> tuple[str, str]:
    """``airq/v1/<station>/<kind>`` -> (station, kind); WireFormatError('bad_topic') otherwise."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "airq" or parts[1] != VERSION:
        raise WireFormatError("bad_topic", f"not an airq/v1 topic: {topic[:80]!r}")
    station, kind = parts[2], parts[3]
    if not STATION_ID_RE.fullmatch(station):
        raise WireFormatError("bad_topic", f"invalid station id in topic: {station[:80]!r}")
    if kind not in ("readings", "status"):
        raise WireFormatError("bad_topic", f"unknown topic kind {kind[:40]!r}")
    return station, kind


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_depth_ok(payload: bytes, limit: int) -> bool:
    """False when brackets nest deeper than ``limit`` (strings included: a cheap upper bound,
    only computed for payloads that have that many opening brackets at all)."""
    if payload.count(b"[") + payload.count(b"{") <= limit:
        return True
    depth = 0
    in_str = escaped = False
    for c in payload:
        if in_str:
            if escaped:
                escaped = False
            elif c == 0x5C:  # backslash
                escaped = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif c in (0x5D, 0x7D):
            depth -= 1
    return True


def parse_json(payload: bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Bytes -> the parsed JSON, or WireFormatError (``payload_too_large``, ``not_json``).

    Refuses what the ingest's orjson refuses too: NaN/Infinity literals, numbers that
    overflow a double, nesting deeper than ``MAX_JSON_DEPTH``, lone surrogates."""
    if len(payload) > limits.max_payload_bytes:
        raise WireFormatError(
            "payload_too_large",
            f"payload of {len(payload)} bytes exceeds {limits.max_payload_bytes}",
        )
    if not _json_depth_ok(payload, MAX_JSON_DEPTH):
        raise WireFormatError("not_json", f"JSON nested deeper than {MAX_JSON_DEPTH}")
    try:
        text = payload.decode("utf-8")
        obj = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
        if "\\u" in text:  # a lone surrogate escape ("\\ud800") would fail when re-encoded
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        return obj
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise WireFormatError("not_json", f"payload is not UTF-8 JSON: {str(exc)[:80]}") from None


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"number {text[:20]} overflows a double")
    return v


def _brief(v: Any) -> str:
    """A short description of a JSON value for an error message (never the whole value)."""
    if isinstance(v, str):
        return repr(v[:40])
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, int) and not isinstance(v, bool) and not -(10**30) < v < 10**30:
        return "a huge integer"
    return repr(v)[:40]


# the plausible range of each quantity (the hot loop of the ingest reads this dict, not the
# Quantity objects), and no range at all when ranges are not checked
_RANGES = {name: q.plausible for name, q in QUANTITIES.items()}
_NO_RANGES = {name: (-sys.float_info.max, sys.float_info.max) for name in QUANTITIES}


def _decode_one(
    station: str, obj: Any, now: float, limits: Limits, errors: list[WireFormatError]
) -> Reading | None:
    if not isinstance(obj, dict):
        errors.append(WireFormatError("bad_structure", "a reading must be a JSON object"))
        return None
    raw_ts = obj.get("ts")
    try:
        if raw_ts is None:
            raise ValueError("ts is missing")
        ts = parse_time(raw_ts)
    except ValueError as exc:
        errors.append(WireFormatError("bad_ts", str(exc)))
        return None
    if not TS_MIN <= ts < TS_MAX:  # before anything formats it (year 10000 cannot be)
        errors.append(
            WireFormatError("bad_ts", f"ts {_brief(raw_ts)} is not between 1970 and 2100")
        )
        return None
    if ts > now + limits.max_future_s:
        errors.append(WireFormatError("ts_future", f"ts {format_time(ts)} is in the future"))
        return None
    if ts < now - limits.max_age_s:
        errors.append(WireFormatError("ts_too_old", f"ts {format_time(ts)} is too old"))
        return None
    sensor = obj.get("sensor")
    if not isinstance(sensor, str) or sensor not in SENSORS:
        errors.append(WireFormatError("unknown_sensor", f"unknown sensor {_brief(sensor)}"))
        return None
    seq = obj.get("seq")
    if seq is not None and (
        isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= SEQ_MAX
    ):
        errors.append(
            WireFormatError("bad_seq", f"seq must be an integer in [0, 2^63): {_brief(seq)}")
        )
        return None
    flags = obj.get("flags", ())
    if not isinstance(flags, list | tuple) or (
        flags  # most readings have none: nothing to look through
        and (
            len(flags) > 16
            or not all(isinstance(f, str) and FLAG_RE.fullmatch(f) is not None for f in flags)
        )
    ):
        errors.append(
            WireFormatError("bad_flags", "flags must be a list of short strings [A-Za-z0-9_.:-]")
        )
        return None
    raw_values = obj.get("values")
    if not isinstance(raw_values, dict) or not raw_values:
        errors.append(WireFormatError("bad_values", "values must be a non-empty object"))
        return None
    values: dict[str, float] = {}
    ranges = _RANGES if limits.check_ranges else _NO_RANGES
    for name, v in raw_values.items():
        bounds = ranges.get(name)
        if bounds is None:
            errors.append(WireFormatError("unknown_quantity", f"unknown quantity {name[:40]!r}"))
            continue
        kind = type(v)  # JSON numbers are exactly float or int; a bool is no number here
        if (kind is not float and kind is not int) and (
            isinstance(v, bool) or not isinstance(v, int | float)
        ):
            errors.append(
                WireFormatError("not_number", f"{name} is not a finite number: {_brief(v)}")
            )
            continue
        # NaN and ±inf fail every range (even "no range" is the finite doubles), so the
        # common case pays one chained comparison; an int of any size compares exactly
        if not bounds[0] <= v <= bounds[1]:
            if v != v or v in (math.inf, -math.inf):
                errors.append(
                    WireFormatError("not_number", f"{name} is not a finite number: {v!r}")
                )
                continue
            lo, hi = bounds
            errors.append(
                WireFormatError(
                    "out_of_range",
                    f"{name}={_brief(v)} outside [{lo}, {hi}] {QUANTITIES[name].unit}",
                )
            )
            continue
        values[name] = float(v)
    if not values:
        return None
    return Reading(station, sensor, ts, values, seq, tuple(flags))


def decode_readings(
    station: str, obj: Any, now: float, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[Reading], list[WireFormatError]]:
    """A parsed payload -> (valid readings, rejections). Never raises for bad content."""
    errors: list[WireFormatError] = []
    if isinstance(obj, dict):
        items: list[Any] = [obj]
    elif isinstance(obj, list):
        if not obj:
            return [], [WireFormatError("bad_structure", "empty array")]
        if len(obj) > limits.max_readings:
            return [], [
                WireFormatError(
                    "too_many_readings", f"{len(obj)} readings exceed {limits.max_readings}"
                )
            ]
        items = obj
    else:
        return [], [WireFormatError("bad_structure", "payload must be an object or an array")]
    readings = []
    for item in items:
        r = _decode_one(station, item, now, limits, errors)
        if r is not None:
            readings.append(r)
    return readings, errors


def decode_payload(
    station: str, payload: bytes, now: float, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[Reading], list[WireFormatError]]:
    """Bytes -> (valid readings, rejections), for callers without a faster JSON parser."""
    try:
        obj = parse_json(payload, limits)
    except WireFormatError as exc:
        return [], [exc]
    return decode_readings(station, obj, now, limits)


def reading_to_obj(r: Reading) -> dict[str, Any]:
    obj: dict[str, Any] = {"ts": format_time(r.ts), "sensor": r.sensor, "values": r.values}
    if r.seq is not None:
        obj["seq"] = r.seq
    if r.flags:
        obj["flags"] = list(r.flags)
    return obj


def encode_reading(r: Reading) -> bytes:
    return json.dumps(reading_to_obj(r), separators=(",", ":"), ensure_ascii=False).encode()


def encode_readings(readings: list[Reading]) -> bytes:
    """Several readings of one station as one array payload (what a backlog flush sends)."""
    if len(readings) == 1:
        return encode_reading(readings[0])
    body = [reading_to_obj(r) for r in readings]
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
