from __future__ import annotations

from airq_core.protocols import rd200m
from airq_core.protocols.commands import rd200m as rd200m_cmd
from firmware_tools.virtual import make_emulator
from firmware_tools.virtual.rd200m import VirtualRD200M


def _split(buffer: bytes) -> tuple[bytes | None, int]:
    return rd200m.split_frame(buffer)


def test_warmup_then_normal_and_auto_transfer_on_a_pty(line) -> None:
    # speed 3600: one sensor hour per second
    sensor = VirtualRD200M(speed=3600.0)
    ln = line(sensor)
    first = rd200m.decode(ln.ask(rd200m_cmd.read(), _split))
    assert first.flags == ("warmup",) and first.meta["status"] in (0, 1)
    ln.quiet(1.1)
    normal = rd200m.decode(ln.ask(rd200m_cmd.read(), _split))
    assert normal.flags == () and normal.meta["status"] == rd200m.STATUS_NORMAL
    assert normal.values["radon"] >= 0

    assert ln.quiet(0.2) == b""  # no auto-transfer until a period is set
    ln.send(rd200m_cmd.set_period(10))  # 10 sensor minutes = 1/6 s
    assert len(ln.frames(_split, 3)) == 3

    ln.send(rd200m_cmd.reset())  # no reply; warm-up again
    after = ln.until(_split, lambda f: rd200m.decode(f).meta["status"] != 2)
    assert rd200m.decode(after).flags == ("warmup",)


def test_status_follows_the_datasheet_phases() -> None:
    sensor = make_emulator("rd200m", started=0.0)
    statuses = [
        rd200m.decode(sensor.on_bytes(rd200m_cmd.read(), t)).meta["status"]
        for t in (10.0, 300.0, 3700.0)
    ]
    assert statuses == [0, 1, 2]
    assert sensor.on_bytes(rd200m_cmd.reset(), 4000.0) == b""
    assert rd200m.decode(sensor.on_bytes(rd200m_cmd.read(), 4010.0)).meta["status"] == 0
