from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airq_core.airrohr import decode_body, parse_body
from airq_core.errors import WireFormatError
from airq_core.quantities import QUANTITIES
from airq_core.sensors import SENSORS

DATA = Path(__file__).resolve().parents[1] / "data" / "airrohr"


def _decode(name: str, pin: str | None = None):  # type: ignore[no-untyped-def]
    return decode_body(parse_body((DATA / name).read_bytes()), pin=pin)


def test_sds011_bme280_body() -> None:
    r = _decode("sds011_bme280.json")
    by = {s.sensor: s.values for s in r.samples}
    assert by == {
        "sds011": {"pm10": 10.52, "pm2_5": 4.32},  # P1 is PM10, P2 is PM2.5
        "bme280": {"temperature": 17.59, "pressure": pytest.approx(986.8028), "humidity": 57.78},
    }
    assert r.chip_id == "3122405" and r.software_version == "NRZ-2024-135"
    assert r.diagnostics["signal"] == "-81" and r.ignored == [] and r.rejected == []


def test_pms_dht22_body() -> None:
    by = {s.sensor: s.values for s in _decode("pms_dht22.json").samples}
    assert by == {
        "pms5003": {"pm1": 3.0, "pm10": 9.0, "pm2_5": 6.0},
        "dht22": {"temperature": 12.4, "humidity": 71.3},
    }


def test_sps30_body() -> None:
    r = _decode("sps30.json")
    (s,) = r.samples
    assert s.sensor == "sps30"
    assert s.values == {
        "pm1": 5.24,
        "pm2_5": 9.47,
        "pm4": 12.65,
        "pm10": 13.29,
        "nc0_5": 26.31,
        "nc1": 37.0,
        "nc2_5": 41.52,
        "nc4": 42.41,
        "nc10": 42.54,
        "tps": 0.84,
    }
    assert r.diagnostics["signal"] == "-72 dBm"


def test_every_mapped_model_and_quantity_is_known() -> None:
    for name in ("sds011_bme280.json", "pms_dht22.json", "sps30.json"):
        for s in _decode(name).samples:
            assert s.sensor in SENSORS
            for q in s.values:
                assert q in QUANTITIES


def test_per_sensor_form_with_pin() -> None:
    body = {
        "software_version": "NRZ-2024-135",
        "sensordatavalues": [
            {"value_type": "temperature", "value": "17.59"},
            {"value_type": "pressure", "value": "98680.28"},
            {"value_type": "humidity", "value": "57.78"},
        ],
    }
    (s,) = decode_body(body, pin="11").samples
    assert s.sensor == "bme280" and s.values["pressure"] == pytest.approx(986.8028)
    # pin 1 is shared by six PM models: P1 alone names none of them
    one = {"sensordatavalues": [{"value_type": "P1", "value": "3"}]}
    (s,) = decode_body(one, pin="1").samples
    assert s.sensor == "pm_generic" and s.values == {"pm10": 3.0}
    assert s.flags == ("model_unknown",)
    (s,) = decode_body(one, pin="1", hardware=["sds011", "bme280"]).samples
    assert s.sensor == "sds011" and s.values == {"pm10": 3.0} and s.flags == ()


def test_sds011_and_sps30_zeros_are_flagged_warmup() -> None:
    # both PM values at exactly 0: the SDS011's warm-up / no-data output, flagged as the
    # gateway's decode flags a zero frame (and the archive importer an archive row)
    custom = {
        "sensordatavalues": [
            {"value_type": "SDS_P1", "value": "0.00"},
            {"value_type": "SDS_P2", "value": "0.00"},
            {"value_type": "BME280_humidity", "value": "80.10"},
        ]
    }
    by = {s.sensor: s for s in decode_body(custom).samples}
    assert by["sds011"].values == {"pm10": 0.0, "pm2_5": 0.0}
    assert by["sds011"].flags == ("warmup",) and by["bme280"].flags == ()
    per_sensor = {"sensordatavalues": [{"value_type": v, "value": "0.00"} for v in ("P1", "P2")]}
    (s,) = decode_body(per_sensor, pin="1", hardware=["sds011"]).samples
    assert s.sensor == "sds011" and s.flags == ("warmup",)
    # one zero is a value
    custom["sensordatavalues"][0]["value"] = "0.03"
    by = {s.sensor: s for s in decode_body(custom).samples}
    assert by["sds011"].flags == ()
    # an SPS30 with its ten values at 0 (the firmware's SPS30 types, per-sensor form)
    types = ("P0", "P1", "P2", "P4", "N05", "N1", "N25", "N4", "N10", "TS")
    sps = {"sensordatavalues": [{"value_type": v, "value": "0.00"} for v in types]}
    (s,) = decode_body(sps, pin="1").samples
    assert s.sensor == "sps30" and s.flags == ("warmup",)
    sps["sensordatavalues"][-1]["value"] = "0.48"
    (s,) = decode_body(sps, pin="1").samples
    assert s.flags == ()


def test_nan_and_unknown_types_are_counted_not_stored() -> None:
    body = {
        "sensordatavalues": [
            {"value_type": "SDS_P1", "value": "nan"},
            {"value_type": "SDS_P2", "value": "4.1"},
            {"value_type": "durP1", "value": "55.2"},  # PPD42NS pulse occupancy
            {"value_type": "GPS_alt", "value": "-200.000000"},
            {"value_type": 12, "value": "1"},
            "junk",
        ]
    }
    r = decode_body(body)
    assert [s.values for s in r.samples] == [{"pm2_5": 4.1}]
    assert r.ignored == ["durP1", "GPS_alt"]
    assert len(r.rejected) == 3


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not_json"),
        (b"[]", "bad_structure"),
        (b'{"sensordatavalues": 3}', "bad_structure"),
        (b" " * 70000, "payload_too_large"),
    ],
)
def test_bad_bodies(payload: bytes, reason: str) -> None:
    with pytest.raises(WireFormatError) as exc:
        parse_body(payload)
    assert exc.value.reason == reason


def test_too_many_values() -> None:
    with pytest.raises(WireFormatError) as exc:
        decode_body({"sensordatavalues": [{"value_type": "SDS_P1", "value": "1"}] * 201})
    assert exc.value.reason == "too_many_readings"


@given(
    st.lists(
        st.fixed_dictionaries(
            {"value_type": st.text(max_size=20), "value": st.text(max_size=10) | st.floats()}
        ),
        max_size=20,
    )
)
def test_random_entries_never_raise(entries: list) -> None:  # type: ignore[type-arg]
    r = decode_body({"sensordatavalues": entries})
    for s in r.samples:
        assert s.sensor in SENSORS
    json.dumps([s.values for s in r.samples])


def _cli(*args: str, stdin: bytes | None = None):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "airq", "decode", "airrohr", *args],
        input=stdin,
        capture_output=True,
        cwd=DATA.parents[2],
    )


def test_decode_cli_prints_one_sample_per_sensor() -> None:
    r = _cli(str(DATA / "sds011_bme280.json"))
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert lines == [
        {"sensor": "sds011", "values": {"pm10": 10.52, "pm2_5": 4.32}},
        {
            "sensor": "bme280",
            "values": {"temperature": 17.59, "pressure": 986.8028, "humidity": 57.78},
        },
    ]


def test_decode_cli_reports_bad_values_and_bodies() -> None:
    body = b'{"sensordatavalues":[{"value_type":"SDS_P1","value":"nan"}]}'
    r = _cli("-", stdin=body)
    assert r.returncode == 1 and "valeurs illisibles" in r.stderr.decode()
    r = _cli("-", stdin=b"<html>")
    assert r.returncode == 1 and "sensor.community" in r.stderr.decode()
    r = _cli(str(DATA / "missing.json"))
    assert r.returncode == 1 and "impossible de lire" in r.stderr.decode()
