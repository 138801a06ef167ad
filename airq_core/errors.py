"""Exception tree of the shared core.

AirqError                   base of every error the project raises on purpose
├── DecodeError             a sensor frame cannot be decoded (drop it, keep reading)
│   ├── IncompleteFrameError  too few bytes: wait for more
│   ├── FrameFormatError      bad header, tail, length or command byte
│   └── ChecksumError         checksum or CRC mismatch (line noise, bad wiring)
├── WireFormatError         an MQTT/HTTP payload breaks wire format v1 (count it, drop it)
└── UnknownSensorError      a sensor model the registry does not know (fix the config)
"""

from __future__ import annotations


class AirqError(Exception):
    """Base class of every error raised on purpose by AirQuartiers."""


class DecodeError(AirqError, ValueError):
    """A frame could not be decoded. The caller drops the frame and keeps reading."""


class IncompleteFrameError(DecodeError):
    """The frame is shorter than the protocol needs. Wait for more bytes, or drop it."""


class FrameFormatError(DecodeError):
    """Bad header, tail, length or command byte. Drop the frame; resync on the stream."""


class ChecksumError(DecodeError):
    """The checksum or CRC does not match: noise on the line or a loose wire. Drop the frame."""


class WireFormatError(AirqError, ValueError):
    """A payload breaks wire format v1. ``reason`` is a short machine-readable code for counting.

    The caller counts the rejection under ``reason`` and drops the payload (or the one reading
    that is bad, when the others are valid).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnknownSensorError(AirqError, KeyError):
    """The sensor model is not in the registry (``airq_core.sensors``). Fix the configuration."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown sensor"
