"""Virtual sensors send warm-up frames and the PMS5003T/PMS5003ST layouts (pure, time injected)."""

from __future__ import annotations

from airq_core.protocols import plantower, sds011, sps30
from airq_core.protocols.commands import sds011 as sds011_cmd
from airq_core.protocols.commands import sps30 as sps30_cmd
from firmware_tools.virtual import make_emulator


def test_virtual_sds011_sends_zero_frames_while_warming_up() -> None:
    emu = make_emulator("sds011", warmup_s=2.0)
    frames = [emu.tick(t) for t in (100.0, 101.0, 102.5, 103.5)]
    samples = [sds011.decode(f) for f in frames if f]
    assert [s.flags for s in samples] == [("warmup",), ("warmup",), (), ()]
    emu.on_bytes(sds011_cmd.sleep(), 104.0)
    emu.on_bytes(sds011_cmd.work(), 200.0)  # the fan starts again: warm-up again
    assert sds011.decode(emu.tick(201.0)).flags == ("warmup",)


def test_virtual_pms5003t_and_pms5003st_send_their_own_frames() -> None:
    t = make_emulator("pms5003t", temperature=-3.5, humidity=90.0)
    frame = t.tick(10.0)
    assert len(frame) == plantower.DATA_LEN
    values = plantower.decode(frame, "pms5003t").values
    assert (values["temperature"], values["humidity"]) == (-3.5, 90.0)
    st = make_emulator("pms5003st")
    frame = st.tick(10.0)
    assert len(frame) == plantower.ST_DATA_LEN
    assert plantower.decode(frame, "pms5003st").values["ch2o"] == 15.0


def test_virtual_sps30_reads_zeros_right_after_start() -> None:
    emu = make_emulator("sps30", period=1.0, warmup_s=3.0)
    emu.on_bytes(sps30_cmd.start(), 0.0)
    emu.tick(1.0)
    first = emu.on_bytes(sps30_cmd.read(), 1.1)
    assert sps30.decode(first).flags == ("warmup",)
    emu.tick(4.0)
    later = emu.on_bytes(sps30_cmd.read(), 4.1)
    assert sps30.decode(later).flags == ()
