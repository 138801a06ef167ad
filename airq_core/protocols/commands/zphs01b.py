"""Winsen ZPHS01B host commands: the MH-Z19B read request (the module answers 26 bytes)."""

from __future__ import annotations

from airq_core.protocols.commands import mhz19

__all__ = ["read"]


def read() -> bytes:
    """``FF 01 86 00 00 00 00 00 79``."""
    return mhz19.read()
