"""``airq virtual-sensor`` starts every emulator on a pty and prints the port to open."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from airq_core.protocols import FrameStream
from airq_core.sensors import SENSORS
from firmware_tools.virtual import EMULATORS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sensor", sorted(EMULATORS))
def test_virtual_sensor_cli_starts_and_stops(sensor: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airq", "virtual-sensor", sensor],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "/dev/pts/" in line, proc.stderr.read() if proc.stderr else ""
        port = line.rsplit(" ", 1)[-1].strip()
        proto = SENSORS[sensor].protocol
        with serial.Serial(port, proto.BAUDRATE, timeout=0.2) as ser:
            ser.write(b"\x00")  # any byte: the emulator must not choke on it
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)  # waits and closes the pipes
    assert proc.returncode == 0


def test_period_refused_for_request_only_sensors() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "airq", "virtual-sensor", "mhz19b", "--period", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=20,
    )
    assert r.returncode == 2 and "--period" in r.stderr


def test_sds011_cli_streams_frames() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airq", "virtual-sensor", "sds011", "--period", "0.1"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        port = proc.stdout.readline().rsplit(" ", 1)[-1].strip() if proc.stdout else ""
        fs = FrameStream(SENSORS["sds011"].protocol)
        frames: list[bytes] = []
        with serial.Serial(port, 9600, timeout=0.5) as ser:
            for _ in range(20):
                frames += fs.feed(ser.read(64))
                if len(frames) >= 3:
                    break
        assert len(frames) >= 3
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
