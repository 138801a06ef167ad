"""gateway/sample-config.toml loads, documents every key, and its commented examples (several
sensors on several ports, a board) are valid once uncommented."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from gateway.config import (
    BoardConfig,
    GatewayConfig,
    I2CConfig,
    MqttConfig,
    QueueConfig,
    SensorConfig,
    load_config,
)
from gateway.drivers import DRIVERS

SAMPLE = Path(__file__).resolve().parents[2] / "gateway" / "sample-config.toml"


def test_sample_config_loads() -> None:
    cfg = load_config(SAMPLE)
    assert cfg.station == "lens-01"
    assert [s.type for s in cfg.sensors] == ["sds011"]
    assert cfg.sensors[0].interval == 145 and cfg.sensors[0].abc is None


def test_every_key_is_documented() -> None:
    text = SAMPLE.read_text()
    for cls in (GatewayConfig, MqttConfig, QueueConfig, SensorConfig, BoardConfig, I2CConfig):
        for f in fields(cls):
            if f.name in ("mqtt", "queue", "sensors", "boards", "i2c"):
                assert re.search(rf"^#? ?\[\[?{f.name}\]\]?", text, re.M), f.name
            else:
                assert re.search(rf"^#? ?{f.name} = ", text, re.M), f"{cls.__name__}.{f.name}"
    for model in DRIVERS:
        assert model in text


def test_commented_examples_are_valid(tmp_path: Path) -> None:
    text = SAMPLE.read_text()
    examples = text[text.index("# --- A station with several sensors") :]
    uncommented = "\n".join(
        line[2:] for line in examples.splitlines() if re.match(r"# \[\[|# [a-z_0-9]+ = ", line)
    )
    path = tmp_path / "gw.toml"
    path.write_text(text + "\n" + uncommented + "\n")
    cfg = load_config(path)
    assert [s.type for s in cfg.sensors] == ["sds011", "pms7003", "mhz19b", "rd200m", "sps30"]
    assert len({s.port for s in cfg.sensors}) == 5  # several ports
    assert cfg.sensors[2].abc is False
    assert [b.url for b in cfg.boards] == ["http://192.168.1.50/data.json"]
    assert [c.type for c in cfg.i2c] == ["bme280", "b43f"]
    assert cfg.i2c[1].sensitivity == 0.2 and cfg.i2c[1].address == 0x48
