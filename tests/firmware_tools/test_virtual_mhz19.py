from __future__ import annotations

from airq_core.protocols import mhz19
from airq_core.protocols.commands import mhz19 as mhz19_cmd
from firmware_tools.virtual import make_emulator
from firmware_tools.virtual.mhz19 import VirtualMHZ19B


def _split(buffer: bytes) -> tuple[bytes | None, int]:
    return mhz19.split_frame(buffer)


def test_reads_on_a_pty_report_preheat_then_measurements(line) -> None:
    sensor = VirtualMHZ19B(preheat_s=0.4, co2=900.0)
    ln = line(sensor)
    first = mhz19.decode(ln.ask(mhz19_cmd.read(), _split))
    assert first.values == {"co2": 410.0}  # the fixed pre-heat value
    ln.quiet(0.5)
    later = [mhz19.decode(ln.ask(mhz19_cmd.read(), _split)) for _ in range(3)]
    assert all(s.values["co2"] != 410.0 and 300 <= s.values["co2"] <= 5000 for s in later)
    assert [s for _, s in sensor.emitted] == [first, *later]


def test_config_commands_are_applied_and_acknowledged(line) -> None:
    sensor = VirtualMHZ19B(preheat_s=0.0)
    ln = line(sensor)
    assert ln.ask(mhz19_cmd.abc_off(), _split)[1] == mhz19.CMD_ABC
    assert ln.ask(mhz19_cmd.detection_range(2000), _split)[1] == mhz19.CMD_RANGE
    assert ln.ask(mhz19_cmd.zero_calibration(), _split)[1] == mhz19.CMD_ZERO
    assert sensor.abc is False and sensor.range == 2000
    assert abs(mhz19.decode(ln.ask(mhz19_cmd.read(), _split)).values["co2"] - 400) < 100


def test_silent_until_asked() -> None:
    sensor = make_emulator("mhz19b")
    assert sensor.tick(0.0) == b"" and sensor.tick(10.0) == b""
    assert mhz19.decode(sensor.on_bytes(mhz19_cmd.read(), 11.0)).values == {"co2": 410.0}
    assert mhz19.decode(sensor.on_bytes(mhz19_cmd.read(), 200.0)).values != {"co2": 410.0}
