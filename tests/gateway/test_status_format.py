"""The status lines `airq gateway status` prints, from a status as the gateway writes it."""

from __future__ import annotations

from typing import Any

from gateway.status import format_status

STATUS: dict[str, Any] = {
    "station": "lens-01",
    "updated": "2026-12-06T03:40:00Z",
    "broker": {"url": "mqtt://127.0.0.1:1883", "state": "connected"},
    "queue": {"depth": 0, "dropped": 0},
    "clock": {"suspect": False, "reason": ""},
    "sensors": [
        {"type": "sds011", "port": "/dev/ttyUSB0", "state": "ok", "problem": None, "last": None}
    ],
    "i2c": [
        {
            "type": "bme280",
            "bus": 1,
            "state": "ok",
            "problem": None,
            "last": {"ts": "2026-12-06T03:39:58Z", "values": {"temperature": 18.5}},
        }
    ],
    "boards": [],
}


def test_i2c_sensors_are_listed_with_their_bus_in_french_and_english() -> None:
    fr = format_status(STATUS, "fr")
    en = format_status(STATUS, "en")
    assert "Capteurs I2C:" in fr and "  bme280 @ I2C 1: fonctionne" in fr
    assert "temperature=18.5" in fr
    assert "I2C sensors:" in en and "  bme280 @ I2C 1: working" in en
    assert "sds011 @ /dev/ttyUSB0" in fr
