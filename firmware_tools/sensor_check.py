"""Is this sensor working? Read it on its serial port, decode with the shared protocol modules,
and give a plain-language verdict; or record its frames as test data.

I/O: :class:`SensorLink` (open, wake/poll, read frames). Pure: :func:`judge` (the verdict) and
:func:`format_capture_line` / :func:`parse_capture` (the capture file format).

Capture file (text, UTF-8)::

    # airq sensor capture: sensor=sds011 port=/dev/ttyUSB0 started=2026-05-09T10:00:00Z
    2026-05-09T10:00:01.021Z AA C0 5A 00 A0 00 58 D9 CB AB

one valid frame per line (``--raw``: every chunk as read, garbage included), RFC 3339 UTC time
then the bytes in hex. ``airq decode SENSOR --stream --hex-stream`` reads the hex back once the
times are cut (``cut -d' ' -f2-``), and :func:`parse_capture` reads the whole file.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from airq_core.errors import DecodeError
from airq_core.i18n import lang
from airq_core.protocols import FrameStream
from airq_core.quantities import QUANTITIES
from airq_core.readings import Sample, format_time, parse_time
from airq_core.sensors import SENSORS
from firmware_tools.errors import WorkshopError
from firmware_tools.i18n import number, t

__all__ = [
    "HUMIDITY_LIMIT_PM",
    "POLLING",
    "CheckStats",
    "Polling",
    "SensorLink",
    "Verdict",
    "describe_sample",
    "format_capture_line",
    "judge",
    "parse_capture",
]

HUMIDITY_LIMIT_PM = 70.0  # % RH: SDS011 datasheet limit; optical PM over-reads above it
PM_QUANTITIES = ("pm1", "pm2_5", "pm4", "pm10")
CO2_MIN_PLAUSIBLE = 250.0  # ppm: outdoor air is ~420; much lower means a bad sensor/calibration


@dataclass(frozen=True, slots=True)
class Polling:
    """Commands that make a sensor talk: ``start`` once after opening, ``poll`` every
    ``period`` seconds (``None`` when the sensor streams on its own)."""

    start: tuple[bytes, ...] = ()
    poll: bytes | None = None
    period: float = 1.0


def _sds011(c: ModuleType) -> Polling:
    # works in both reporting modes, and wakes a sensor a gateway left asleep
    return Polling((c.work(),), c.query())


def _plantower(c: ModuleType) -> Polling:
    return Polling((c.wake(),), c.read())


def _sps30(c: ModuleType) -> Polling:
    return Polling((c.WAKE_PULSE + c.wake(), c.start()), c.read())


def _read_only(name: str) -> Callable[[ModuleType], Polling]:
    return lambda c: Polling((), getattr(c, name)())


def _scd30(c: ModuleType) -> Polling:
    return Polling((c.start(),), c.read(), period=2.0)


POLLING: dict[str, Callable[[ModuleType], Polling]] = {
    "sds011": _sds011,
    "pms5003": _plantower,
    "pms7003": _plantower,
    "sps30": _sps30,
    "mhz19b": _read_only("read"),
    "senseair_s8": _read_only("read_co2"),
    "scd30": _scd30,
    "rd200m": _read_only("read"),
    "zphs01b": _read_only("read"),
}


def _protocol(sensor: str) -> ModuleType:
    model = SENSORS.get(sensor)
    if model is None:
        raise WorkshopError("unknown_sensor", sensor=sensor, known=", ".join(sorted(SENSORS)))
    if model.protocol is None:
        serial = ", ".join(sorted(k for k, m in SENSORS.items() if m.protocol is not None))
        raise WorkshopError("not_serial_sensor", sensor=sensor, known=serial)
    return model.protocol


@dataclass
class CheckStats:
    """What came out of the port during a check."""

    bytes_in: int = 0
    frames: int = 0
    other_frames: int = 0  # valid frames that are not measurements (command replies, acks)
    skipped_bytes: int = 0  # bytes that formed no valid frame (garbage, bad checksums)
    samples: list[tuple[float, Sample]] = field(default_factory=list)


class SensorLink:
    """An open serial link to one sensor, that polls it and yields its frames."""

    def __init__(self, port: str, sensor: str, poll: bool = True) -> None:
        import serial

        from firmware_tools.flashing.ports import check_port_access

        self.sensor = sensor
        self.protocol = _protocol(sensor)
        factory = POLLING.get(sensor)
        commands = SENSORS[sensor].commands
        self.polling = factory(commands) if (factory and commands and poll) else Polling()
        self.stream = FrameStream(self.protocol)
        self.stats = CheckStats()
        self._decode = self._decoder()
        check_port_access(port)
        self.port = port
        self._serial = serial.Serial(port, self.protocol.BAUDRATE, timeout=0.1)
        self._next_poll = 0.0
        for command in self.polling.start:
            self._write(command)

    def _decoder(self) -> Callable[[bytes], Sample]:
        decode: Callable[..., Sample] = self.protocol.decode  # some take the sensor's name
        if "sensor" in inspect.signature(decode).parameters:
            return lambda frame: decode(frame, sensor=self.sensor)
        return decode

    def _write(self, data: bytes) -> None:
        import serial

        try:
            self._serial.write(data)
        except (serial.SerialException, OSError):
            raise WorkshopError("port_lost", port=self.port) from None

    def close(self) -> None:
        self._serial.close()

    def __enter__(self) -> SensorLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self) -> tuple[bytes, list[bytes]]:
        """Poll when due, read what arrived within ~0.1 s: (raw bytes, complete frames)."""
        import serial

        now = time.monotonic()
        if self.polling.poll is not None and now >= self._next_poll:
            self._write(self.polling.poll)
            self._next_poll = now + self.polling.period
        try:
            data = self._serial.read(512)
        except (serial.SerialException, OSError):
            raise WorkshopError("port_lost", port=self.port) from None
        self.stats.bytes_in += len(data)
        frames = self.stream.feed(data) if data else []
        self.stats.frames += len(frames)
        self.stats.skipped_bytes = self.stream.skipped_bytes
        return data, frames

    def samples(
        self, duration: float, stop: Callable[[], bool] = lambda: False
    ) -> Iterator[Sample]:
        """Decoded measurements for ``duration`` seconds (or until ``stop()``)."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline and not stop():
            _, frames = self.read()
            for frame in frames:
                try:
                    sample = self._decode(frame)
                except DecodeError:
                    self.stats.other_frames += 1
                    continue
                self.stats.samples.append((time.time(), sample))
                yield sample
                if stop():
                    return


@dataclass(frozen=True, slots=True)
class Verdict:
    code: str  # ok, warming_up, no_data, unreadable, implausible, humid
    message: str

    @property
    def working(self) -> bool:
        return self.code in ("ok", "humid")


def _fmt(value: float) -> str:
    return number(value, 1 if abs(value) < 1000 else 0)


def _implausible(samples: list[Sample]) -> str | None:
    for s in samples:
        for q, v in s.values.items():
            spec = QUANTITIES.get(q)
            if v != v:
                return f"{q} = NaN"
            if spec is not None and not (spec.plausible[0] <= v <= spec.plausible[1]):
                return f"{q} = {_fmt(v)} {spec.unit}"
        pm25, pm10 = s.values.get("pm2_5"), s.values.get("pm10")
        if pm25 is not None and pm10 is not None and pm25 > pm10 + 1.0:
            return f"PM2,5 {_fmt(pm25)} > PM10 {_fmt(pm10)}"
        co2 = s.values.get("co2")
        if co2 is not None and co2 < CO2_MIN_PLAUSIBLE and "warmup" not in s.flags:
            return f"CO₂ = {_fmt(co2)} ppm"
    pm = [tuple(s.values.get(q) for q in PM_QUANTITIES) for s in samples]
    if len(samples) >= 3 and all(v == pm[0] for v in pm) and any(x is not None for x in pm[0]):
        maxed = [x for x in pm[0] if x is not None and x >= 999.0]
        if maxed:
            return f"PM = {_fmt(maxed[0])} µg/m³"
    return None


def judge(sensor: str, stats: CheckStats, humidity: float | None = None) -> Verdict:
    """The plain-language verdict on a check. Pure.

    ``humidity``: the air's relative humidity (%) from another sensor, if known; a sensor that
    measures humidity itself is used first.
    """
    samples = [s for _, s in stats.samples]
    if stats.bytes_in == 0:
        return Verdict("no_data", t("verdict_no_data", sensor=sensor))
    if not samples:
        if stats.other_frames:
            return Verdict("warming_up", t("verdict_warming_up_silent", sensor=sensor))
        return Verdict("unreadable", t("verdict_unreadable", sensor=sensor, n=stats.bytes_in))
    what = _implausible(samples)
    if what:
        return Verdict("implausible", t("verdict_implausible", what=what))
    last = samples[-1]
    if "warmup" in last.flags:
        return Verdict("warming_up", t("verdict_warming_up", sensor=sensor))
    rh = last.values.get("humidity", humidity)
    measures_pm = any(q in last.values for q in PM_QUANTITIES)
    if measures_pm and rh is not None and rh > HUMIDITY_LIMIT_PM:
        return Verdict("humid", t("verdict_humid", rh=_fmt(rh), limit=f"{HUMIDITY_LIMIT_PM:g}"))
    noisy = t("verdict_noise", n=stats.skipped_bytes) if stats.skipped_bytes else ""
    return Verdict("ok", t("verdict_ok", n=len(samples)) + noisy)


# quantities with a short name in the labels and printed lines (workshop catalogue, "short_<q>")
SHORT_NAMED = ("pm1", "pm2_5", "pm4", "pm10", "co2", "no2", "o3", "ch2o", "co")


def _main_quantities(sample: Sample) -> tuple[str, ...]:
    """Mass concentrations and gases first; particle counts and CF=1 series only if alone."""
    order = {q: k for k, q in enumerate(QUANTITIES)}
    names = sorted(sample.values, key=lambda q: order.get(q, len(order)))
    main = tuple(
        q
        for q in names
        if not q.endswith("_cf1") and (QUANTITIES[q].unit if q in QUANTITIES else "") != "#/cm³"
    )
    return main or tuple(names)


def describe_sample(sample: Sample, quantities: tuple[str, ...] | None = None) -> str:
    """'PM2,5 9,1 µg/m³ · PM10 16,0 µg/m³' (main quantities of the sensor, reader's language)."""
    names = quantities or _main_quantities(sample)
    parts = []
    for q in names:
        if q not in sample.values:
            continue
        spec = QUANTITIES.get(q)
        if q in SHORT_NAMED:
            label = t(f"short_{q}")
        else:
            label = (spec.label_fr if lang() == "fr" else spec.label_en) if spec else q
        unit = spec.unit if spec else ""
        parts.append(f"{label} {_fmt(sample.values[q])} {unit}".rstrip())
    text = " · ".join(parts)
    if "warmup" in sample.flags:
        text += f" ({t('warmup_flag')})"
    return text


def format_capture_line(ts: float, data: bytes) -> str:
    return f"{format_time(ts)} {data.hex(' ').upper()}"


def capture_header(sensor: str, port: str, ts: float, raw: bool) -> str:
    kind = " raw=1" if raw else ""
    return f"# airq sensor capture: sensor={sensor} port={port} started={format_time(ts)}{kind}"


def parse_capture(text: str) -> tuple[dict[str, str], list[tuple[float, bytes]]]:
    """A capture file -> (header fields, [(unix time, bytes)]).

    Raises ValueError naming the bad line.
    """
    header: dict[str, str] = {}
    records: list[tuple[float, bytes]] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            if ":" in line:
                for item in line.split(":", 1)[1].split():
                    key, _, value = item.partition("=")
                    header[key] = value
            continue
        stamp, _, hexdata = line.partition(" ")
        try:
            records.append((parse_time(stamp), bytes.fromhex(hexdata)))
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}") from None
    return header, records


def sample_record(frame: bytes, sample: Sample, source: str) -> dict[str, Any]:
    """A golden test case in the shape of ``tests/data/frames/*.json``."""
    return {
        "source": source,
        "hex": frame.hex(" ").upper(),
        "values": sample.values,
        "flags": list(sample.flags),
    }
