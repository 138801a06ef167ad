"""Every serial sensor of the registry has a protocol module that honours the contract."""

from __future__ import annotations

import pytest

from airq_core.protocols import b43f, bme280
from airq_core.quantities import QUANTITIES
from airq_core.sensors import SENSORS

SERIAL = sorted(name for name, model in SENSORS.items() if model.protocol is not None)


def test_new_sensor_models_are_registered() -> None:
    expected = {"pms5003", "pms7003", "sps30", "mhz19b", "senseair_s8", "scd30", "rd200m"}
    expected |= {"zphs01b", "b43f", "bme280", "dht22", "sht3x"}
    assert expected <= set(SENSORS)


@pytest.mark.parametrize("name", sorted(SENSORS))
def test_every_registered_quantity_is_in_the_vocabulary(name: str) -> None:
    assert all(q in QUANTITIES for q in SENSORS[name].quantities)


@pytest.mark.parametrize("name", SERIAL)
def test_protocol_modules_expose_the_contract(name: str) -> None:
    protocol = SENSORS[name].protocol
    assert isinstance(protocol.NAME, str)
    assert protocol.BAUDRATE in (9600, 19200, 115200)
    assert callable(protocol.split_frame)
    assert callable(protocol.decode)
    assert protocol.split_frame(b"") == (None, 0)


def test_conversion_modules_have_no_uart() -> None:
    assert b43f.BAUDRATE is None and bme280.BAUDRATE is None
    assert not hasattr(b43f, "split_frame") and not hasattr(bme280, "split_frame")


def test_quantities_have_one_unit_and_both_labels() -> None:
    for q in QUANTITIES.values():
        assert q.unit and q.label_fr and q.label_en
        assert q.plausible[0] < q.plausible[1]


@pytest.mark.parametrize("name", SERIAL)
def test_a_serial_sensor_is_one_record_whose_paths_resolve(name: str) -> None:
    """Driver and emulator are dotted paths in the record; apps resolve them lazily."""
    from airq_core.sensors import load

    model = SENSORS[name]
    assert model.protocol_path and model.driver and model.emulator
    assert isinstance(load(model.driver), type)
    emulator = load(model.emulator)(sensor=name)  # type: ignore[operator]
    assert emulator.sensor == name
    assert emulator.baudrate == model.protocol.BAUDRATE


def test_pms_variants_are_registered_with_their_own_quantities() -> None:
    assert "temperature" in SENSORS["pms5003t"].quantities
    assert "n5" not in SENSORS["pms5003t"].quantities
    assert "ch2o" in SENSORS["pms5003st"].quantities
