"""I2C sensors: the register protocol of the BME280 and the ADS1115 (B43F) against register-level
simulations of the chips (no I2C bus exists in CI), and the gateway's I2C runner."""

from __future__ import annotations

import logging
import struct

import pytest

from airq_core.protocols import b43f, bme280
from gateway.config import GatewayConfig, GatewayConfigError
from gateway.i2c import Ads1115Device, B43fReader, Bme280Device, I2CError, LinuxI2CBus
from gateway.service import Gateway
from tests.helpers import ThreadRunner, wait_until

# Bosch datasheet example (BMP280 §3.12): 25.08 °C and 100653.27 Pa
T = (27504, 26435, -1000)
P = (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
ADC_T, ADC_P, ADC_H = 519888, 415148, 30000
H = (75, 362, 0, 310, 50, 30)  # h1..h6 of a typical chip


class SimBus:
    """Register maps per address; writes are [register, value…], reads start at a register."""

    def __init__(self) -> None:
        self.devices: dict[int, object] = {}
        self.log: list[tuple[int, bytes]] = []

    def write(self, address: int, data: bytes) -> None:
        self.log.append((address, bytes(data)))
        self._dev(address).write(data[0], data[1:])

    def read_register(self, address: int, register: int, length: int) -> bytes:
        return self._dev(address).read(register, length)

    def _dev(self, address: int):  # type: ignore[no-untyped-def]
        try:
            return self.devices[address]
        except KeyError:
            raise I2CError(f"no answer from the device at 0x{address:02X}") from None


class SimBme280:
    def __init__(self, chip_id: int = 0x60) -> None:
        self.regs = bytearray(256)
        self.regs[0xD0] = chip_id
        block1 = struct.pack("<HhhHhhhhhhhh", *T, *P) + bytes([0, H[0]])
        self.regs[0x88 : 0x88 + 26] = block1
        h4, h5 = H[3], H[4]
        block2 = (
            struct.pack("<hB", H[1], H[2])
            + bytes([h4 >> 4, (h4 & 0x0F) | ((h5 & 0x0F) << 4), h5 >> 4])
            + struct.pack("<b", H[5])
        )
        self.regs[0xE1 : 0xE1 + 7] = block2
        self.measuring = 0
        self.forced = 0

    def write(self, register: int, data: bytes) -> None:
        self.regs[register : register + len(data)] = data
        if register == 0xF4 and data[0] & 0x03 == 0x01:  # forced mode: measure once
            self.forced += 1
            self.measuring = 2
            raw = bytes(
                [
                    ADC_P >> 12,
                    (ADC_P >> 4) & 0xFF,
                    (ADC_P & 0xF) << 4,
                    ADC_T >> 12,
                    (ADC_T >> 4) & 0xFF,
                    (ADC_T & 0xF) << 4,
                    ADC_H >> 8,
                    ADC_H & 0xFF,
                ]
            )
            self.regs[0xF7 : 0xF7 + 8] = raw

    def read(self, register: int, length: int) -> bytes:
        if register == 0xF3:
            busy = 0x08 if self.measuring else 0
            self.measuring = max(0, self.measuring - 1)
            return bytes([busy])
        return bytes(self.regs[register : register + length])


ADS_FULL_SCALE = {0: 6.144, 1: 4.096, 2: 2.048, 3: 1.024, 4: 0.512, 5: 0.256}


class SimAds1115:
    def __init__(self, inputs_mv: dict[int, float]) -> None:
        self.inputs_mv = inputs_mv
        self.config = 0x8583
        self.result = 0
        self.busy = 0
        self.conversions: list[int] = []

    def write(self, register: int, data: bytes) -> None:
        assert register == 0x01
        self.config = int.from_bytes(data[:2], "big")
        mux, pga = (self.config >> 12) & 0x7, (self.config >> 9) & 0x7
        assert mux >= 0b100, "single-ended inputs only"
        channel = mux - 0b100
        self.conversions.append(channel)
        counts = round(self.inputs_mv[channel] / 1000 / ADS_FULL_SCALE[pga] * 0x8000)
        self.result = max(-0x8000, min(0x7FFF, counts))
        self.busy = 1

    def read(self, register: int, length: int) -> bytes:
        if register == 0x01:
            os_bit = 0 if self.busy else 0x8000
            self.busy = max(0, self.busy - 1)
            return ((self.config & 0x7FFF) | os_bit).to_bytes(2, "big")
        return self.result.to_bytes(2, "big", signed=True)


def _expected_bme() -> dict[str, float]:
    cal = bme280.Calibration(*T, *P, *H)
    return bme280.convert(cal, ADC_T, ADC_P, ADC_H).values


def test_bme280_over_i2c_reads_the_datasheet_example() -> None:
    bus = SimBus()
    chip = SimBme280()
    bus.devices[0x76] = chip
    dev = Bme280Device(bus, 0x76)
    dev.setup()
    sample = dev.read()
    assert sample.sensor == "bme280"
    assert sample.values["temperature"] == pytest.approx(25.08, abs=0.01)
    assert sample.values["pressure"] == pytest.approx(1006.5327, abs=0.001)
    assert sample.values == _expected_bme()
    assert chip.forced == 1 and (0x76, bytes([0xF2, 0x01])) in bus.log


def test_bmp280_has_no_humidity_and_wrong_chip_is_refused() -> None:
    bus = SimBus()
    bus.devices[0x77] = SimBme280(chip_id=0x58)
    dev = Bme280Device(bus, 0x77)
    dev.setup()
    sample = dev.read()
    assert sample.sensor == "bmp280" and "humidity" not in sample.values
    bus.devices[0x76] = SimBme280(chip_id=0x55)
    with pytest.raises(I2CError, match="not a BME280"):
        Bme280Device(bus, 0x76).setup()


def test_b43f_through_the_ads1115_matches_the_worked_example() -> None:
    bus = SimBus()
    adc = SimAds1115({0: 230.0, 1: 232.0})  # WEu, AEu in mV (sensors.md §3.8 example)
    bus.devices[0x48] = adc
    sheet = b43f.CalibrationSheet(we_e=227.0, ae_e=230.0, we_0=230.0, ae_0=232.0, sensitivity=0.20)
    sample = B43fReader(Ads1115Device(bus, 0x48), sheet, gain=2).read(temperature=20.0)
    assert adc.conversions == [0, 1]
    # WEc = 3 - 0.6 * 2 = 1.8 mV -> 9 ppb -> 17.2 µg/m³ (ADS1115 steps of 62.5 µV at ±2.048 V)
    assert sample.values["no2"] == pytest.approx(17.2, abs=0.2)


def test_missing_bus_says_how_to_enable_i2c() -> None:
    with pytest.raises(I2CError, match="raspi-config"):
        LinuxI2CBus(97)


def test_bad_i2c_config_names_the_key() -> None:
    with pytest.raises(GatewayConfigError, match=r"i2c\.0\.sensitivity"):
        GatewayConfig.from_dict(
            {
                "station": "lens-01",
                "mqtt": {"url": "mqtt://a:b@h:1"},
                "i2c": [{"type": "b43f", "we_e": 1, "ae_e": 1, "we_0": 1, "ae_0": 1}],
            }
        )


@pytest.mark.services
def test_gateway_reads_i2c_sensors_and_corrects_no2_with_the_bme280(
    tmp_path, registry, mosquitto, caplog
):
    token = registry.add("lens-i2c", 50.449, 2.839)
    mosquitto.sync()
    cfg = GatewayConfig.from_dict(
        {
            "station": "lens-i2c",
            "state_dir": str(tmp_path / "state"),
            "mqtt": {"url": mosquitto.url("lens-i2c", token)},
            "i2c": [
                {"type": "bme280", "interval": 0.1},
                {
                    "type": "b43f",
                    "interval": 0.1,
                    "gain": 2,
                    "we_e": 227.0,
                    "ae_e": 230.0,
                    "we_0": 230.0,
                    "ae_0": 232.0,
                    "sensitivity": 0.2,
                },
            ],
        }
    )
    bus = SimBus()
    bus.devices[0x76] = SimBme280()
    bus.devices[0x48] = SimAds1115({0: 230.0, 1: 232.0})
    gw = Gateway(cfg)
    gw.i2c_bus_factory = lambda n: bus
    caplog.set_level(logging.INFO, logger="gateway.service")
    runner = ThreadRunner(gw.run, "gateway")
    wait_until(lambda: gw.publisher.published >= 6, what="I2C readings published")
    runner.stop()
    assert [c.state for c in gw.i2c] == ["ok", "ok"]
    receiving = [m for m in caplog.messages if m.endswith("receiving data")]
    assert sorted(receiving) == [  # once each, on the first reading
        "b43f on I2C bus 1: receiving data",
        "bme280 on I2C bus 1: receiving data",
    ]
    # at 25.08 °C the B43F factor nT is 0.5 (interpolated): WEc = 3 - 0.5*2 = 2 mV -> 10 ppb
    assert gw.i2c[1].last_reading["values"]["no2"] == pytest.approx(19.1, abs=0.3)
