"""Readings -> InfluxDB line protocol (pure; the hot path of the ingest).

Station ids, sensor names and field names come out of wire-format validation (``[a-z0-9_-]``),
so no escaping is needed for them; string fields are escaped.
"""

from __future__ import annotations

from collections.abc import Iterable

from airq_core.readings import Reading
from airq_core.storage import FIELD_SEQ, RAW_MEASUREMENT, TAG_SENSOR, TAG_STATION


def _escape_str(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def encode_line(r: Reading, measurement: str = RAW_MEASUREMENT) -> str:
    fields = ",".join(f"{k}={v!r}" for k, v in r.values.items())
    if r.seq is not None:
        fields += f",{FIELD_SEQ}={r.seq}i"
    if r.flags:
        fields += f',flags="{_escape_str(",".join(r.flags))}"'
    return f"{measurement},{TAG_SENSOR}={r.sensor},{TAG_STATION}={r.station} {fields} {r.ts_ms}"


def encode_lines(readings: Iterable[Reading]) -> bytes:
    return "\n".join(encode_line(r) for r in readings).encode()
