"""``airq decode`` as a resident runs it (``python -m airq decode …`` in a subprocess), for
every serial sensor: a good frame, a bad checksum, a short frame, English messages, and a
byte stream with garbage on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airq_core.sensors import SENSORS

ROOT = Path(__file__).resolve().parents[2]
FRAMES = ROOT / "tests" / "data" / "frames"
GOLDEN_FILE = {
    "sds011": "sds011",
    "pms5003": "plantower",
    "pms7003": "plantower",
    "pms5003t": "plantower_t",
    "pms5003st": "plantower_st",
    "sps30": "sps30",
    "mhz19b": "mhz19",
    "senseair_s8": "senseair_s8",
    "scd30": "scd30",
    "rd200m": "rd200m",
    "zphs01b": "zphs01b",
}
MODELS = sorted(GOLDEN_FILE)
GARBAGE = b"\x00\x13garbage\x0d\x0a"


def airq(*args: str, stdin: bytes = b"", lang: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AIRQ_LANG"}
    cmd = [sys.executable, "-m", "airq", *(["--lang", lang] if lang else []), "decode", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, cwd=ROOT, env=env, timeout=20)


def golden(model: str) -> dict:
    return json.loads((FRAMES / f"{GOLDEN_FILE[model]}.json").read_text())[0]


def frame(model: str) -> bytes:
    return bytes.fromhex(golden(model)["hex"])


def hexed(data: bytes) -> str:
    return data.hex(" ").upper()


def bad_checksum(data: bytes) -> bytes:
    corrupted = bytearray(data)
    corrupted[5] ^= 0x01  # a payload byte: the checksum or CRC no longer matches
    return bytes(corrupted)


def short(model: str) -> bytes:
    data = frame(model)
    if model == "sps30":  # SHDLC: a closed frame whose LEN announces more than it carries
        return data[:6] + b"\x7e"
    return data[: len(data) // 2]


def test_every_serial_sensor_has_a_case() -> None:
    assert set(MODELS) == {k for k, m in SENSORS.items() if m.protocol is not None}


@pytest.mark.parametrize("model", MODELS)
def test_good_frame_prints_the_sample(model: str) -> None:
    out = airq(model, hexed(frame(model)))
    assert out.returncode == 0, out.stderr.decode()
    sample = json.loads(out.stdout)
    assert sample["sensor"] == model  # pms7003 too: the model name is passed to decode()
    assert sample["values"] == pytest.approx(golden(model)["values"], abs=1e-3)
    assert sample.get("flags", []) == golden(model)["flags"]


@pytest.mark.parametrize("model", MODELS)
def test_bad_checksum_fails_in_french(model: str) -> None:
    out = airq(model, hexed(bad_checksum(frame(model))))
    assert out.returncode == 1
    assert out.stdout == b""
    assert "trame invalide : somme de contrôle incorrecte" in out.stderr.decode()


@pytest.mark.parametrize("model", MODELS)
def test_short_frame_fails_in_french(model: str) -> None:
    out = airq(model, hexed(short(model)))
    assert out.returncode == 1
    assert "trame invalide : trame trop courte" in out.stderr.decode()


@pytest.mark.parametrize("model", MODELS)
def test_english_on_request(model: str) -> None:
    out = airq(model, hexed(bad_checksum(frame(model))), lang="en")
    assert out.returncode == 1
    assert "invalid frame: bad checksum" in out.stderr.decode()


@pytest.mark.parametrize("model", MODELS)
def test_stream_with_garbage(model: str) -> None:
    good = frame(model)
    stream = GARBAGE + good + GARBAGE + good[:3] + GARBAGE + good + GARBAGE
    out = airq(model, "--stream", stdin=stream)
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    assert [json.loads(line)["sensor"] for line in lines] == [model, model]
    skipped = len(stream) - 2 * len(good)
    assert f"2 trame(s) décodée(s), {skipped} octet(s) ignoré(s)" in out.stderr.decode()


def test_hex_stream_of_a_long_capture() -> None:
    # 500 captured lines, more than one read of stdin: a byte split across reads stays whole
    text = "".join(f"{hexed(frame('sds011'))}\n" for _ in range(500)).encode()
    out = airq("sds011", "--stream", "--hex-stream", stdin=text)
    assert out.returncode == 0, out.stderr.decode()
    assert len(out.stdout.decode().splitlines()) == 500


def test_a_valid_frame_without_a_measurement_is_explained() -> None:
    out = airq("sps30", "7E 00 03 00 00 FC 7E")  # the SPS30's empty read reply
    assert out.returncode == 1
    assert "trame valide, mais sans mesure : pas encore de nouvelle mesure" in out.stderr.decode()
    out = airq("senseair_s8", "FE 84 02 F2 F1", lang="en")  # Modbus exception 2
    assert "valid frame, but no measurement: the sensor refused the Modbus request" in (
        out.stderr.decode()
    )


def test_sensor_without_a_serial_protocol() -> None:
    out = airq("b43f", "00 01")
    assert out.returncode == 2
    assert "le capteur b43f n'a pas de protocole série" in out.stderr.decode()
