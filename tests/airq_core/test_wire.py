from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core import wire
from airq_core.errors import WireFormatError
from airq_core.readings import Reading, format_time, parse_time

NOW = parse_time("2026-11-21T21:00:00Z")


def _one(**kw: object) -> bytes:
    obj = {"ts": "2026-11-21T20:15:00Z", "sensor": "sds011", "values": {"pm2_5": 7.1}}
    obj.update(kw)
    return json.dumps(obj).encode()


def test_topics_round_trip() -> None:
    assert wire.readings_topic("lens-01") == "airq/v1/lens-01/readings"
    assert wire.parse_topic("airq/v1/lens-01/readings") == ("lens-01", "readings")
    assert wire.parse_topic(wire.status_topic("lens-01")) == ("lens-01", "status")


@pytest.mark.parametrize("topic", [
    "airq/v2/lens-01/readings", "airq/v1/Lens-01/readings", "airq/v1/ab/readings",
    "airq/v1/lens-01/readings/x", "airq/v1/lens_01/readings", "airq/v1/lens-01/other",
    "airq/v1/-lens/readings", "",
])
def test_parse_topic_rejects(topic: str) -> None:
    with pytest.raises(WireFormatError) as exc:
        wire.parse_topic(topic)
    assert exc.value.reason == "bad_topic"


def test_payload_size_limit() -> None:
    limits = wire.Limits(max_payload_bytes=100)
    readings, errors = wire.decode_payload("lens-01", b" " * 101, NOW, limits)
    assert readings == [] and [e.reason for e in errors] == ["payload_too_large"]


def test_array_length_limit() -> None:
    limits = wire.Limits(max_readings=3)
    payload = b"[" + b",".join([_one()] * 4) + b"]"
    _, errors = wire.decode_payload("lens-01", payload, NOW, limits)
    assert [e.reason for e in errors] == ["too_many_readings"]


def test_old_readings_are_rejected() -> None:
    _, errors = wire.decode_payload("lens-01", _one(ts="2020-01-01T00:00:00Z"), NOW)
    assert [e.reason for e in errors] == ["ts_too_old"]


@pytest.mark.parametrize("value", [True, None, "1", [1], {"a": 1}])
def test_values_must_be_numbers(value: object) -> None:
    readings, errors = wire.decode_payload("lens-01", _one(values={"pm2_5": value}), NOW)
    assert readings == [] and [e.reason for e in errors] == ["not_number"]


@pytest.mark.parametrize(
    ("flags", "ok"),
    [
        ([], True),
        (["warmup", "humid"], True),
        ("", False),  # empty but not a list: refused like any other non-list
        (None, False),
        (0, False),
        ({}, False),
        ("warmup", False),
        (["x" * 33], False),
        ([""], False),
        ([1], False),
        (["f"] * 17, False),
    ],
)
def test_flags_are_a_short_list_of_short_strings(flags: object, ok: bool) -> None:
    readings, errors = wire.decode_payload("lens-01", _one(flags=flags), NOW)
    if ok:
        assert errors == [] and readings[0].flags == tuple(flags)  # type: ignore[arg-type]
    else:
        assert readings == [] and [e.reason for e in errors] == ["bad_flags"]


def test_nan_literal_is_not_a_number() -> None:
    payload = b'{"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": NaN}}'
    readings, errors = wire.decode_payload("lens-01", payload, NOW)
    assert readings == [] and errors[0].reason == "not_number"


def test_zero_is_a_value_not_missing() -> None:
    readings, errors = wire.decode_payload("lens-01", _one(values={"pm2_5": 0}), NOW)
    assert errors == [] and readings[0].values == {"pm2_5": 0.0}


def test_offset_times_are_converted_to_utc() -> None:
    readings, _ = wire.decode_payload("lens-01", _one(ts="2026-11-21T21:15:00+01:00"), NOW)
    assert format_time(readings[0].ts) == "2026-11-21T20:15:00Z"


@pytest.mark.parametrize("ts", ["2026-11-21 20:15:00", "yesterday", "", 1e400, True, [1]])
def test_bad_times(ts: object) -> None:
    payload = json.dumps({"ts": ts, "sensor": "sds011", "values": {"pm2_5": 1}},
                         allow_nan=True).encode()
    _, errors = wire.decode_payload("lens-01", payload, NOW)
    assert [e.reason for e in errors] == ["bad_ts"]


def test_encode_keeps_milliseconds() -> None:
    r = Reading("lens-01", "sds011", 1795292100.123, {"pm2_5": 1.5}, 3, ("warmup",))
    (back,), errors = wire.decode_payload("lens-01", wire.encode_reading(r), NOW)
    assert errors == [] and back == r


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    _readings, errors = wire.decode_payload("lens-01", data, NOW)
    assert all(e.reason in wire.REASONS for e in errors)


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c,
                                                                         max_size=4),
                    max_leaves=20))
def test_random_json_never_raises(obj: object) -> None:
    readings, errors = wire.decode_readings("lens-01", obj, NOW)
    for r in readings:
        assert all(math.isfinite(v) for v in r.values.values())
    assert all(e.reason in wire.REASONS for e in errors)


def test_station_id_with_a_trailing_newline_is_refused() -> None:
    assert wire.STATION_ID_RE.fullmatch("lens-01")
    assert not wire.STATION_ID_RE.fullmatch("lens-01\n")
    with pytest.raises(WireFormatError):
        wire.parse_topic("airq/v1/lens-01\n/readings")
