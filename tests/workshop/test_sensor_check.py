"""``airq sensor check`` and ``airq sensor capture`` against virtual sensors on ptys."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from airq.cli import main
from airq_core.protocols import plantower, sds011
from airq_core.readings import Sample
from firmware_tools.sensor_check import CheckStats, judge, parse_capture
from firmware_tools.virtual import PtySensor, make_emulator
from tests.helpers import ThreadRunner


@pytest.fixture(autouse=True)
def _french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRQ_LANG", "fr")


@contextmanager
def injecting(pty: PtySensor, chunks: list[bytes], every: float = 0.05) -> Iterator[None]:
    """Write ``chunks`` on the line in a loop while the block runs (after the port is open)."""

    def loop(stop: threading.Event) -> None:
        k = 0
        while not stop.wait(every):
            pty.inject(chunks[k % len(chunks)])
            k += 1

    runner = ThreadRunner(loop, "inject")
    try:
        yield
    finally:
        runner.stop()


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(["sensor", "check", *argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_working_sds011_shows_values_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    emulator = make_emulator("sds011", seed=2, period=0.1)
    with PtySensor(emulator) as pty:
        rc, out = _check(
            capsys, "--port", pty.port, "--sensor", "sds011", "--samples", "4", "--seconds", "10"
        )
    assert rc == 0
    assert "FONCTIONNE : 4 mesure(s) reçue(s), valeurs plausibles." in out
    # the frames sent before the port was opened are not read: compare with what was sent
    shown = [line for line in out.splitlines() if "PM2,5" in line and "PM10" in line]
    assert len(shown) == 4
    sent = [
        f"PM2,5 {v['pm2_5']:.1f} µg/m³ · PM10 {v['pm10']:.1f} µg/m³".replace(".", ",")
        for v in (s.values for _, s in emulator.emitted)
    ]
    for line in shown:
        assert line.split("  ", 1)[1] in sent


def test_sds011_left_asleep_in_query_mode_is_woken_and_polled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator = make_emulator("sds011", period=0.1)
    emulator.active, emulator.working = False, False  # as a gateway may leave it
    with PtySensor(emulator) as pty:
        rc, out = _check(capsys, "--port", pty.port, "--sensor", "sds011", "--samples", "2")
    assert rc == 0 and "FONCTIONNE" in out
    assert emulator.working


def test_silent_sensor_gives_no_data_with_wiring_advice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with PtySensor(make_emulator("sds011")) as pty:
        pty.silent = True
        rc, out = _check(capsys, "--port", pty.port, "--sensor", "sds011", "--seconds", "1.5")
    assert rc == 1
    assert "AUCUNE DONNÉE : le capteur sds011 n'envoie rien" in out
    assert "5 V" in out and "TX" in out


def test_garbage_gives_unreadable_data(capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(7)
    garbage = [
        bytes(rng.randrange(256) for _ in range(20)).replace(b"\xaa", b"\x00") for _ in range(5)
    ]
    with PtySensor(make_emulator("sds011")) as pty:
        pty.silent = True
        with injecting(pty, garbage):
            rc, out = _check(capsys, "--port", pty.port, "--sensor", "sds011", "--seconds", "1.5")
    assert rc == 1
    assert "DONNÉES ILLISIBLES" in out and "aucune trame sds011 valide" in out
    assert "--sensor" in out


def test_wrong_sensor_model_gives_unreadable_data(capsys: pytest.CaptureFixture[str]) -> None:
    with PtySensor(make_emulator("pms5003")) as pty:
        rc, out = _check(capsys, "--port", pty.port, "--sensor", "sds011", "--seconds", "1.5")
    assert rc == 1 and "DONNÉES ILLISIBLES" in out


def test_valid_frames_among_garbage_still_work_and_noise_is_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pty = PtySensor(make_emulator("sds011", period=0.1))
    with pty, injecting(pty, [b"\x13\x37\x00\xff"], every=0.15):
        rc, out = _check(capsys, "--port", pty.port, "--sensor", "sds011", "--samples", "5")
    assert rc == 0
    assert "FONCTIONNE" in out and "octet(s) illisible(s) ignoré(s)" in out


def test_implausible_values(capsys: pytest.CaptureFixture[str]) -> None:
    with PtySensor(make_emulator("sds011")) as pty:
        pty.silent = True
        with injecting(pty, [sds011.encode_data(55.0, 12.0)], every=0.1):
            rc, out = _check(capsys, "--port", pty.port, "--sensor", "sds011", "--samples", "2")
    assert rc == 1
    assert "VALEURS INVRAISEMBLABLES (PM2,5 55,0 > PM10 12,0)" in out


def test_humidity_too_high_for_pm(capsys: pytest.CaptureFixture[str]) -> None:
    with PtySensor(make_emulator("pms5003")) as pty:
        rc, out = _check(
            capsys, "--port", pty.port, "--sensor", "pms5003", "--samples", "2", "--humidity", "85"
        )
    assert rc == 0
    assert "HUMIDITÉ TROP ÉLEVÉE POUR LES PM (85,0 % > 70 %)" in out


def test_plantower_warming_up(capsys: pytest.CaptureFixture[str]) -> None:
    zeros = plantower.encode_data((0, 0, 0), (0, 0, 0), (0, 0, 0, 0, 0, 0))
    with PtySensor(make_emulator("pms5003")) as pty:
        pty.silent = True
        with injecting(pty, [zeros], every=0.1):
            rc, out = _check(capsys, "--port", pty.port, "--sensor", "pms5003", "--samples", "2")
    assert rc == 1
    assert "EN PRÉCHAUFFAGE" in out and "(préchauffage)" in out


def test_co2_sensor_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    with PtySensor(make_emulator("mhz19b", co2=800.0)) as pty:
        rc, out = _check(capsys, "--port", pty.port, "--sensor", "mhz19b", "--samples", "2")
        assert rc == 0 and "CO₂" in out and "ppm" in out
        rc = main(
            [
                "--lang",
                "en",
                "sensor",
                "check",
                "--port",
                pty.port,
                "--sensor",
                "mhz19b",
                "--samples",
                "1",
            ]
        )
        assert rc == 0 and "WORKING: 1 reading(s) received" in capsys.readouterr().out


def test_unknown_port_and_sensor_errors(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _check(capsys, "--port", "/dev/ttyUSB42", "--sensor", "sds011")
    assert rc == 1 and "le port /dev/ttyUSB42 n'existe pas" in out
    rc, out = _check(capsys, "--port", "/dev/null", "--sensor", "bme280")
    assert rc == 2 and "ne se lit pas sur un port série" in out
    rc, out = _check(capsys, "--port", "/dev/null", "--sensor", "sds999")
    assert rc == 2 and "capteur inconnu « sds999 »" in out


def test_judge_is_pure_and_orders_verdicts() -> None:
    def stats(*samples: Sample, bytes_in: int = 10) -> CheckStats:
        return CheckStats(bytes_in=bytes_in, samples=[(0.0, s) for s in samples])

    pm = Sample("sds011", {"pm2_5": 5.0, "pm10": 9.0})
    assert judge("sds011", stats(bytes_in=0)).code == "no_data"
    assert judge("sds011", stats()).code == "unreadable"
    assert judge("sds011", CheckStats(bytes_in=10, other_frames=2)).code == "warming_up"
    assert judge("sds011", stats(pm)).code == "ok"
    assert judge("sds011", stats(Sample("sds011", {"pm2_5": 0.0, "pm10": 0.0}))).code == "ok"
    assert judge("sds011", stats(pm), humidity=71).code == "humid"
    assert judge("sds011", stats(pm), humidity=70).code == "ok"
    maxed = Sample("sds011", {"pm2_5": 999.9, "pm10": 999.9})
    assert judge("sds011", stats(maxed, maxed, maxed)).code == "implausible"
    assert judge("mhz19b", stats(Sample("mhz19b", {"co2": 0.0}))).code == "implausible"
    zphs = Sample("zphs01b", {"pm2_5": 5.0, "pm10": 6.0, "humidity": 90.0})
    assert judge("zphs01b", stats(zphs)).code == "humid"  # its own humidity is used
    scd = Sample("scd30", {"co2": 600.0, "humidity": 90.0})
    assert judge("scd30", stats(scd)).code == "ok"  # humidity matters for PM only


def test_capture_lines_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sds.txt"
    emulator = make_emulator("sds011", seed=4, period=0.05)
    with PtySensor(emulator) as pty:
        rc = main(
            [
                "sensor",
                "capture",
                "--port",
                pty.port,
                "--sensor",
                "sds011",
                "-o",
                str(out),
                "--frames",
                "6",
                "--seconds",
                "10",
                "--no-poll",
            ]
        )
    assert rc == 0
    assert "6 trame(s) enregistrée(s)" in capsys.readouterr().err
    header, records = parse_capture(out.read_text())
    assert header["sensor"] == "sds011" and header["port"] == pty.port
    assert len(records) == 6
    decoded = [sds011.decode(frame).values for _, frame in records]
    emitted = [s.values for _, s in emulator.emitted]
    assert all(d in emitted for d in decoded)
    times = [ts for ts, _ in records]
    assert times == sorted(times)
    # the hex part is what `airq decode sds011 --stream --hex-stream` reads
    line = out.read_text().splitlines()[1]
    assert line.split(" ", 1)[1].startswith("AA C0")


def test_capture_raw_keeps_garbage_and_json_gives_golden_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw.txt"
    with PtySensor(make_emulator("sds011")) as pty:
        pty.silent = True
        with injecting(pty, [b"\x01\x02" + sds011.encode_data(9.5, 15.0)], every=0.05):
            assert (
                main(
                    [
                        "sensor",
                        "capture",
                        "--port",
                        pty.port,
                        "--sensor",
                        "sds011",
                        "-o",
                        str(raw),
                        "--raw",
                        "--seconds",
                        "0.6",
                        "--no-poll",
                    ]
                )
                == 0
            )
    _, records = parse_capture(raw.read_text())
    data = b"".join(chunk for _, chunk in records)
    assert b"\x01\x02\xaa\xc0" in data

    golden = tmp_path / "sds.json"
    with PtySensor(make_emulator("sds011", seed=1, period=0.05)) as pty:
        assert (
            main(
                [
                    "sensor",
                    "capture",
                    "--port",
                    pty.port,
                    "--sensor",
                    "sds011",
                    "-o",
                    str(golden),
                    "--format",
                    "json",
                    "--frames",
                    "3",
                ]
            )
            == 0
        )
    cases = json.loads(golden.read_text())
    assert len(cases) == 3
    for case in cases:
        assert sds011.decode(bytes.fromhex(case["hex"])).values == case["values"]
        assert case["source"].startswith("capture sds011")
