"""``airq station follow``: the latest values of one station, read from a running API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from airq.cli import main
from airq.services import free_port
from airq_core.readings import Reading
from api.app import create_app
from api.settings import ApiSettings
from firmware_tools.errors import WorkshopError
from firmware_tools.follow import Follower
from ingest.influx import InfluxWriter
from ingest.lineproto import encode_lines
from tests.helpers import ThreadRunner, wait_until

pytestmark = pytest.mark.services


@pytest.fixture
def api(registry, influxd, influx_db, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRQ_LANG", "fr")
    port = free_port()
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    wait_until(lambda: server.started, what="uvicorn")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    th.join(10)


@pytest.fixture
def writer(influxd, influx_db) -> Iterator[InfluxWriter]:  # type: ignore[no-untyped-def]
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database()
    yield w
    w.close()


def test_follow_once_prints_latest_values_in_french(
    registry,
    api: str,
    writer: InfluxWriter,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    registry.add("lens-01", 50.449, 2.839, "Grande Résidence")
    now = time.time()
    writer.write_lines(
        encode_lines(
            [
                Reading("lens-01", "sds011", now - 120, {"pm2_5": 9.1, "pm10": 16.0}),
                Reading("lens-01", "sds011", now - 60, {"pm2_5": 12.4, "pm10": 20.5}),
            ]
        )
    )
    rc = main(["station", "follow", "lens-01", "--api", api, "--once"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Suivi de la station lens-01" in out
    assert "PM2,5 9,1 µg/m³ · PM10 16,0 µg/m³" in out
    assert "PM2,5 12,4 µg/m³ · PM10 20,5 µg/m³" in out
    assert out.index("9,1") < out.index("12,4")


def test_follow_waits_then_shows_new_readings_as_they_arrive(
    registry,
    api: str,
    writer: InfluxWriter,  # type: ignore[no-untyped-def]
) -> None:
    registry.add("lens-02", 50.45, 2.84)
    follower = Follower(api, "lens-02")
    assert follower.poll() == []  # nothing yet: waiting for the first readings
    seen: list[dict[str, float]] = []
    runner = ThreadRunner(
        lambda stop: follower.run(
            lambda u: seen.append(u.values), lambda *a: None, stop, interval=0.2
        ),
        "follow",
    )
    try:
        writer.write_lines(
            encode_lines([Reading("lens-02", "mhz19b", time.time() - 1, {"co2": 612.0})])
        )
        wait_until(lambda: {"co2": 612.0} in seen, what="the first reading")
        writer.write_lines(
            encode_lines([Reading("lens-02", "mhz19b", time.time(), {"co2": 640.0})])
        )
        wait_until(lambda: {"co2": 640.0} in seen, what="the second reading")
    finally:
        runner.stop()
        follower.close()
    assert seen.count({"co2": 612.0}) == 1  # each value shown once


def test_follow_unknown_station_and_unreachable_api(
    api: str, writer: InfluxWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["station", "follow", "nulle-part", "--api", api, "--once"]) == 1
    assert "station « nulle-part » inconnue" in capsys.readouterr().err
    port = free_port()
    assert (
        main(["station", "follow", "lens-01", "--api", f"http://127.0.0.1:{port}", "--once"]) == 1
    )
    assert "API injoignable" in capsys.readouterr().err


def test_follow_shows_the_board_and_its_hardware_changes(
    registry,
    api: str,
    writer: InfluxWriter,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    from api.hardware import HardwareBook

    registry.add("lens-03", 50.45, 2.84)
    registry.add("lens-04", 50.46, 2.85)
    book = HardwareBook(registry.engine)  # the pushes' records, in the API's database
    now = time.time()
    book.record("lens-03", "esp8266-3122405", now - 900)
    book.record("lens-04", "esp8266-7654321", now - 900)
    main(["station", "follow", "lens-03", "--api", api, "--once"])
    out = capsys.readouterr().out
    assert "Carte : esp8266-…2405" in out and "CHANGEMENT" not in out

    follower = Follower(api, "lens-03")
    try:
        assert [e["kind"] for e in follower.new_hardware_events()] == ["first"]
        book.record("lens-03", "esp8266-7654321", now - 60)  # lens-04's board
        book.record("lens-03", "esp8266-4444444", now - 30)  # a replaced Wi-Fi module
        shown: list[dict[str, object]] = []
        runner = ThreadRunner(
            lambda stop: follower.run(
                lambda u: None, lambda *a: None, stop, interval=0.2, on_hardware=shown.append
            ),
            "follow-hw",
        )
        try:
            wait_until(lambda: len(shown) >= 2, what="the hardware events")
        finally:
            runner.stop()
        assert [(e["kind"], e["chip"]) for e in shown] == [
            ("foreign", "esp8266-…4321"),
            ("changed", "esp8266-…4444"),
        ]
    finally:
        follower.close()
    main(["station", "follow", "lens-03", "--api", api, "--once"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Carte : esp8266-…4444" in out
    assert "ALERTE" in out and "celle d'une autre station" in out
    assert "CHANGEMENT DE CARTE" in out and "l'historique reste à la station" in out


def test_an_indoor_station_is_followed_with_its_token(
    registry,
    api: str,
    writer: InfluxWriter,  # type: ignore[no-untyped-def]
) -> None:
    """An indoor station is unknown to the public API (issue 17): the follower reads it with
    the station's token, as the workshop does right after registering it."""
    token = registry.add("maison-03", 50.45, 2.84, indoor=True)
    writer.write_lines(
        encode_lines([Reading("maison-03", "mhz19b", time.time() - 1, {"co2": 812.0})])
    )
    anonymous = Follower(api, "maison-03")
    try:
        with pytest.raises(WorkshopError):
            anonymous.poll()
    finally:
        anonymous.close()
    owner = Follower(api, "maison-03", token=token)
    try:
        assert [u.values for u in owner.poll()] == [{"co2": 812.0}]
    finally:
        owner.close()
