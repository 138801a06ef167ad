"""Every host command, byte for byte, against the worked frames of the sensor reference
(/work/shared/reference/sensors.md, section 3). Commands the reference gives no frame for are
checked against a frame written from its register table, with an independent CRC."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType

import pytest

from airq_core.protocols.commands import (
    mhz19,
    modbus,
    plantower,
    rd200m,
    scd30,
    sds011,
    senseair_s8,
    sps30,
    zphs01b,
)

MODULES = (mhz19, modbus, plantower, rd200m, scd30, sds011, senseair_s8, sps30, zphs01b)


def _sds(cmd_d1_d2: str, cs: str) -> str:
    """An SDS011 command as the reference writes it: ``AA B4 cmd d1 d2 … FF FF cs AB``."""
    return f"AA B4 {cmd_d1_d2} {'00 ' * 10}FF FF {cs} AB"


def _crc_bitwise(data: bytes) -> bytes:
    """CRC-16/MODBUS as the reference describes it (§3.4), bit by bit, low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def _modbus(request: str) -> str:
    """A Modbus request written from the register table, with its CRC."""
    body = bytes.fromhex(request)
    return (body + _crc_bitwise(body)).hex(" ")


# (module, builder name, arguments, expected frame, where the frame comes from)
CASES: list[tuple[ModuleType, str, tuple[object, ...], str, str]] = [
    # §3.1 SDS011 table
    (sds011, "set_query_mode", (), _sds("02 01 01", "02"), "§3.1"),
    (sds011, "set_active_mode", (), _sds("02 01 00", "01"), "§3.1"),
    (sds011, "query", (), _sds("04 00 00", "02"), "§3.1"),
    (sds011, "sleep", (), _sds("06 01 00", "05"), "§3.1"),
    (sds011, "work", (), _sds("06 01 01", "06"), "§3.1"),
    (sds011, "working_period", (0,), _sds("08 01 00", "07"), "§3.1"),
    (sds011, "working_period", (5,), _sds("08 01 05", "0C"), "§3.1"),
    (sds011, "firmware", (), _sds("07 00 00", "05"), "§3.1"),
    (sds011, "command", (0x02, 0, 0), _sds("02 00 00", "00"), "§3.1 get reporting mode"),
    # §3.2 Plantower command table
    (plantower, "passive", (), "42 4D E1 00 00 01 70", "§3.2"),
    (plantower, "active", (), "42 4D E1 00 01 01 71", "§3.2"),
    (plantower, "read", (), "42 4D E2 00 00 01 71", "§3.2"),
    (plantower, "sleep", (), "42 4D E4 00 00 01 73", "§3.2"),
    (plantower, "wake", (), "42 4D E4 00 01 01 74", "§3.2"),
    (plantower, "command", (0xE1, 1), "42 4D E1 00 01 01 71", "§3.2"),
    # §3.3 MH-Z19B
    (mhz19, "read", (), "FF 01 86 00 00 00 00 00 79", "§3.3"),
    (mhz19, "abc_on", (), "FF 01 79 A0 00 00 00 00 E6", "§3.3"),
    (mhz19, "abc_off", (), "FF 01 79 00 00 00 00 00 86", "§3.3"),
    (mhz19, "zero_calibration", (), "FF 01 87 00 00 00 00 00 78", "§3.3"),
    (mhz19, "detection_range", (2000,), "FF 01 99 00 00 00 07 D0 8F", "§3.3"),
    (mhz19, "detection_range", (5000,), "FF 01 99 00 00 00 13 88 CB", "§3.3"),
    (mhz19, "detection_range", (10000,), "FF 01 99 00 00 00 27 10 2F", "§3.3"),
    (mhz19, "command", (0x86,), "FF 01 86 00 00 00 00 00 79", "§3.3"),
    # §3.8(b) ZPHS01B: the MH-Z19B read request
    (zphs01b, "read", (), "FF 01 86 00 00 00 00 00 79", "§3.8(b)"),
    # §3.4 Senseair S8
    (senseair_s8, "read_co2", (), "FE 04 00 03 00 01 D5 C5", "§3.4"),
    (senseair_s8, "read_status", (), "FE 04 00 00 00 04 E5 C6", "§3.4"),
    (senseair_s8, "read_abc_period", (), "FE 03 00 1F 00 01 A1 C3", "§3.4"),
    (senseair_s8, "disable_abc", (), "FE 06 00 1F 00 00 AC 03", "§3.4"),
    (senseair_s8, "set_abc_period", (0,), "FE 06 00 1F 00 00 AC 03", "§3.4"),
    (senseair_s8, "set_abc_period", (180,), _modbus("FE 06 00 1F 00 B4"), "§3.4 HR32"),
    (senseair_s8, "read_ack", (), _modbus("FE 03 00 00 00 01"), "§3.4 HR1"),
    (senseair_s8, "clear_ack", (), _modbus("FE 06 00 00 00 00"), "§3.4 HR1"),
    (senseair_s8, "background_calibration", (), _modbus("FE 06 00 01 7C 06"), "§3.4 HR2"),
    (senseair_s8, "zero_calibration", (), _modbus("FE 06 00 01 7C 07"), "§3.4 HR2"),
    # §3.5 SCD30
    (scd30, "start", (), "61 06 00 36 00 00 60 64", "§3.5"),
    (scd30, "data_ready", (), "61 03 00 27 00 01 3D A1", "§3.5"),
    (scd30, "read", (), "61 03 00 28 00 06 4C 60", "§3.5"),
    (scd30, "start", (1013,), _modbus("61 06 00 36 03 F5"), "§3.5 0x0036"),
    (scd30, "stop", (), _modbus("61 06 00 37 00 01"), "§3.5 0x0037"),
    (scd30, "set_interval", (2,), _modbus("61 06 00 25 00 02"), "§3.5 0x0025"),
    (scd30, "asc", (True,), _modbus("61 06 00 3A 00 01"), "§3.5 0x003A"),
    (scd30, "asc", (False,), _modbus("61 06 00 3A 00 00"), "§3.5 0x003A"),
    # generic Modbus requests, on the S8 frames of §3.4
    (modbus, "read_input_registers", (0xFE, 3, 1), "FE 04 00 03 00 01 D5 C5", "§3.4"),
    (modbus, "read_holding_registers", (0xFE, 0x1F, 1), "FE 03 00 1F 00 01 A1 C3", "§3.4"),
    (modbus, "write_single_register", (0xFE, 0x1F, 0), "FE 06 00 1F 00 00 AC 03", "§3.4"),
    # §3.6 SPS30
    (sps30, "start", (), "7E 00 00 02 01 03 F9 7E", "§3.6"),
    (sps30, "start", (True,), "7E 00 00 02 01 05 F7 7E", "§3.6"),
    (sps30, "stop", (), "7E 00 01 00 FE 7E", "§3.6"),
    (sps30, "read", (), "7E 00 03 00 FC 7E", "§3.6"),
    (sps30, "sleep", (), "7E 00 10 00 EF 7E", "§3.6"),
    (sps30, "wake", (), "7E 00 7D 31 00 EE 7E", "§3.6 (stuffed 0x11)"),
    (sps30, "fan_cleaning", (), "7E 00 56 00 A9 7E", "§3.6"),
    (sps30, "device_info", (), "7E 00 D0 01 03 2B 7E", "§3.6"),
    (sps30, "reset", (), "7E 00 D3 00 2C 7E", "§3.6"),
    (sps30, "command", (0x03,), "7E 00 03 00 FC 7E", "§3.6"),
    # §3.7 RD200M
    (rd200m, "read", (), "02 01 00 FE", "§3.7"),
    (rd200m, "reset", (), "02 A0 00 5F", "§3.7"),
    (rd200m, "set_period", (10,), "02 A1 01 0A 53", "§3.7"),
    (rd200m, "command", (0x01,), "02 01 00 FE", "§3.7"),
]


@pytest.mark.parametrize(
    ("module", "name", "args", "expected", "source"),
    CASES,
    ids=[f"{m.__name__.rsplit('.', 1)[1]}.{n}{a or ''}" for m, n, a, _, _ in CASES],
)
def test_command_bytes_match_the_reference(
    module: ModuleType, name: str, args: tuple[object, ...], expected: str, source: str
) -> None:
    builder: Callable[..., bytes] = getattr(module, name)
    assert builder(*args) == bytes.fromhex(expected), source


def test_every_command_builder_is_checked_byte_for_byte() -> None:
    checked = {(m.__name__, n) for m, n, *_ in CASES}
    builders = {
        (m.__name__, name)
        for m in MODULES
        for name in m.__all__
        if inspect.isfunction(getattr(m, name))
    }
    assert builders - checked == set()


def test_sps30_wake_pulse_is_one_ff_byte() -> None:
    assert sps30.WAKE_PULSE == b"\xff"  # §3.6: "send a single FF byte first"


@pytest.mark.parametrize(
    ("builder", "arg"),
    [
        (sds011.working_period, 31),
        (mhz19.detection_range, 3000),
        (rd200m.set_period, 0),
        (rd200m.set_period, 256),
        (scd30.start, 500),
        (scd30.set_interval, 1),
        (senseair_s8.set_abc_period, 4801),
        (senseair_s8.set_abc_period, -1),
    ],
)
def test_command_builders_refuse_values_the_sensor_would_refuse(
    builder: Callable[[int], bytes], arg: int
) -> None:
    with pytest.raises(ValueError):
        builder(arg)
