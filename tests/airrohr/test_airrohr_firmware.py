"""Bodies built the way the sensor.community firmware (NRZ-2024-135) builds them, for every
sensor it supports, in both upload forms.

``add_Value2Json`` appends ``{"value_type":"T","value":"V"},``; the custom-API body is
``{"esp8266id": "<chip>", `` + ``data_first_part`` + entries + diagnostics, last comma cut,
``]}``; the per-sensor body is ``data_first_part`` + one sensor's entries, last comma cut,
*every* occurrence of the prefix removed (``String.replace``), ``]}``, with an ``X-PIN``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airq_core.airrohr import decode_body, parse_body
from airq_core.quantities import QUANTITIES
from airq_core.sensors import SENSORS

VERSION = "NRZ-2024-135"
FIRST = '{"software_version": "' + VERSION + '", "sensordatavalues":['
ROOT = Path(__file__).resolve().parents[2]


def _entries(pairs: list[tuple[str, str]]) -> str:
    return "".join('{"value_type":"' + t + '","value":"' + v + '"},' for t, v in pairs)


def custom_body(pairs: list[tuple[str, str]], chip: str = "3122405") -> bytes:
    diag = [("samples", "612000"), ("min_micro", "40"), ("max_micro", "18000")]
    data = FIRST + _entries(pairs) + _entries([*diag, ("interval", "145000"), ("signal", "-72")])
    data = data[:-1] + "]}"
    return ('{"esp8266id": "' + chip + '", ' + data[1:]).encode()


def per_sensor_body(pairs: list[tuple[str, str]], prefix: str) -> bytes:
    data = FIRST + _entries(pairs)
    data = data[:-1]
    if prefix:
        data = data.replace(prefix, "")
    return (data + "]}").encode()


# model, prefix (with "_"), pin, firmware entries, expected values (canonical units)
SENSOR_CASES = [
    ("sds011", "SDS_", "1", [("SDS_P1", "10.52"), ("SDS_P2", "4.32")],
     {"pm10": 10.52, "pm2_5": 4.32}),
    ("pms5003", "PMS_", "1", [("PMS_P0", "3.00"), ("PMS_P1", "9.00"), ("PMS_P2", "6.00")],
     {"pm1": 3.0, "pm10": 9.0, "pm2_5": 6.0}),
    ("hpm", "HPM_", "1", [("HPM_P1", "21.50"), ("HPM_P2", "14.00")],
     {"pm10": 21.5, "pm2_5": 14.0}),
    ("npm", "NPM_", "1",
     [("NPM_P0", "4.10"), ("NPM_P1", "8.70"), ("NPM_P2", "6.30"),
      ("NPM_N1", "61.23"), ("NPM_N10", "64.02"), ("NPM_N25", "63.80")],
     {"pm1": 4.1, "pm10": 8.7, "pm2_5": 6.3, "nc1": 61.23, "nc10": 64.02, "nc2_5": 63.8}),
    ("ips7100", "IPS_", "1",
     [("IPS_P0", "3.91"), ("IPS_P1", "7.42"), ("IPS_P2", "5.18"), ("IPS_P01", "0.02"),
      ("IPS_P03", "0.61"), ("IPS_P05", "1.95"), ("IPS_P5", "6.60"), ("IPS_N1", "12.34"),
      ("IPS_N10", "0.01"), ("IPS_N25", "0.22"), ("IPS_N01", "210.55"), ("IPS_N03", "80.12"),
      ("IPS_N05", "30.40"), ("IPS_N5", "0.05")],
     {"pm1": 3.91, "pm10": 7.42, "pm2_5": 5.18}),
    ("sps30", "SPS30_", "1",
     [("SPS30_P0", "5.24"), ("SPS30_P2", "9.47"), ("SPS30_P4", "12.65"), ("SPS30_P1", "13.29"),
      ("SPS30_N05", "26.31"), ("SPS30_N1", "37.00"), ("SPS30_N25", "41.52"),
      ("SPS30_N4", "42.41"), ("SPS30_N10", "42.54"), ("SPS30_TS", "0.84")],
     {"pm1": 5.24, "pm2_5": 9.47, "pm4": 12.65, "pm10": 13.29, "nc0_5": 26.31, "nc1": 37.0,
      "nc2_5": 41.52, "nc4": 42.41, "nc10": 42.54, "tps": 0.84}),
    ("dht22", "DHT_", "7", [("temperature", "12.40"), ("humidity", "71.30")],
     {"temperature": 12.4, "humidity": 71.3}),
    ("htu21d", "HTU21D_", "7", [("HTU21D_temperature", "19.02"), ("HTU21D_humidity", "48.75")],
     {"temperature": 19.02, "humidity": 48.75}),
    ("bmp180", "BMP_", "3", [("BMP_pressure", "100912.00"), ("BMP_temperature", "21.30")],
     {"pressure": 1009.12, "temperature": 21.3}),
    ("bme280", "BME280_", "11",
     [("BME280_temperature", "17.59"), ("BME280_pressure", "98680.28"),
      ("BME280_humidity", "57.78")],
     {"temperature": 17.59, "pressure": 986.8028, "humidity": 57.78}),
    ("bmp280", "BMP280_", "3", [("BMP280_pressure", "99120.50"), ("BMP280_temperature", "8.91")],
     {"pressure": 991.205, "temperature": 8.91}),
    ("sht3x", "SHT3X_", "7", [("SHT3X_temperature", "22.10"), ("SHT3X_humidity", "40.20")],
     {"temperature": 22.1, "humidity": 40.2}),
    ("scd30", "SCD30_", "17",
     [("SCD30_temperature", "23.40"), ("SCD30_humidity", "45.10"), ("SCD30_co2_ppm", "612")],
     {"temperature": 23.4, "humidity": 45.1, "co2": 612.0}),
    ("ds18b20", "DS18B20_", "13", [("DS18B20_temperature", "-3.25")], {"temperature": -3.25}),
    ("dnms", "DNMS_", "15",
     [("DNMS_noise_LAeq", "54.62"), ("DNMS_noise_LA_min", "41.07"),
      ("DNMS_noise_LA_max", "78.93")],
     {"laeq": 54.62, "la_min": 41.07, "la_max": 78.93}),
    ("gps", "GPS_", "9",
     [("GPS_lat", "48.856614"), ("GPS_lon", "2.352222"), ("GPS_height", "35.40"),
      ("GPS_timestamp", "2025-03-14T21:05:09.000")],
     {"lat": 48.856614, "lon": 2.352222, "altitude": 35.4}),
]  # fmt: skip
IDS = [c[0] for c in SENSOR_CASES]
# pins shared with other models: without a hint, the generic name
SHARED_ALONE = {
    "sds011": "pm_generic",  # P1, P2: also HPM
    "hpm": "pm_generic",
    "dht22": "temp_humidity_generic",  # temperature, humidity: also HTU21D, SHT3x
    "htu21d": "temp_humidity_generic",
    "sht3x": "temp_humidity_generic",
    "bmp180": "temp_pressure_generic",  # temperature, pressure: also BMP280
    "bmp280": "temp_pressure_generic",
}


@pytest.mark.parametrize(("model", "prefix", "pin", "pairs", "expected"), SENSOR_CASES, ids=IDS)
def test_custom_api_body(model, prefix, pin, pairs, expected) -> None:  # type: ignore[no-untyped-def]
    r = decode_body(parse_body(custom_body(pairs)))
    (s,) = r.samples
    assert (s.sensor, s.flags) == (model, ())
    assert s.values == pytest.approx(expected)
    assert r.rejected == [] and r.chip_id == "3122405" and r.software_version == VERSION
    assert r.diagnostics["signal"] == "-72"
    assert s.sensor in SENSORS and all(q in QUANTITIES for q in s.values)


@pytest.mark.parametrize(("model", "prefix", "pin", "pairs", "expected"), SENSOR_CASES, ids=IDS)
def test_per_sensor_body_with_registered_hardware(model, prefix, pin, pairs, expected) -> None:  # type: ignore[no-untyped-def]
    body = parse_body(per_sensor_body(pairs, prefix))
    assert "esp8266id" not in body
    r = decode_body(body, pin=pin, hardware=[model, "bme280"])
    (s,) = r.samples
    assert (s.sensor, s.flags, s.values) == (model, (), pytest.approx(expected))
    assert r.rejected == []


@pytest.mark.parametrize(("model", "prefix", "pin", "pairs", "expected"), SENSOR_CASES, ids=IDS)
def test_per_sensor_body_by_value_types(model, prefix, pin, pairs, expected) -> None:  # type: ignore[no-untyped-def]
    r = decode_body(parse_body(per_sensor_body(pairs, prefix)), pin=pin)
    (s,) = r.samples
    generic = SHARED_ALONE.get(model)
    if generic is None:  # the value types name the model
        assert (s.sensor, s.flags) == (model, ()) and r.resolved_by == "value_types"
        assert s.values == pytest.approx(expected)
    else:  # never another model's name
        assert (s.sensor, s.flags) == (generic, ("model_unknown",))
        assert r.resolved_by == "unknown"
        assert s.values == pytest.approx(expected)
    assert s.sensor in SENSORS


def test_pin_1_told_apart_by_value_types() -> None:
    by_pin1 = {}
    for model, prefix, pin, pairs, _ in SENSOR_CASES:
        if pin == "1":
            (s,) = decode_body(parse_body(per_sensor_body(pairs, prefix)), pin="1").samples
            by_pin1[model] = s.sensor
    assert by_pin1 == {
        "sds011": "pm_generic",
        "pms5003": "pms5003",  # only the PMS driver sends exactly P0, P1, P2
        "hpm": "pm_generic",
        "npm": "npm",
        "ips7100": "ips7100",
        "sps30": "sps30",
    }


def test_registered_hardware_settles_shared_pins() -> None:
    cases = {model: (prefix, pin, pairs) for model, prefix, pin, pairs, _ in SENSOR_CASES}
    for model, hw in [("hpm", ["hpm", "dht22"]), ("sht3x", ["sht3x", "sps30"]),
                      ("bmp180", ["bmp180"]), ("dht22", ["dht22", "sds011"])]:  # fmt: skip
        prefix, pin, pairs = cases[model]
        r = decode_body(parse_body(per_sensor_body(pairs, prefix)), pin=pin, hardware=hw)
        assert [s.sensor for s in r.samples] == [model] and r.resolved_by == "hardware"
    # a station with an SDS011 and an SPS30 posts twice on pin 1: the types tell them apart
    prefix, pin, pairs = cases["sps30"]
    (s,) = decode_body(
        parse_body(per_sensor_body(pairs, prefix)), pin="1", hardware=["sds011", "sps30"]
    ).samples
    assert s.sensor == "sps30"
    prefix, pin, pairs = cases["sds011"]
    (s,) = decode_body(
        parse_body(per_sensor_body(pairs, prefix)), pin="1", hardware=["sds011", "sps30"]
    ).samples
    assert s.sensor == "sds011"
    # a registration the values contradict does not win: SPS30 types are not an SDS011's
    prefix, pin, pairs = cases["sps30"]
    (s,) = decode_body(
        parse_body(per_sensor_body(pairs, prefix)), pin="1", hardware=["sds011"]
    ).samples
    assert s.sensor == "sps30"
    # PMS7003 registered: the PMS driver's values are stored under its name
    prefix, pin, pairs = cases["pms5003"]
    (s,) = decode_body(parse_body(custom_body(pairs)), hardware=["pms7003"]).samples
    assert s.sensor == "pms7003"
    (s,) = decode_body(
        parse_body(per_sensor_body(pairs, prefix)), pin="1", hardware=["pms7003"]
    ).samples
    assert s.sensor == "pms7003"


def test_whole_board_custom_body() -> None:
    pairs = [p for c in SENSOR_CASES for p in c[3]]
    r = decode_body(parse_body(custom_body(pairs)))
    assert [s.sensor for s in r.samples] == IDS
    assert r.ignored == ["IPS_P01", "IPS_P03", "IPS_P05", "IPS_P5", "IPS_N1", "IPS_N10",
                         "IPS_N25", "IPS_N01", "IPS_N03", "IPS_N05", "IPS_N5"]  # fmt: skip
    assert r.diagnostics["gps_timestamp"] == "2025-03-14T21:05:09.000"


def test_gps_without_fix_stores_no_position() -> None:
    pairs = [("GPS_lat", "-200.000000"), ("GPS_lon", "-200.000000"), ("GPS_height", "-1000.00"),
             ("GPS_timestamp", "1970-01-01T00:00:00.000")]  # fmt: skip
    for body, pin in [(custom_body(pairs), None), (per_sensor_body(pairs, "GPS_"), "9")]:
        r = decode_body(parse_body(body), pin=pin)
        assert r.samples == [] and r.rejected == []
        assert r.diagnostics.get("gps") == "no fix" and "gps_timestamp" not in r.diagnostics


def test_zero_noise_and_position_are_values() -> None:
    r = decode_body(parse_body(custom_body([("GPS_lat", "0.000000"), ("GPS_lon", "0.000000")])))
    assert r.samples[0].values == {"lat": 0.0, "lon": 0.0}


def _cli(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "airq", "decode", "airrohr", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
    )


def test_decode_cli_takes_pin_and_hardware() -> None:
    cases = {c[0]: c for c in SENSOR_CASES}
    _, prefix, _, pairs, expected = cases["sps30"]
    r = _cli("-", "--pin", "1", stdin=per_sensor_body(pairs, prefix))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"sensor": "sps30", "values": expected}
    _, prefix, _, pairs, expected = cases["sds011"]
    r = _cli("-", "--pin", "1", stdin=per_sensor_body(pairs, prefix))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["sensor"] == "pm_generic" and out["flags"] == ["model_unknown"]
    assert "pin 1 partagé" in r.stderr.decode() and "--hardware" in r.stderr.decode()
    r = _cli("-", "--pin", "1", "--hardware", "sds011,bme280", stdin=per_sensor_body(pairs, prefix))
    assert json.loads(r.stdout) == {"sensor": "sds011", "values": expected}
    r = subprocess.run(
        [sys.executable, "-m", "airq", "decode", "sds011", "AA", "--pin", "1"],
        capture_output=True,
        cwd=ROOT,
    )
    assert r.returncode != 0 and "airq decode airrohr" in r.stderr.decode()
