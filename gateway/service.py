"""Gateway wiring: one thread per sensor port, the publisher, and the status file."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airq_core import airrohr, wire
from airq_core.errors import DecodeError, WireFormatError
from airq_core.protocols import b43f
from airq_core.readings import Reading, Sample, format_time
from airq_core.sensors import SENSORS
from gateway import i2c
from gateway.config import (
    I2C_DEFAULT_ADDRESS,
    BoardConfig,
    GatewayConfig,
    I2CConfig,
    SensorConfig,
)
from gateway.drivers import DRIVERS, Driver, SilentSensorError
from gateway.publisher import Publisher
from gateway.serial_link import PortError, SerialLink
from gateway.store import ReadingStore

log = logging.getLogger(__name__)

# Readings stamped before this instant come from a clock that was never set (no NTP yet, no RTC).
RELEASE_EPOCH = 1767225600.0  # 2026-01-01T00:00:00Z
CLOCK_JUMP_S = 600.0


class ClockWatch:
    """Detects a wall clock that is obviously wrong or jumps; such readings get flagged."""

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None  # (wall, monotonic)
        self.suspect = False
        self.reason = ""

    def check(self, wall: float, mono: float) -> bool:
        reason = ""
        if wall < RELEASE_EPOCH:
            reason = f"clock before the software's release ({format_time(wall)})"
        elif self._last is not None:
            drift = (wall - self._last[0]) - (mono - self._last[1])
            if abs(drift) > CLOCK_JUMP_S:
                reason = f"clock jumped by {drift:+.0f} s"
        self._last = (wall, mono)
        if bool(reason) != self.suspect:
            if reason:
                log.error("horloge suspecte / suspicious clock: %s; readings are flagged", reason)
            else:
                log.info("clock looks right again")
        self.suspect = bool(reason)
        self.reason = reason
        return self.suspect


class _SourceThread(threading.Thread):
    """A gateway thread reading one source (a serial sensor, an I2C sensor, a LAN board), with
    what the status file shows of it: ``state`` (starting, ok, …), the ``problem`` in words,
    the readings counted and the last one."""

    def __init__(self, gw: Gateway, name: str, label: str) -> None:
        super().__init__(name=name, daemon=True)
        self.gw = gw
        self.label = label  # the source in log lines: "sds011 on /dev/ttyUSB0"
        self.state = "starting"
        self.problem = ""
        self.readings = 0
        self.last_reading: dict[str, Any] | None = None

    def _set_state(self, state: str, problem: str = "") -> None:
        """Logged once per change: data arriving again, or the new problem."""
        if (state, problem) != (self.state, self.problem):
            if state == "ok":
                log.info("%s: receiving data", self.label)
            elif problem:
                log.warning("%s: %s", self.label, problem)
        self.state, self.problem = state, problem


class SensorRunner(_SourceThread):
    def __init__(self, gw: Gateway, cfg: SensorConfig) -> None:
        super().__init__(
            gw, f"sensor-{cfg.type}-{Path(cfg.port).name}", f"{cfg.type} on {cfg.port}"
        )
        self.cfg = cfg
        model = SENSORS[cfg.type]
        assert model.protocol is not None
        self.link = SerialLink(cfg.port, cfg.baudrate or model.protocol.BAUDRATE, model.protocol)
        self.decode_errors = 0
        self.driver: Driver | None = None

    def _emit(self, sample: Sample) -> None:
        self.readings += 1
        self._set_state("ok")
        self.gw.record(self.cfg, sample)
        self.last_reading = {
            "ts": format_time(time.time()),
            "values": sample.values,
            "flags": list(sample.flags),
        }

    def _rest(self, driver: Driver) -> None:
        """The gateway stops: let the driver put its sensor to sleep (best effort)."""
        try:
            driver.close()
        except (PortError, DecodeError, SilentSensorError) as exc:
            log.debug("could not put %s to rest: %s", self.cfg.type, exc)

    def run(self) -> None:
        backoff = 1.0
        stop = self.gw.stopping
        while not stop.is_set():
            try:
                self.link.open()
            except PortError as exc:
                self._set_state("missing", f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
                stop.wait(backoff)
                backoff = min(backoff * 2, 30)
                continue
            driver = DRIVERS[self.cfg.type](self.cfg, self.link, self._emit, stop.wait)
            self.driver = driver
            try:
                driver.setup()
                backoff = 1.0
                next_at = time.monotonic()
                while not stop.is_set():
                    try:
                        driver.cycle()
                    except DecodeError as exc:
                        self.decode_errors += 1
                        log.debug("decode error on %s: %s", self.cfg.port, exc)
                    next_at += self.cfg.interval
                    delay = next_at - time.monotonic()
                    if delay < 0:
                        next_at = time.monotonic()
                        delay = 0
                    if stop.wait(delay):
                        break
                self._rest(driver)
            except SilentSensorError as exc:
                self._set_state("silent", str(exc) + " — check wiring and 5 V power")
            except PortError as exc:
                self._set_state("lost", f"port lost: {exc}")
            except DecodeError as exc:  # garbage answering a set-up command: try again
                self.decode_errors += 1
                self._set_state("error", f"unreadable answer during set-up: {exc}")
            except Exception:  # noqa: BLE001 - a driver bug must not stop the other sensors
                log.exception("unexpected error with %s on %s", self.cfg.type, self.cfg.port)
                self._set_state("error", "unexpected error, see log")
            finally:
                self.link.close()
            stop.wait(backoff)
            backoff = min(backoff * 2, 30)


class BoardPoller(_SourceThread):
    """Polls a sensor.community (airrohr) board's local /data.json on the LAN, for boards that
    cannot reach the server. The document holds the last measurement and its ``age`` (seconds):
    each measurement is recorded once, stamped at ``now - age``."""

    def __init__(self, gw: Gateway, cfg: BoardConfig) -> None:
        super().__init__(gw, f"board-{cfg.url}", f"board {cfg.url}")
        self.cfg = cfg
        self._last_measured: float | None = None

    def poll_once(self) -> int:
        """Fetch and record one document; returns the number of samples recorded."""
        try:
            with urllib.request.urlopen(self.cfg.url, timeout=self.cfg.timeout) as resp:
                body = resp.read(airrohr.MAX_BODY + 1)
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            self._set_state("unreachable", f"cannot reach the board: {exc}")
            return 0
        try:
            obj = airrohr.parse_body(body, airrohr.MAX_BODY)
            result = airrohr.decode_body(obj)
        except WireFormatError as exc:
            self._set_state("error", f"not an airrohr document: {exc}")
            return 0
        try:
            age = float(obj.get("age", 0))
        except (TypeError, ValueError):
            age = 0.0
        if age < 0 or not result.samples:
            self._set_state("waiting", "the board has no measurement yet")
            return 0
        measured = time.time() - age
        if self._last_measured is not None and abs(measured - self._last_measured) < 5:
            return 0  # the same measurement as last time
        self._last_measured = measured
        for sample in result.samples:
            self.gw.record(None, sample, ts=measured)
        self.readings += len(result.samples)
        self.last_reading = {
            "ts": format_time(measured),
            "values": {s.sensor: s.values for s in result.samples},
        }
        self._set_state("ok")
        return len(result.samples)

    def run(self) -> None:
        while not self.gw.stopping.is_set():
            self.poll_once()
            if self.gw.stopping.wait(self.cfg.interval):
                break


class I2CRunner(_SourceThread):
    """Reads one I2C sensor every ``interval`` seconds (BME280/BMP280, or a NO2-B43F through its
    ADS1115, corrected with the latest temperature the station measured)."""

    TEMPERATURE_MAX_AGE_S = 600.0

    def __init__(self, gw: Gateway, cfg: I2CConfig) -> None:
        super().__init__(gw, f"i2c-{cfg.type}", f"{cfg.type} on I2C bus {cfg.bus}")
        self.cfg = cfg

    def _device(self, bus: i2c.Bus) -> Callable[[], Sample | None]:
        cfg = self.cfg
        address = cfg.address if cfg.address is not None else I2C_DEFAULT_ADDRESS[cfg.type]
        if cfg.type in ("bme280", "bmp280"):
            dev = i2c.Bme280Device(bus, address)
            dev.setup()
            return dev.read
        sheet = b43f.CalibrationSheet(
            cfg.we_e or 0.0,
            cfg.ae_e or 0.0,
            cfg.we_0 or 0.0,
            cfg.ae_0 or 0.0,
            cfg.sensitivity or 0.0,
        )
        reader = i2c.B43fReader(
            i2c.Ads1115Device(bus, address),
            sheet,
            cfg.we_channel,
            cfg.ae_channel,
            cfg.gain,
            cfg.algorithm,
        )

        def read() -> Sample | None:
            temperature = self.gw.recent_temperature(self.TEMPERATURE_MAX_AGE_S)
            if temperature is None:
                temperature = cfg.temperature
            if temperature is None:
                self._set_state(
                    "waiting",
                    "no recent temperature for the NO2 correction: add "
                    "a BME280 or set temperature in [[i2c]]",
                )
                return None
            return reader.read(temperature)

        return read

    def run(self) -> None:
        backoff = 1.0
        stop = self.gw.stopping
        while not stop.is_set():
            try:
                bus = self.gw.i2c_bus_factory(self.cfg.bus)
            except i2c.I2CError as exc:
                self._set_state("missing", str(exc))
                stop.wait(backoff)
                backoff = min(backoff * 2, 60)
                continue
            try:
                read = self._device(bus)
                backoff = 1.0
                while not stop.is_set():
                    try:
                        sample = read()
                    except DecodeError as exc:
                        self._set_state("error", f"unreadable measurement: {exc}")
                        sample = None
                    if sample is not None:
                        self.gw.record(None, sample)
                        self.readings += 1
                        self.last_reading = {
                            "ts": format_time(time.time()),
                            "values": sample.values,
                        }
                        self._set_state("ok")
                    if stop.wait(self.cfg.interval):
                        break
            except i2c.I2CError as exc:
                self._set_state("lost", str(exc))
            finally:
                close = getattr(bus, "close", None)
                if close:
                    close()
            stop.wait(backoff)
            backoff = min(backoff * 2, 60)


class Gateway:
    def __init__(self, cfg: GatewayConfig) -> None:
        self.cfg = cfg
        self.state_dir = cfg.resolved_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = ReadingStore(self.state_dir / "queue.sqlite", int(cfg.queue.max_disk_mb * 1e6))
        self.publisher = Publisher(cfg, self.store)
        self.clock = ClockWatch()
        self.stopping = threading.Event()
        self.runners = [SensorRunner(self, s) for s in cfg.sensors]
        self.boards = [BoardPoller(self, b) for b in cfg.boards]
        self.i2c_bus_factory: Callable[[int], i2c.Bus] = i2c.LinuxI2CBus
        self.i2c = [I2CRunner(self, c) for c in cfg.i2c]
        self._temperature: tuple[float, float] | None = None  # (value, monotonic time)
        self._lock = threading.Lock()

    def record(self, cfg: SensorConfig | None, sample: Sample, ts: float | None = None) -> None:
        wall, mono = time.time(), time.monotonic()
        flags = list(sample.flags)
        if "temperature" in sample.values:
            self._temperature = (sample.values["temperature"], mono)
        with self._lock:
            if self.clock.check(wall, mono):
                flags.append("clock_suspect")
            seq = self.store.next_seq()
            reading = Reading(
                self.cfg.station,
                sample.sensor,
                wall if ts is None else ts,
                dict(sample.values),
                seq,
                tuple(flags),
            )
            self.store.put(wire.encode_reading(reading))

    def recent_temperature(self, max_age_s: float) -> float | None:
        """The station's latest air temperature, when measured less than ``max_age_s`` ago."""
        t = self._temperature
        if t is None or time.monotonic() - t[1] > max_age_s:
            return None
        return t[0]

    def status(self) -> dict[str, Any]:
        return {
            "station": self.cfg.station,
            "updated": format_time(time.time()),
            "pid": os.getpid(),
            "broker": {
                "url": self.publisher.target.redacted(),
                "state": self.publisher.state,
                "refused": self.publisher.refused_reason,
            },
            "queue": {
                "depth": self.store.depth,
                "bytes": self.store.size_bytes,
                "dropped": self.store.dropped,
                "inflight": self.publisher.inflight,
                "published": self.publisher.published,
            },
            "clock": {"suspect": self.clock.suspect, "reason": self.clock.reason},
            "sensors": [
                {
                    "type": r.cfg.type,
                    "port": r.cfg.port,
                    "state": r.state,
                    "problem": r.problem,
                    "readings": r.readings,
                    "decode_errors": r.decode_errors,
                    "withheld": r.driver.dropped if r.driver else 0,
                    "skipped_bytes": r.link.stream.skipped_bytes,
                    "last": r.last_reading,
                }
                for r in self.runners
            ],
            "i2c": [
                {
                    "type": c.cfg.type,
                    "bus": c.cfg.bus,
                    "state": c.state,
                    "problem": c.problem,
                    "readings": c.readings,
                    "last": c.last_reading,
                }
                for c in self.i2c
            ],
            "boards": [
                {
                    "url": b.cfg.url,
                    "state": b.state,
                    "problem": b.problem,
                    "readings": b.readings,
                    "last": b.last_reading,
                }
                for b in self.boards
            ],
        }

    def write_status(self) -> None:
        path = self.state_dir / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.status(), ensure_ascii=False, indent=1))
        os.replace(tmp, path)

    def start(self) -> None:
        self.publisher.start()
        for r in self.runners:
            r.start()
        for b in self.boards:
            b.start()
        for c in self.i2c:
            c.start()

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        self.start()
        try:
            while not stop.wait(2.0):
                self.write_status()
        finally:
            self.close()

    def close(self) -> None:
        self.stopping.set()
        for r in self.runners:
            r.join(timeout=5)
        for b in self.boards:
            b.join(timeout=5)
        for c in self.i2c:
            c.join(timeout=5)
        self.publisher.stop()
        self.write_status()
        self.store.close()
