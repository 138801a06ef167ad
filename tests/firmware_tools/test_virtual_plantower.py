from __future__ import annotations

import pytest

from airq_core.protocols import plantower
from airq_core.protocols.commands import plantower as plantower_cmd
from firmware_tools.virtual import make_emulator
from firmware_tools.virtual.plantower import VirtualPMS


def _split(buffer: bytes) -> tuple[bytes | None, int]:
    return plantower.split_frame(buffer)


def test_active_mode_streams_frames_on_a_pty(line) -> None:
    pms = VirtualPMS(period=0.05)
    frames = line(pms).frames(_split, 3)
    samples = [plantower.decode(f) for f in frames]
    assert all(s.values["pm2_5"] >= 0 and "warmup" not in s.flags for s in samples)
    assert [s.values for _, s in pms.emitted[:3]] == [s.values for s in samples]


def test_passive_mode_answers_reads_only_and_sleep_stops_output(line) -> None:
    pms = make_emulator("pms7003", period=0.05)
    ln = line(pms)
    ln.frames(_split, 1)  # active by default
    ln.send(plantower_cmd.passive())
    ack = ln.until(_split, lambda f: len(f) == plantower.ACK_LEN)  # behind frames in flight
    assert plantower.parse_ack(ack) == plantower.Ack(0xE1, 0)
    assert ln.quiet(0.3) == b""  # passive: nothing unasked

    frame = ln.ask(plantower_cmd.read(), _split)
    assert plantower.decode(frame, "pms7003").sensor == "pms7003"

    assert plantower.parse_ack(ln.ask(plantower_cmd.sleep(), _split)) == plantower.Ack(0xE4, 0)
    ln.send(plantower_cmd.read())
    assert ln.quiet(0.3) == b""  # asleep: reads are not heard

    ln.send(plantower_cmd.wake() + plantower_cmd.active())
    assert len(ln.frames(_split, 2)) == 2


def test_wake_starts_with_warmup_frames() -> None:
    pms = VirtualPMS(period=1.0, warmup_s=10.0)
    assert pms.tick(0.0) and pms.emitted[-1][1].flags == ("warmup",)
    assert pms.tick(11.0) and pms.emitted[-1][1].flags == ()
    assert pms.on_bytes(plantower_cmd.sleep(), 12.0) == plantower.encode_ack(0xE4, 0)
    assert pms.tick(13.0) == b""
    assert pms.on_bytes(plantower_cmd.wake(), 14.0) == b""  # wake is not acked
    assert pms.tick(15.0) and pms.emitted[-1][1].flags == ("warmup",)
    assert pms.tick(25.0) and pms.emitted[-1][1].flags == ()


def test_cf1_series_differs_from_atmospheric_at_high_concentrations() -> None:
    pms = VirtualPMS(pm2_5=80.0, pm10=120.0)
    pms.tick(0.0)
    values = pms.emitted[-1][1].values
    assert values["pm2_5_cf1"] > values["pm2_5"] > 30


@pytest.mark.parametrize("name", ["pms5003", "pms7003"])
def test_registered_in_emulators(name: str) -> None:
    assert make_emulator(name).sensor == name
