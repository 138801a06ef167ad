from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import GatewayConfigError, load_config
from gateway.service import CLOCK_JUMP_S, RELEASE_EPOCH, ClockWatch

GOOD = """
station = "lens-01"
[mqtt]
url = "mqtt://lens-01:TOKEN@broker.example:1883"
[[sensors]]
type = "sds011"
port = "/dev/ttyUSB0"
interval = 145
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "gw.toml"
    p.write_text(text)
    return p


def test_the_issue_example_loads_with_defaults(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, GOOD))
    assert cfg.sensors[0].interval == 145 and cfg.sensors[0].mode == "auto"
    assert cfg.queue.max_disk_mb == 200


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (GOOD.replace('"lens-01"\n[mqtt]', '"Lens 01"\n[mqtt]'), "station"),
        (GOOD.replace("mqtt://", "http://"), "mqtt.url"),
        (GOOD.replace('"sds011"', '"sds012"'), "sensors.0.type"),
        (GOOD.replace("interval = 145", "interval = -1"), "sensors.0.interval"),
        (GOOD + "colour = 'blue'\n", "sensors.0.colour"),
        (GOOD.replace("[[sensors]]", "[[sensor]]"), "sensor"),
    ("boards = 3\n" + GOOD, "boards: must be [[boards]] sections"),
    ("i2c = [1]\n" + GOOD, "i2c.0: must be a [[i2c]]"),
    (GOOD + "[[i2c]]\ntype = 'bme280'\ncolour = 1\n", "i2c.0.colour: unknown key"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(GatewayConfigError) as exc:
        load_config(_write(tmp_path, text))
    assert key in str(exc.value)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(GatewayConfigError, match="TOML"):
        load_config(_write(tmp_path, "station = "))


def test_clock_before_release_is_suspect() -> None:
    cw = ClockWatch()
    assert cw.check(RELEASE_EPOCH - 86400 * 365 * 50, 100.0)  # a Pi booted in 1970
    assert "release" in cw.reason


def test_clock_jump_is_detected_then_cleared() -> None:
    cw = ClockWatch()
    t0 = RELEASE_EPOCH + 1e6
    assert not cw.check(t0, 10.0)
    assert not cw.check(t0 + 5, 15.0)
    assert cw.check(t0 + 5 + CLOCK_JUMP_S * 2, 20.0)  # NTP stepped the clock
    assert "jumped" in cw.reason
    assert not cw.check(t0 + 10 + CLOCK_JUMP_S * 2, 25.0)
