"""I2C sensors on a Raspberry Pi: BME280/BMP280 and the Alphasense NO2-B43F read through an
ADS1115. Stdlib only (Linux i2c-dev with an ioctl), so the gateway extras stay pyserial and
paho-mqtt. The register-level logic lives in the device classes; the conversions are the pure
functions of ``airq_core.protocols.bme280`` and ``b43f``.

Enable I2C on the Pi with ``sudo raspi-config`` (Interface Options → I2C) and add the gateway's
user to the ``i2c`` group.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from typing import Protocol

from airq_core.errors import DecodeError
from airq_core.protocols import b43f, bme280
from airq_core.readings import Sample

I2C_SLAVE = 0x0703  # linux/i2c-dev.h


class I2CError(OSError):
    """The bus or the device cannot be used; the message says how to fix it."""


class Bus(Protocol):
    def write(self, address: int, data: bytes) -> None: ...

    def read_register(self, address: int, register: int, length: int) -> bytes: ...


class LinuxI2CBus:
    """``/dev/i2c-N`` through the kernel's i2c-dev interface."""

    def __init__(self, bus: int) -> None:
        self.path = f"/dev/i2c-{bus}"
        try:
            self._fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            raise I2CError(
                f"{self.path} not found: enable I2C (sudo raspi-config → Interface "
                "Options → I2C) and check the bus number"
            ) from None
        except PermissionError:
            raise I2CError(
                f"permission denied on {self.path}: add the user to the i2c group "
                "(sudo usermod -aG i2c $USER), then log out and back in"
            ) from None
        self._current: int | None = None

    def _select(self, address: int) -> None:
        if address != self._current:
            fcntl.ioctl(self._fd, I2C_SLAVE, address)
            self._current = address

    def write(self, address: int, data: bytes) -> None:
        try:
            self._select(address)
            os.write(self._fd, data)
        except OSError as exc:
            raise _device_error(address, exc) from exc

    def read_register(self, address: int, register: int, length: int) -> bytes:
        try:
            self._select(address)
            os.write(self._fd, bytes([register]))
            return os.read(self._fd, length)
        except OSError as exc:
            raise _device_error(address, exc) from exc

    def close(self) -> None:
        os.close(self._fd)


def _device_error(address: int, exc: OSError) -> I2CError:
    if exc.errno in (errno.EREMOTEIO, errno.ENXIO, errno.EIO):
        return I2CError(
            f"no answer from the device at 0x{address:02X}: check the wiring (SDA, "
            "SCL, 3.3 V, GND) and the address (i2cdetect -y 1)"
        )
    return I2CError(f"I2C error at 0x{address:02X}: {exc}")


BOSCH_CHIP_IDS = {0x60: "bme280", 0x58: "bmp280"}


class Bme280Device:
    """Bosch BME280 (or BMP280) in forced mode: one measurement per read, then sleep."""

    def __init__(self, bus: Bus, address: int = 0x76) -> None:
        self.bus = bus
        self.address = address
        self.model = "bme280"
        self.cal: bme280.Calibration | None = None

    def setup(self) -> None:
        chip = self.bus.read_register(self.address, 0xD0, 1)
        if not chip or chip[0] not in BOSCH_CHIP_IDS:
            got = f"0x{chip[0]:02X}" if chip else "nothing"
            raise I2CError(f"device at 0x{self.address:02X} is not a BME280/BMP280 (chip id {got})")
        self.model = BOSCH_CHIP_IDS[chip[0]]
        block1 = self.bus.read_register(self.address, 0x88, bme280.CALIB1_LEN)
        block2 = (
            self.bus.read_register(self.address, 0xE1, bme280.CALIB2_LEN)
            if self.model == "bme280"
            else b""
        )
        self.cal = bme280.parse_calibration(block1, block2)
        if self.model == "bme280":
            self.bus.write(self.address, bytes([0xF2, 0x01]))  # humidity oversampling ×1

    def read(self, timeout: float = 0.2) -> Sample:
        if self.cal is None:
            self.setup()
        assert self.cal is not None
        # temperature ×1, pressure ×1, forced mode: the chip measures once then sleeps
        self.bus.write(self.address, bytes([0xF4, 0x25]))
        deadline = time.monotonic() + timeout
        while self.bus.read_register(self.address, 0xF3, 1)[0] & 0x08:  # measuring
            if time.monotonic() > deadline:
                raise DecodeError("BME280 measurement did not finish in time")
            time.sleep(0.002)
        raw = self.bus.read_register(self.address, 0xF7, bme280.RAW_LEN)
        adc_p, adc_t, adc_h = bme280.parse_raw(raw)
        return bme280.convert(
            self.cal, adc_t, adc_p, adc_h if self.model == "bme280" else None, sensor=self.model
        )


PGA_CODES = {2 / 3: 0, 1: 1, 2: 2, 4: 3, 8: 4, 16: 5}


class Ads1115Device:
    """TI ADS1115, single-shot conversions on single-ended inputs AIN0..AIN3."""

    def __init__(self, bus: Bus, address: int = 0x48) -> None:
        self.bus = bus
        self.address = address

    def read_millivolts(self, channel: int, gain: float = 4, timeout: float = 0.1) -> float:
        if channel not in (0, 1, 2, 3):
            raise ValueError(f"ADS1115 channel must be 0-3, got {channel}")
        if gain not in PGA_CODES:
            raise ValueError(f"ADS1115 gain must be one of 2/3, 1, 2, 4, 8, 16; got {gain!r}")
        config = (
            (1 << 15)  # start a single conversion
            | ((0b100 + channel) << 12)  # AINx against GND
            | (PGA_CODES[gain] << 9)
            | (1 << 8)  # single-shot mode
            | (0b100 << 5)  # 128 samples/s
            | 0b11  # comparator off
        )
        self.bus.write(self.address, bytes([0x01, config >> 8, config & 0xFF]))
        deadline = time.monotonic() + timeout
        while not self.bus.read_register(self.address, 0x01, 2)[0] & 0x80:  # converting
            if time.monotonic() > deadline:
                raise DecodeError("ADS1115 conversion did not finish in time")
            time.sleep(0.001)
        raw = self.bus.read_register(self.address, 0x00, 2)
        if len(raw) < 2:
            raise DecodeError("ADS1115 returned a short conversion result")
        return b43f.ads1115_millivolts(int.from_bytes(raw[:2], "big", signed=True), gain)


class B43fReader:
    """NO2-B43F on its ISB: WE and AE voltages through an ADS1115, corrected for temperature
    with the calibration sheet (Alphasense AAN 803-05 algorithms)."""

    def __init__(
        self,
        adc: Ads1115Device,
        sheet: b43f.CalibrationSheet,
        we_channel: int = 0,
        ae_channel: int = 1,
        gain: float = 2,
        algorithm: int = 1,
    ) -> None:
        self.adc = adc
        self.sheet = sheet
        self.we_channel, self.ae_channel = we_channel, ae_channel
        self.gain = gain
        self.algorithm = algorithm

    def read(self, temperature: float) -> Sample:
        we = self.adc.read_millivolts(self.we_channel, self.gain)
        ae = self.adc.read_millivolts(self.ae_channel, self.gain)
        return b43f.convert(we, ae, temperature, self.sheet, self.algorithm)
