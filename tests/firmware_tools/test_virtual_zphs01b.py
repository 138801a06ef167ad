from __future__ import annotations

from airq_core.protocols import zphs01b
from airq_core.protocols.commands import zphs01b as zphs01b_cmd
from airq_core.quantities import QUANTITIES
from firmware_tools.virtual import make_emulator


def _split(buffer: bytes) -> tuple[bytes | None, int]:
    return zphs01b.split_frame(buffer)


def test_answers_reads_on_a_pty(line) -> None:
    sensor = make_emulator("zphs01b")
    ln = line(sensor)
    assert ln.quiet(0.2) == b""  # request/response only
    samples = [zphs01b.decode(ln.ask(zphs01b_cmd.read(), _split)) for _ in range(3)]
    assert [s for _, s in sensor.emitted] == samples
    for sample in samples:
        assert sample.flags == ("coarse_no2",)
        for name, value in sample.values.items():
            lo, hi = QUANTITIES[name].plausible
            assert lo <= value <= hi, name


def test_ignores_garbage_and_other_commands() -> None:
    sensor = make_emulator("zphs01b")
    assert sensor.on_bytes(b"\x00\xff\x01\x99" + bytes(20), 0.0) == b""
    assert len(sensor.on_bytes(b"\x13" + zphs01b_cmd.read(), 1.0)) == 26
