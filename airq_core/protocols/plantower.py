"""Plantower PMS5003 / PMS7003 (and PMSA003), PMS5003T, PMS5003ST: 9600 baud 8N1.

Data frame (sensor -> host), big-endian 16-bit words, by model (the length field is the
number of bytes after it)::

    PMS5003/7003  42 4D 00 1C  pm1_cf1 pm2_5_cf1 pm10_cf1  pm1 pm2_5 pm10
                               n0_3 n0_5 n1 n2_5 n5 n10  reserved  checksum      (32 bytes)
    PMS5003T      42 4D 00 1C  pm1_cf1 pm2_5_cf1 pm10_cf1  pm1 pm2_5 pm10
                               n0_3 n0_5 n1 n2_5  temp×10 rh×10  reserved  checksum
    PMS5003ST     42 4D 00 24  pm1_cf1 pm2_5_cf1 pm10_cf1  pm1 pm2_5 pm10
                               n0_3 n0_5 n1 n2_5 n5 n10  hcho  temp×10 rh×10
                               reserved  version/error  checksum                 (40 bytes)

(temperature is a signed word; HCHO in 0.001 mg/m³ = µg/m³.) PMS5003T layout: PyPMS
``sensors/plantower/pms5003t.py`` ("only 4 size bins", the 11th word signed); PMS5003ST:
PyPMS ``pms5003st.py`` (40-byte messages) and jimsshom/PlantowerMonitor (HCHO /1000 mg/m³,
temperature and humidity /10). A PMS5003T frame has the length of a PMS5003 frame: the frame
cannot say which it is, so :func:`decode` reads it as the configured model says. A frame
whose length matches no layout of the configured model is refused, naming what was seen.

The checksum is the 16-bit sum of bytes 0..29. The first PM series is "CF=1" (factory
standard particle), the second the "atmospheric environment" series that airrohr and
sensor.community publish; both are kept (``pm1_cf1``… and ``pm1``…). Counts are particles
larger than the size per 0.1 L of air, turned into #/cm³ (divided by 100).

Ack frame (reply to passive mode and sleep), 8 bytes: ``42 4D 00 04 cmd data csH csL``.
Command frame (host -> sensor), 7 bytes: ``42 4D cmd dataH dataL csH csL``.

A frame whose particle words (PM and counts) are all zero comes from a sensor still warming
up (PyPMS refuses it as "warming up"): its sample carries the flag ``"warmup"``. A zero PM
reading with non-zero counts is a real value.
The reserved word (PMS7003: version and error code, [UNVERIFIED]) is kept in ``meta``.
"""

from __future__ import annotations

from dataclasses import dataclass

from airq_core.errors import ChecksumError, FrameFormatError, IncompleteFrameError
from airq_core.protocols import framing
from airq_core.readings import Sample

__all__ = [
    "BAUDRATE",
    "NAME",
    "Ack",
    "decode",
    "encode_ack",
    "encode_data",
    "encode_st_data",
    "encode_t_data",
    "encode_words",
    "parse_ack",
    "parse_command",
    "split_command",
    "split_frame",
]

NAME = "plantower"
SENSORS = ("pms5003", "pms7003", "pms5003t", "pms5003st")
BAUDRATE = 9600
HEAD = b"\x42\x4d"
DATA_LEN, ACK_LEN, COMMAND_LEN = 32, 8, 7
ST_DATA_LEN = 40
MAX_LEN = 64  # longest frame split_frame hands over (unknown variants are refused by decode)

CMD_MODE = 0xE1  # data 0 = passive, 1 = active
CMD_READ = 0xE2  # read one frame in passive mode
CMD_SLEEP = 0xE4  # data 0 = sleep, 1 = wake
COMMANDS = (CMD_MODE, CMD_READ, CMD_SLEEP)

PM_FIELDS = ("pm1_cf1", "pm2_5_cf1", "pm10_cf1", "pm1", "pm2_5", "pm10")
COUNT_FIELDS = ("n0_3", "n0_5", "n1", "n2_5", "n5", "n10")
QUANTITIES = PM_FIELDS + COUNT_FIELDS
T_QUANTITIES = (*PM_FIELDS, *COUNT_FIELDS[:4], "temperature", "humidity")
ST_QUANTITIES = (*QUANTITIES, "ch2o", "temperature", "humidity")


@dataclass(frozen=True, slots=True)
class Layout:
    """What a model's data frame carries: its total length and its words after the header."""

    length: int
    counts: int  # number of size bins
    extra: tuple[str, ...]  # words after the counts: "hcho", "temp", "rh", "reserved"…


LAYOUTS: dict[str, Layout] = {
    "pms5003": Layout(DATA_LEN, 6, ("reserved",)),
    "pms7003": Layout(DATA_LEN, 6, ("reserved",)),
    "pms5003t": Layout(DATA_LEN, 4, ("temp", "rh", "reserved")),
    "pms5003st": Layout(ST_DATA_LEN, 6, ("hcho", "temp", "rh", "reserved", "version")),
}
# the variant a frame length suggests, to name it in a refusal
KNOWN_LENGTHS = {24: "a PMS3003", 32: "a PMS5003/PMS7003/PMS5003T", 40: "a PMS5003ST"}


def _sum16(data: bytes) -> int:
    return sum(data) & 0xFFFF


def _frame_size(buffer: bytes, i: int) -> int:
    """Total length announced by a ``42 4D`` frame (NOT_A_FRAME when implausible)."""
    if len(buffer) - i < 4:
        return framing.NEED_MORE
    size = int.from_bytes(buffer[i + 2 : i + 4], "big") + 4
    return size if ACK_LEN <= size <= MAX_LEN and size % 2 == 0 else framing.NOT_A_FRAME


def _sum_ok(cand: bytes) -> bool:
    return _sum16(cand[:-2]) == int.from_bytes(cand[-2:], "big")


def split_frame(buffer: bytes) -> tuple[bytes | None, int]:
    """Find the first frame (data of any model, or ack) with a valid checksum; see the package
    contract. Frames of unknown length are returned too, so that :func:`decode` can name them."""
    return framing.scan(buffer, sync=HEAD, size=_frame_size, valid=_sum_ok)


def _check(frame: bytes, who: str = "PMS") -> None:
    if len(frame) < 4:
        raise IncompleteFrameError(f"{who} frame too short: {len(frame)} bytes")
    if frame[:2] != HEAD:
        raise FrameFormatError(f"{who} bad header 0x{frame[:2].hex().upper()}, expected 0x424D")
    length = int.from_bytes(frame[2:4], "big")
    if length not in (DATA_LEN - 4, ST_DATA_LEN - 4, ACK_LEN - 4):
        seen = KNOWN_LENGTHS.get(length + 4, "an unknown Plantower variant")
        raise FrameFormatError(
            f"{who} bad frame length field {length} ({length + 4}-byte frames: {seen}), "
            "expected 28 (PMS5003/PMS7003/PMS5003T), 36 (PMS5003ST) or 4 (ack)"
        )
    size = length + 4
    if len(frame) < size:
        raise IncompleteFrameError(f"{who} frame too short: {len(frame)} bytes, expected {size}")
    if len(frame) > size:
        raise FrameFormatError(f"{who} frame too long: {len(frame)} bytes, expected {size}")
    got, expected = int.from_bytes(frame[-2:], "big"), _sum16(frame[:-2])
    if got != expected:
        raise ChecksumError(f"{who} bad checksum 0x{got:04X}, expected 0x{expected:04X}")


def decode(frame: bytes, sensor: str = "pms5003") -> Sample:
    """A data frame -> Sample (µg/m³ for PM, #/cm³ for counts, °C, %, µg/m³ for CH₂O).

    Args:
        frame: the frame as returned by :func:`split_frame`.
        sensor: the registry name stamped on the sample, whose layout is read (``pms5003``,
            ``pms7003``, ``pms5003t`` or ``pms5003st``): a PMS5003T frame has the length of a
            PMS5003 frame, only the configuration can tell them apart.

    Raises:
        IncompleteFrameError, FrameFormatError, ChecksumError: the frame is not a valid data
            frame of that model (an ack, or a frame of another length, raises
            FrameFormatError naming the length seen).
    """
    frame = bytes(frame)
    who = sensor.upper()
    layout = LAYOUTS.get(sensor)
    if layout is None:
        raise FrameFormatError(f"unknown Plantower model {sensor!r}; known: {', '.join(LAYOUTS)}")
    _check(frame, who)
    if len(frame) == ACK_LEN:
        raise FrameFormatError(
            f"{who} frame is an ack (command 0x{frame[4]:02X}), not a measurement"
        )
    if len(frame) != layout.length:
        seen = KNOWN_LENGTHS.get(len(frame), "an unknown Plantower variant")
        raise FrameFormatError(
            f"{who} sends {layout.length}-byte frames (length field {layout.length - 4}); got a "
            f"{len(frame)}-byte frame (length field {len(frame) - 4}) as {seen} sends: "
            "check the configured sensor type"
        )
    words = [int.from_bytes(frame[k : k + 2], "big") for k in range(4, len(frame) - 2, 2)]
    particles = words[: 6 + layout.counts]
    values: dict[str, float] = dict(zip(PM_FIELDS, map(float, particles[:6]), strict=True))
    values.update(zip(COUNT_FIELDS, (w / 100 for w in particles[6:]), strict=False))
    extra = dict(zip(layout.extra, words[6 + layout.counts :], strict=True))
    if "hcho" in extra:
        values["ch2o"] = float(extra["hcho"])  # 0.001 mg/m³ = 1 µg/m³
    if "temp" in extra:
        temp = extra["temp"] - 0x10000 if extra["temp"] & 0x8000 else extra["temp"]
        values["temperature"] = temp / 10
        values["humidity"] = extra["rh"] / 10
    meta: dict[str, object] = {"reserved": extra["reserved"].to_bytes(2, "big").hex()}
    if "version" in extra:
        meta["version"], meta["error_code"] = divmod(extra["version"], 256)
    flags = ("warmup",) if not any(particles) else ()
    return Sample(sensor, values, flags, meta=meta)


@dataclass(frozen=True, slots=True)
class Ack:
    """The 8-byte acknowledgement of a passive-mode or sleep command."""

    command: int
    data: int


def parse_ack(frame: bytes) -> Ack:
    """An 8-byte ack frame -> Ack. Raises DecodeError subclasses like :func:`decode`."""
    frame = bytes(frame)
    _check(frame)
    if len(frame) != ACK_LEN:
        raise FrameFormatError("PMS frame is a measurement, not an ack")
    return Ack(frame[4], frame[5])


def with_sum(body: bytes) -> bytes:
    return body + _sum16(body).to_bytes(2, "big")


def encode_data(
    pm_cf1: tuple[int, int, int],
    pm_atm: tuple[int, int, int],
    counts: tuple[int, int, int, int, int, int],
    reserved: bytes = b"\x97\x00",
) -> bytes:
    """Build the data frame a sensor would send (virtual sensors and tests).

    Counts are per 0.1 L, as on the wire. Values are clamped to 0..65535.
    """
    words = (*pm_cf1, *pm_atm, *counts)
    body = b"".join(max(0, min(0xFFFF, int(w))).to_bytes(2, "big") for w in words)
    return with_sum(HEAD + b"\x00\x1c" + body + reserved[:2].ljust(2, b"\0"))


def encode_words(words: tuple[int, ...]) -> bytes:
    """A data frame carrying ``words`` (every word after the length field, raw wire units; a
    negative word is written as a signed temperature). Length and checksum are computed."""
    body = b"".join((max(-0x8000, min(0xFFFF, int(w))) & 0xFFFF).to_bytes(2, "big") for w in words)
    return with_sum(HEAD + (len(body) + 2).to_bytes(2, "big") + body)


def encode_t_data(
    pm_cf1: tuple[int, int, int],
    pm_atm: tuple[int, int, int],
    counts: tuple[int, int, int, int],
    temperature: float,
    humidity: float,
) -> bytes:
    """A PMS5003T data frame: 4 size bins, then temperature and humidity ×10 (tests, virtual
    sensors)."""
    return encode_words(
        (*pm_cf1, *pm_atm, *counts, round(temperature * 10), round(humidity * 10), 0)
    )


def encode_st_data(
    pm_cf1: tuple[int, int, int],
    pm_atm: tuple[int, int, int],
    counts: tuple[int, int, int, int, int, int],
    hcho_ugm3: int,
    temperature: float,
    humidity: float,
) -> bytes:
    """A PMS5003ST data frame (40 bytes): counts, HCHO, temperature, humidity."""
    extra = (hcho_ugm3, round(temperature * 10), round(humidity * 10), 0, 0)
    return encode_words((*pm_cf1, *pm_atm, *counts, *extra))


def encode_ack(command: int, data: int = 0) -> bytes:
    return with_sum(HEAD + b"\x00\x04" + bytes([command, data]))


def _command_ok(cand: bytes) -> bool:
    return cand[1] == HEAD[1] and cand[2] in COMMANDS and _sum_ok(cand)


def split_command(buffer: bytes) -> tuple[bytes | None, int]:
    """Like :func:`split_frame`, for the host -> sensor direction (virtual sensors)."""
    return framing.scan(buffer, sync=HEAD[:1], size=COMMAND_LEN, valid=_command_ok)


def parse_command(frame: bytes) -> tuple[int, int]:
    """A 7-byte host command -> (cmd, data)."""
    frame = bytes(frame)
    if len(frame) != COMMAND_LEN or frame[:2] != HEAD:
        raise FrameFormatError("PMS command frame must be 7 bytes 42 4D …")
    if _sum16(frame[:5]) != int.from_bytes(frame[5:], "big"):
        raise ChecksumError("PMS command frame has a bad checksum")
    return frame[2], int.from_bytes(frame[3:5], "big")
