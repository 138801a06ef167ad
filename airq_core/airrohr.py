"""sensor.community (airrohr) firmware bodies -> samples (pure).

The firmware sends, to a "custom API" and in its local ``/data.json``, one JSON document::

    {"esp8266id": "3122405", "software_version": "NRZ-2024-135",
     "sensordatavalues": [{"value_type": "SDS_P1", "value": "10.52"}, ...]}

with every value a string, sensor-prefixed ``value_type``s (``P1`` is PM10, ``P2`` is PM2.5),
pressure in Pa, and no timestamp (the receiver stamps it). When it posts to sensor.community
itself it sends one request per sensor with un-prefixed names and an ``X-PIN`` header; that
form is accepted too when the pin is given. See shared reference sensors.md §1.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from airq_core.errors import WireFormatError
from airq_core.readings import Sample

__all__ = ["AirrohrResult", "decode_body", "parse_body"]

# prefix -> (sensor model, {suffix: quantity})
_PM = {"P0": "pm1", "P2": "pm2_5", "P4": "pm4", "P1": "pm10"}
_PREFIXED: dict[str, tuple[str, dict[str, str]]] = {
    "SDS": ("sds011", _PM),
    "PMS": ("pms5003", _PM),  # PMS1003…7003: the firmware does not say which
    "HPM": ("hpm", _PM),
    "NPM": ("npm", _PM),
    "IPS": ("ips7100", _PM),
    "SPS30": (
        "sps30",
        {
            **_PM,
            "N05": "nc0_5",
            "N1": "nc1",
            "N25": "nc2_5",
            "N4": "nc4",
            "N10": "nc10",
            "TS": "tps",
        },
    ),
    "BME280": (
        "bme280",
        {"temperature": "temperature", "humidity": "humidity", "pressure": "pressure"},
    ),
    "BMP280": ("bmp280", {"temperature": "temperature", "pressure": "pressure"}),
    "BMP": ("bmp180", {"temperature": "temperature", "pressure": "pressure"}),
    "HTU21D": ("htu21d", {"temperature": "temperature", "humidity": "humidity"}),
    "SHT3X": ("sht3x", {"temperature": "temperature", "humidity": "humidity"}),
    "SCD30": ("scd30", {"temperature": "temperature", "humidity": "humidity", "co2_ppm": "co2"}),
    "DS18B20": ("ds18b20", {"temperature": "temperature"}),
}
# X-PIN of the per-sensor sensor.community form -> sensor model (un-prefixed names)
_PINS: dict[str, str] = {
    "1": "sds011",
    "3": "bmp280",
    "7": "dht22",
    "11": "bme280",
    "13": "ds18b20",
    "17": "scd30",
}
_UNPREFIXED = {
    "P0": "pm1",
    "P1": "pm10",
    "P2": "pm2_5",
    "P4": "pm4",
    "temperature": "temperature",
    "humidity": "humidity",
    "pressure": "pressure",
    "co2_ppm": "co2",
}
# device diagnostics: kept as meta, never stored as measurements
DIAGNOSTICS = {"samples", "min_micro", "max_micro", "interval", "signal"}
MAX_VALUES = 200
MAX_BODY = 64 * 1024


@dataclass
class AirrohrResult:
    samples: list[Sample]
    chip_id: str | None
    software_version: str | None
    diagnostics: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # value types we do not map (noise, GPS)
    rejected: list[str] = field(default_factory=list)  # values that are not numbers


def _number(text: Any) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        v = float(text)
    elif isinstance(text, str):
        t = text.strip()
        if t.endswith(" dBm"):  # older firmware appended the unit to "signal"
            t = t[:-4]
        try:
            v = float(t)
        except ValueError:
            return None
    else:
        return None
    return v if math.isfinite(v) else None


def _map(value_type: str, pin: str | None) -> tuple[str, str] | None:
    """value_type -> (sensor model, quantity), or None when not a measurement we store."""
    prefix, sep, suffix = value_type.partition("_")
    if sep and prefix in _PREFIXED:
        model, table = _PREFIXED[prefix]
        q = table.get(suffix)
        return (model, q) if q else None
    if value_type in ("temperature", "humidity"):  # DHT22 is un-prefixed everywhere
        return (_PINS.get(pin or "", "dht22") if pin else "dht22", value_type)
    if pin is not None and pin in _PINS and value_type in _UNPREFIXED:
        return _PINS[pin], _UNPREFIXED[value_type]
    return None


def parse_body(payload: bytes, max_bytes: int = MAX_BODY) -> dict[str, Any]:
    if len(payload) > max_bytes:
        raise WireFormatError("payload_too_large", f"body of {len(payload)} bytes is too large")
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireFormatError("not_json", f"body is not JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("sensordatavalues"), list):
        raise WireFormatError("bad_structure", "expected an object with a 'sensordatavalues' list")
    return obj


def decode_body(obj: dict[str, Any], pin: str | None = None) -> AirrohrResult:
    """A parsed firmware document -> one Sample per sensor model, in canonical units."""
    values = obj["sensordatavalues"]
    if len(values) > MAX_VALUES:
        raise WireFormatError("too_many_readings", f"{len(values)} values exceed {MAX_VALUES}")
    chip = obj.get("esp8266id")
    version = obj.get("software_version")
    result = AirrohrResult(
        [], str(chip) if chip is not None else None, str(version) if version is not None else None
    )
    per_model: dict[str, dict[str, float]] = {}
    for item in values:
        if not isinstance(item, dict) or not isinstance(item.get("value_type"), str):
            result.rejected.append("malformed entry")
            continue
        vt = item["value_type"][:64]
        if vt in DIAGNOSTICS:
            result.diagnostics[vt] = str(item.get("value"))[:32]
            continue
        mapped = _map(vt, pin)
        if mapped is None:
            result.ignored.append(vt)
            continue
        v = _number(item.get("value"))
        if v is None:
            result.rejected.append(f"{vt}={str(item.get('value'))[:20]!r}")
            continue
        model, quantity = mapped
        if quantity == "pressure":
            v = round(v / 100.0, 4)  # the firmware sends Pa; the vocabulary says hPa
        per_model.setdefault(model, {})[quantity] = v
    meta: dict[str, object] = {"source": "airrohr"}
    if result.chip_id:
        meta["chip_id"] = result.chip_id
    result.samples = [Sample(model, vals, meta=meta) for model, vals in per_model.items()]
    return result
