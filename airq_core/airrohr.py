"""sensor.community (airrohr) firmware bodies -> samples (pure).

The firmware (``airrohr-firmware.ino``, NRZ-2024-135) builds one JSON document per cycle::

    {"esp8266id": "3122405", "software_version": "NRZ-2024-135",
     "sensordatavalues": [{"value_type": "SDS_P1", "value": "10.52"}, ...]}

with every value a string (``String(float)``: two decimals; GPS lat/lon six), sensor-prefixed
``value_type``s (``P1`` is PM10, ``P2`` is PM2.5), pressure in Pa and no timestamp (the
receiver stamps it). That is the *custom API* form (and ``/data.json``). To sensor.community
itself it sends one request per sensor: the same list for that sensor only, the prefix
removed (``SPS30_N05`` → ``N05``, ``DNMS_noise_LAeq`` → ``noise_LAeq``), no ``esp8266id`` and an
``X-PIN`` header. Pins are shared: 1 is SDS011, PMS, HPM, Next PM, IPS-7100 *and* SPS30; 7 is
DHT22, HTU21D and SHT3x; 3 is BMP180 and BMP280. In that form the model is resolved, in order,
by the station's registered hardware (``hardware``), then by the value types present (each
model sends a fixed set), else the values are kept under a generic sensor name
(``pm_generic``, ``temp_humidity_generic``, ``temp_pressure_generic``) with the flag
``model_unknown``: never under another model's name. An SDS011 sample with PM10 and PM2.5
both exactly 0, an SPS30 one with its ten values 0, carries ``warmup`` (``sample_flags`` of
their protocol modules, as when the gateway decodes a zero frame). See docs/airrohr.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from airq_core.errors import WireFormatError
from airq_core.flags import MODEL_UNKNOWN
from airq_core.protocols import sds011, sps30
from airq_core.readings import Sample

__all__ = [
    "FIRMWARE_SENSORS",
    "AirrohrResult",
    "FirmwareSensor",
    "decode_body",
    "parse_body",
    "resolve_model",
]


@dataclass(frozen=True, slots=True)
class FirmwareSensor:
    """One sensor driver of the firmware: what it sends and under which pin.

    ``table`` maps the un-prefixed value type to a quantity of the vocabulary; ``known`` lists
    the types it also sends that the platform does not store (part of its signature).
    """

    model: str
    prefix: str  # value_type prefix in the custom body, without "_" ("" for DHT22)
    pin: str  # X-PIN of the per-sensor upload
    table: dict[str, str]
    known: tuple[str, ...] = ()

    @property
    def signature(self) -> frozenset[str]:
        return frozenset(self.table) | frozenset(self.known)


_TH = {"temperature": "temperature", "humidity": "humidity"}
_TP = {"temperature": "temperature", "pressure": "pressure"}
_SDS = {"P1": "pm10", "P2": "pm2_5"}
_PM3 = {"P0": "pm1", "P1": "pm10", "P2": "pm2_5"}

# In the order of the firmware's send loop. Facts from airrohr-firmware.ino (fetchSensor*,
# add_Value2Json calls) and ext_def.h (*_API_PIN).
FIRMWARE_SENSORS: tuple[FirmwareSensor, ...] = (
    FirmwareSensor("sds011", "SDS", "1", _SDS),
    # PMS1003/3003/5003/6003/7003 share one driver: stored as pms5003 unless registered pms7003
    FirmwareSensor("pms5003", "PMS", "1", _PM3),
    FirmwareSensor("hpm", "HPM", "1", _SDS),
    # Next PM: counts in pcs/L divided by 1000 by the firmware, i.e. per cm³
    FirmwareSensor("npm", "NPM", "1", {**_PM3, "N1": "nc1", "N25": "nc2_5", "N10": "nc10"}),
    # IPS-7100: PM0.1/0.3/0.5/5 masses and the seven counts have no quantity here (kept out)
    FirmwareSensor(
        "ips7100",
        "IPS",
        "1",
        _PM3,
        ("P01", "P03", "P05", "P5", "N1", "N10", "N25", "N01", "N03", "N05", "N5"),
    ),
    FirmwareSensor(
        "sps30",
        "SPS30",
        "1",
        {
            **_PM3,
            "P4": "pm4",
            "N05": "nc0_5",
            "N1": "nc1",
            "N25": "nc2_5",
            "N4": "nc4",
            "N10": "nc10",
            "TS": "tps",
        },
    ),
    FirmwareSensor("dht22", "", "7", _TH),
    FirmwareSensor("htu21d", "HTU21D", "7", _TH),
    FirmwareSensor("bmp180", "BMP", "3", _TP),
    FirmwareSensor("bme280", "BME280", "11", {**_TP, "humidity": "humidity"}),
    FirmwareSensor("bmp280", "BMP280", "3", _TP),
    FirmwareSensor("sht3x", "SHT3X", "7", _TH),
    FirmwareSensor("scd30", "SCD30", "17", {**_TH, "co2_ppm": "co2"}),
    FirmwareSensor("ds18b20", "DS18B20", "13", {"temperature": "temperature"}),
    FirmwareSensor(
        "dnms",
        "DNMS",
        "15",
        {"noise_LAeq": "laeq", "noise_LA_min": "la_min", "noise_LA_max": "la_max"},
    ),
    # a mobile board's position: a reading of the sensor "gps" (see docs/airrohr.md)
    FirmwareSensor(
        "gps", "GPS", "9", {"lat": "lat", "lon": "lon", "height": "altitude"}, ("timestamp",)
    ),
)
_BY_PREFIX = {s.prefix: s for s in FIRMWARE_SENSORS if s.prefix}
_BY_MODEL = {s.model: s for s in FIRMWARE_SENSORS}
# one driver, several registered model names
_ALIASES = {"pms7003": "pms5003"}
# shared pin -> sensor name when the model cannot be told
GENERIC = {"1": "pm_generic", "7": "temp_humidity_generic", "3": "temp_pressure_generic"}
# what a generic reading keeps: the quantities every candidate means the same way
_GENERIC_TABLE = {"1": {**_PM3, "P4": "pm4"}, "7": _TH, "3": _TP}

# "no value" markers of the GPS driver (no fix, no altitude, no date)
_GPS_NONE = {"lat": -200.0, "lon": -200.0, "height": -1000.0}
GPS_NO_TIME = "1970-01-01T00:00:00.000"
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
    ignored: list[str] = field(default_factory=list)  # value types we do not store
    rejected: list[str] = field(default_factory=list)  # values that are not numbers
    # per-sensor form: how the model was chosen ("hardware", "value_types", "unknown")
    resolved_by: str | None = None


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


def _registered(hardware: Collection[str]) -> set[str]:
    return {_ALIASES.get(h, h) for h in hardware}


def resolve_model(
    pin: str, value_types: Collection[str], hardware: Collection[str] = ()
) -> tuple[FirmwareSensor | None, str]:
    """The firmware sensor behind a per-sensor upload, and what decided it.

    Candidates are the sensors of that pin whose signature holds every type present. The
    station's registered ``hardware`` decides among them; else a single candidate, or a single
    one sending exactly these types (the firmware always sends its whole set); else
    ``(None, "unknown")``.
    """
    on_pin = [s for s in FIRMWARE_SENSORS if s.pin == pin]
    # types no sensor of that pin sends do not take part (they are reported as ignored)
    types = {t for t in value_types if any(t in s.signature for s in on_pin)}
    if not types:
        return None, "unknown"
    candidates = [s for s in FIRMWARE_SENSORS if s.pin == pin and types <= s.signature]
    registered = _registered(hardware)
    hinted = [s for s in candidates if s.model in registered]
    if len(hinted) == 1:
        return hinted[0], "hardware"
    pool = hinted or candidates
    if len(pool) == 1:
        return pool[0], "value_types"
    exact = [s for s in pool if s.signature == types]
    if len(exact) == 1:
        return exact[0], "value_types"
    return None, "unknown"


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


def _custom_target(value_type: str, hardware: set[str]) -> tuple[str, str, str] | None:
    """Custom-body value type -> (sensor name, un-prefixed type, quantity) or None."""
    if value_type in _TH:  # DHT22 is the one un-prefixed sensor
        return "dht22", value_type, value_type
    prefix, sep, suffix = value_type.partition("_")
    sensor = _BY_PREFIX.get(prefix) if sep else None
    if sensor is None or suffix not in sensor.signature:
        return None
    name = "pms7003" if sensor.model == "pms5003" and "pms7003" in hardware else sensor.model
    q = sensor.table.get(suffix)
    return (name, suffix, q) if q else None


def decode_body(
    obj: dict[str, Any], pin: str | None = None, hardware: Collection[str] = ()
) -> AirrohrResult:
    """A parsed firmware document -> one Sample per sensor, in canonical units.

    ``pin`` is the ``X-PIN`` of a per-sensor upload (un-prefixed types); ``hardware`` the sensor
    models registered for the station, which settle a shared pin.
    """
    values = obj["sensordatavalues"]
    if len(values) > MAX_VALUES:
        raise WireFormatError("too_many_readings", f"{len(values)} values exceed {MAX_VALUES}")
    chip = obj.get("esp8266id")
    version = obj.get("software_version")
    result = AirrohrResult(
        [], str(chip) if chip is not None else None, str(version) if version is not None else None
    )
    entries: list[tuple[str, Any]] = []
    for item in values:
        if not isinstance(item, dict) or not isinstance(item.get("value_type"), str):
            result.rejected.append("malformed entry")
            continue
        vt = item["value_type"][:64]
        if vt in DIAGNOSTICS:
            result.diagnostics[vt] = str(item.get("value"))[:32]
            continue
        if vt == "GPS_timestamp" or (pin == "9" and vt == "timestamp"):
            # the GPS date and time (UTC, a string): a diagnostic, readings are stamped on receipt
            raw = item.get("value")
            if isinstance(raw, str) and raw != GPS_NO_TIME:
                result.diagnostics["gps_timestamp"] = raw[:32]
            continue
        entries.append((vt, item.get("value")))

    registered = _registered(hardware) | set(hardware)
    # (sensor name, un-prefixed type, quantity) per entry, or None
    targets: list[tuple[str, str, str] | None]
    flags: tuple[str, ...] = ()
    if pin is None:
        targets = [_custom_target(vt, registered) for vt, _ in entries]
    else:
        sensor, result.resolved_by = resolve_model(pin, [vt for vt, _ in entries], hardware)
        if sensor is not None:
            name = sensor.model
            if name == "pms5003" and "pms7003" in registered:
                name = "pms7003"
            table = sensor.table
        else:
            name, table = GENERIC.get(pin, ""), _GENERIC_TABLE.get(pin, {})
            flags = (MODEL_UNKNOWN,)
        targets = [(name, vt, table[vt]) if name and vt in table else None for vt, _ in entries]

    per_sensor: dict[str, dict[str, float]] = {}
    for (vt, raw), target in zip(entries, targets, strict=True):
        if target is None:
            result.ignored.append(vt)
            continue
        name, short, quantity = target
        v = _number(raw)
        if v is None:
            result.rejected.append(f"{vt}={str(raw)[:20]!r}")
            continue
        if name == "gps" and v == _GPS_NONE.get(short):
            result.diagnostics.setdefault("gps", "no fix")
            continue
        if quantity == "pressure":
            v = round(v / 100.0, 4)  # the firmware sends Pa; the vocabulary says hPa
        per_sensor.setdefault(name, {})[quantity] = v
    meta: dict[str, object] = {"source": "airrohr"}
    if result.chip_id:
        meta["chip_id"] = result.chip_id
    if pin is not None:
        meta["pin"] = pin
    result.samples = [
        Sample(name, vals, flags + _sensor_flags(name, vals), meta=dict(meta))
        for name, vals in per_sensor.items()
    ]
    return result


def _sensor_flags(name: str, values: dict[str, float]) -> tuple[str, ...]:
    """The flags the sensor's protocol module gives a measurement of these values (an SDS011
    at 0/0, an SPS30 all zero, is warming up or has no data: ``warmup``), as when the gateway
    decodes its frame."""
    if name == "sds011":
        return sds011.sample_flags(values.get("pm2_5"), values.get("pm10"))
    if name == "sps30":
        return sps30.sample_flags(values)
    return ()
