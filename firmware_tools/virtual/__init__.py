"""Virtual sensors that speak the real byte protocols on a pseudo-terminal.

An *emulator* is a pure state machine (no I/O, time injected):
    on_bytes(data, now) -> bytes   bytes from the host (commands); returns the sensor's replies
    tick(now) -> bytes             spontaneous output due at ``now`` (active-mode frames)
    emitted                        list of (now, Sample) for every measurement frame sent
``PtySensor`` runs one emulator on a pty; its ``port`` is a real serial device path that the
gateway (pyserial) opens like a USB adapter.
"""

from firmware_tools.virtual.base import EMULATORS, PtySensor, make_emulator

__all__ = ["EMULATORS", "PtySensor", "make_emulator"]
