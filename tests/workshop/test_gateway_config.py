"""Gateway configurations generated for our MQTT path load in the gateway's own validator."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from airq.cli import main
from api.registry import Registry
from gateway.config import load_config


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    monkeypatch.setenv("AIRQ_DATABASE_URL", url)
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("AIRQ_WORKSHOP_MQTT_URL", "mqtts://mqtt.airquartiers.fr:8883")
    monkeypatch.setenv("AIRQ_WORKSHOP_PLATFORM_URL", "https://carte.airquartiers.fr")
    return url


def test_register_writes_gateway_configs_that_the_gateway_accepts(
    tmp_path: Path, db_url: str
) -> None:
    src = tmp_path / "p.csv"
    src.write_text("nom;lat;lon;capteurs\nA;50.1;2.1;sds011 bme280\nB;50.2;2.2;mhz19b sds011\n")
    out = tmp_path / "o"
    assert (
        main(
            [
                "station",
                "register",
                "--csv",
                str(src),
                "--prefix",
                "douai",
                "--out",
                str(out),
                "--no-pdf",
                "--gateway-configs",
            ]
        )
        == 0
    )
    with (out / "recap.csv").open(encoding="utf-8-sig") as f:
        tokens = {r["id"]: r["jeton"] for r in csv.DictReader(f, delimiter=";")}
    path = out / "passerelles" / "douai-02.toml"
    assert path.stat().st_mode & 0o077 == 0
    cfg = load_config(path)
    assert cfg.station == "douai-02"
    assert cfg.mqtt.url == f"mqtts://douai-02:{tokens['douai-02']}@mqtt.airquartiers.fr:8883"
    assert [(s.type, s.port) for s in cfg.sensors] == [
        ("mhz19b", "/dev/ttyUSB0"),
        ("sds011", "/dev/ttyUSB1"),
    ]
    reg = Registry(db_url)
    assert reg.verify_token("douai-02", tokens["douai-02"])
    reg.close()
    # only serial sensors go to the gateway: the BME280 of douai-01 is read by the board
    assert [s.type for s in load_config(out / "passerelles" / "douai-01.toml").sensors] == [
        "sds011"
    ]


def test_gateway_config_command(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gw.toml"
    assert (
        main(
            [
                "station",
                "gateway-config",
                "lens-01",
                "--token",
                "tok_en-123",
                "--sensor",
                "pms5003=/dev/serial0",
                "--interval",
                "60",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    cfg = load_config(out)
    assert cfg.sensors[0].type == "pms5003" and cfg.sensors[0].interval == 60
    assert main(["station", "gateway-config", "lens-01", "--token", "x", "--sensor", "bme280"]) == 2
    assert "ne se lit pas sur un port série" in capsys.readouterr().err
    assert main(["station", "gateway-config", "lens-01"]) == 2
    assert "il faut le jeton de la station" in capsys.readouterr().err


def test_lost_token_is_replaced(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    reg = Registry(db_url)
    old = reg.add("lens-07", 50.0, 2.0)
    reg.close()
    assert main(["station", "rotate-token", "lens-07"]) == 0
    captured = capsys.readouterr()
    new = captured.out.strip()
    assert "Nouveau jeton de la station lens-07" in captured.err
    reg = Registry(db_url)
    assert reg.verify_token("lens-07", new) and not reg.verify_token("lens-07", old)
    reg.close()
    assert main(["station", "rotate-token", "absente"]) == 1
