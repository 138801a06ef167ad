from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core import wire
from airq_core.errors import WireFormatError
from airq_core.readings import Reading, format_time, parse_time

# Fixed: decoding takes "now" as an argument; nothing is stored.
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
        (["clock_suspect", "coarse_no2", "v1.2:ok-X"], True),
    ],
)
def test_flags_are_a_short_list_of_short_strings(flags: object, ok: bool) -> None:
    readings, errors = wire.decode_payload("lens-01", _one(flags=flags), NOW)
    if ok:
        assert errors == [] and readings[0].flags == tuple(flags)  # type: ignore[arg-type]
    else:
        assert readings == [] and [e.reason for e in errors] == ["bad_flags"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"])
def test_nan_and_infinite_literals_are_not_json(literal: bytes) -> None:
    # as the ingest's orjson says: MQTT and HTTP reject the same payloads the same way
    payload = b'{"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": ' + literal + b"}}"
    readings, errors = wire.decode_payload("lens-01", payload, NOW)
    assert readings == [] and [e.reason for e in errors] == ["not_json"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_not_numbers(value: float) -> None:
    obj = {"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": value, "pm10": 3}}
    for limits in (wire.DEFAULT_LIMITS, wire.Limits(check_ranges=False)):
        readings, errors = wire.decode_readings("lens-01", obj, NOW, limits)
        assert [e.reason for e in errors] == ["not_number"]
        assert readings[0].values == {"pm10": 3.0}


@pytest.mark.parametrize("value", [10**400, -(10**400), 2**64])
def test_huge_integers_are_out_of_range_not_a_crash(value: int) -> None:
    obj = {"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": value}}
    readings, errors = wire.decode_readings("lens-01", obj, NOW)
    assert readings == [] and [e.reason for e in errors] == ["out_of_range"]
    assert len(str(errors[0])) < 200


def test_zero_is_a_value_not_missing() -> None:
    readings, errors = wire.decode_payload("lens-01", _one(values={"pm2_5": 0}), NOW)
    assert errors == [] and readings[0].values == {"pm2_5": 0.0}


def test_offset_times_are_converted_to_utc() -> None:
    readings, _ = wire.decode_payload("lens-01", _one(ts="2026-11-21T21:15:00+01:00"), NOW)
    assert format_time(readings[0].ts) == "2026-11-21T20:15:00Z"


@pytest.mark.parametrize("ts", ["2026-11-21 20:15:00", "yesterday", "", True, [1]])
def test_bad_times(ts: object) -> None:
    payload = json.dumps({"ts": ts, "sensor": "sds011", "values": {"pm2_5": 1}}).encode()
    _, errors = wire.decode_payload("lens-01", payload, NOW)
    assert [e.reason for e in errors] == ["bad_ts"]


# the poisoned messages of issue 20: each used to raise OverflowError / "year 10000 is out of
# range" while formatting the ts_future / ts_too_old message, and stop the ingest
@pytest.mark.parametrize(
    "ts",
    [
        1e20, -1e20, 1e300, -1e300, 253402300800, 253402300800.5, 4102444800, -1, -0.001,
        10**400, math.inf, -math.inf, math.nan,
        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
    ],
)
def test_times_outside_1970_2100_are_bad_ts_whatever_the_limits(ts: object) -> None:
    obj = {"ts": ts, "sensor": "sds011", "values": {"pm2_5": 1}}
    for limits in (wire.DEFAULT_LIMITS, wire.Limits(max_future_s=1e30, max_age_s=1e30)):
        readings, errors = wire.decode_readings("lens-01", obj, NOW, limits)
        assert readings == [] and [e.reason for e in errors] == ["bad_ts"]
        assert len(str(errors[0])) < 200


def test_the_bounds_themselves_and_a_mixed_array() -> None:
    wide = wire.Limits(max_future_s=1e30, max_age_s=1e30)
    ok = [{"ts": t, "sensor": "sds011", "values": {"pm2_5": 1}} for t in (0, 4102444799.999)]
    readings, errors = wire.decode_readings("lens-01", ok, NOW, wide)
    assert errors == [] and [format_time(r.ts) for r in readings] == [
        "1970-01-01T00:00:00Z", "2099-12-31T23:59:59.999Z"
    ]
    mixed = [
        {"ts": "2026-11-21T20:15:00Z", "sensor": "sds011", "values": {"pm2_5": 7}},
        {"ts": 253402300800, "sensor": "sds011", "values": {"pm2_5": 5}},
        {"ts": 1e20, "sensor": "sds011", "values": {"pm2_5": 5}},
        {"ts": "2026-11-21T20:16:00Z", "sensor": "sds011", "values": {"pm2_5": 8}},
    ]
    readings, errors = wire.decode_payload("lens-01", json.dumps(mixed).encode(), NOW)
    assert [r.values["pm2_5"] for r in readings] == [7.0, 8.0]
    assert [e.reason for e in errors] == ["bad_ts", "bad_ts"]


@pytest.mark.parametrize(
    ("seq", "ok"),
    [(0, True), (2**63 - 1, True), (2**63, False), (2**64 - 1, False), (10**400, False)],
)
def test_seq_fits_an_influxdb_integer(seq: int, ok: bool) -> None:
    obj = {"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": 1}, "seq": seq}
    readings, errors = wire.decode_readings("lens-01", obj, NOW)
    assert (len(readings), [e.reason for e in errors]) == ((1, []) if ok else (0, ["bad_seq"]))
    assert all(len(str(e)) < 200 for e in errors)


@pytest.mark.parametrize("flag", ['a"b', "a,b", "a\\b", "a b", "a\nb", "é", "\u00e9t\u00e9", "<x>"])
def test_flags_outside_the_charset_are_refused(flag: str) -> None:
    readings, errors = wire.decode_payload("lens-01", _one(flags=[flag]), NOW)
    assert readings == [] and [e.reason for e in errors] == ["bad_flags"]


@pytest.mark.parametrize("depth", [600, 100_000])
def test_deeply_nested_json_is_not_json(depth: int) -> None:
    payload = b'{"ts": 1795292100, "sensor": "sds011", "values": ' + b"[" * depth + b"]" * depth
    payload += b"}"
    readings, errors = wire.decode_payload("lens-01", payload, NOW, wire.Limits(10**6))
    assert readings == [] and [e.reason for e in errors] == ["not_json"]


def test_nesting_within_the_limit_is_a_bad_value_with_a_short_message() -> None:
    payload = b'{"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": '
    payload += b"[" * 400 + b"]" * 400 + b"}}"
    readings, errors = wire.decode_payload("lens-01", payload, NOW)
    assert readings == [] and [e.reason for e in errors] == ["not_number"]
    assert len(str(errors[0])) < 200


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    payload = _one(sensor="[" * 1000)
    _, errors = wire.decode_payload("lens-01", payload, NOW)
    assert [e.reason for e in errors] == ["unknown_sensor"] and len(str(errors[0])) < 200


@pytest.mark.parametrize(
    "payload",
    [
        b'{"ts": 1795292100, "sensor": "sds011", "values": {"pm2_5": 1}, "x": "\\ud800"}',
        b"\xed\xa0\x80",  # a surrogate encoded in UTF-8
        b"\xff\xfe{}",
        "{\"ts\": \"\u2028\ufeff\U0001f4a9\"}".encode(),
    ],
)
def test_unicode_junk_is_rejected_without_raising(payload: bytes) -> None:
    readings, errors = wire.decode_payload("lens-01", payload, NOW)
    assert readings == [] and len(errors) == 1 and errors[0].reason in ("not_json", "bad_ts")


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
