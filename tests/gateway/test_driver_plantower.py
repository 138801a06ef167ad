"""Plantower driver against a virtual PMS5003/PMS7003 on a real pty: passive mode, duty
cycling (asleep between readings), warm-up frames dropped, a later all-zero frame kept with its
``warmup`` flag, silence."""

from __future__ import annotations

import pytest

from airq_core.protocols import plantower as proto
from firmware_tools.virtual.values import Wander
from gateway.drivers import SilentSensorError
from tests.gateway.driver_harness import driver_rig


def test_passive_mode_reads_once_per_cycle_and_drops_warmup_frames() -> None:
    # The virtual sensor sends all-zero frames for 1 s after power-on, as a real one does.
    with driver_rig("pms7003", {"warmup_s": 1.0}, interval=1, warmup=0) as rig:
        rig.driver.setup()
        assert not rig.emu.active and rig.emu.awake  # passive mode, kept awake (short interval)
        before = len(rig.emitted)  # power-on frames of the factory active mode
        for _ in range(3):
            rig.driver.cycle()
        sent = rig.emitted[before:]
        warming = next(i for i, s in enumerate(sent) if s.flags != ("warmup",))
        assert warming >= 1  # the first read came while it was still warming up
        assert rig.samples == sent[warming:]  # dropped, then every frame exactly as sent
        assert rig.driver.dropped == warming
        assert [s.sensor for s in rig.samples] == ["pms7003"] * 3  # the configured model
        assert all(s.flags == () and s.values["n0_3"] > 0 for s in rig.samples)
        assert (proto.CMD_MODE, 0) in rig.emu.commands


def test_duty_cycle_sleeps_between_readings() -> None:
    with driver_rig("pms5003", interval=40, warmup=0) as rig:  # 40 s >= warm-up + 10 s
        assert rig.driver.duty_cycle
        rig.driver.setup()
        assert not rig.emu.awake and not rig.emu.active  # asleep, in passive mode
        before = len(rig.emitted)
        for _ in range(3):
            rig.driver.cycle()
            assert not rig.emu.awake  # back to sleep after each reading
        assert rig.samples == rig.emitted[before:]
        assert len(rig.samples) == 3
        assert rig.emu.commands.count((proto.CMD_SLEEP, 1)) >= 3  # woken once per cycle
        assert rig.emu.commands.count((proto.CMD_SLEEP, 0)) >= 4  # asleep after setup + 3


def test_an_all_zero_frame_after_data_keeps_its_warmup_flag() -> None:
    # Every particle word zero, counts included, is what a PMS sends while its fan starts (the
    # decoder flags it); real air, however clean, still counts particles. The driver must not
    # turn such a frame into a plain zero reading because data came before it.
    with driver_rig("pms5003", interval=1, warmup=0) as rig:
        rig.driver.setup()
        rig.driver.cycle()
        assert rig.samples[-1].values["pm2_5"] > 0
        assert rig.samples[-1].flags == ()
        rig.emu._pm25 = Wander(0, 0, 0, 0)  # the sensor now sends all-zero frames
        rig.emu._coarse = Wander(0, 0, 0, 0)
        rig.driver.cycle()
        assert rig.emitted[-1].flags == ("warmup",)  # the decoder's verdict on the frame
        zero = rig.samples[-1]
        assert set(zero.values.values()) == {0.0}
        assert zero == rig.emitted[-1]  # passed on as decoded: values and the warmup flag
        assert zero.flags == ("warmup",)
        assert rig.driver.dropped == 0  # kept (flagged), not withheld: the sensor has settled


def test_active_mode_takes_a_fresh_frame_each_cycle() -> None:
    with driver_rig("pms5003", {"period": 0.05}, interval=1, warmup=0, mode="active") as rig:
        rig.driver.setup()
        assert rig.emu.active
        for _ in range(3):
            rig.stop.wait(0.3)  # a backlog of frames builds up between cycles
            before = len(rig.emitted)
            rig.driver.cycle()
            assert rig.samples[-1] in rig.emitted[before - 1 :]  # not a stale one
        assert len(rig.samples) == 3


def test_silent_sensor_raises() -> None:
    with driver_rig("pms5003", interval=40, warmup=0) as rig:
        rig.driver.reply_timeout = 0.3
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match="PMS5003 on /dev/"):
            rig.driver.setup()
    with driver_rig("pms5003", interval=1, warmup=0) as rig:
        rig.driver.reply_timeout = 0.3
        rig.driver.setup()
        rig.pty.silent = True
        with pytest.raises(SilentSensorError, match="does not answer reads"):
            rig.driver.cycle()
