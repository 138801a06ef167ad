"""Gateway mode for airrohr boards on the LAN: poll /data.json, record each measurement once."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from airq.services import INGEST_USER
from gateway.config import GatewayConfig
from gateway.service import BoardPoller, Gateway
from tests.helpers import INGEST_PASSWORD, MqttCollector, ThreadRunner, wait_until

pytestmark = pytest.mark.services
BODY = json.loads(
    (Path(__file__).resolve().parents[1] / "data/airrohr/sds011_bme280.json").read_text()
)


class Board(BaseHTTPRequestHandler):
    """A board's web server: /data.json is the last measurement with its age."""

    doc: ClassVar[dict] = {"software_version": "NRZ-2024-135", "age": "-1", "sensordatavalues": []}
    hits: ClassVar[int] = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        body = json.dumps(self.doc).encode()
        self.send_response(200 if self.path == "/data.json" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def board():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Board)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data.json"
    server.shutdown()
    server.server_close()


def _measurement(pm10: str, age: int) -> dict:
    values = [dict(v) for v in BODY["sensordatavalues"]]
    values[0]["value"] = pm10
    return {"software_version": "NRZ-2024-135", "age": str(age), "sensordatavalues": values}


def test_each_measurement_is_recorded_once(tmp_path, board, registry, mosquitto):
    token = registry.add("maison-1", 50.45, 2.84)
    mosquitto.sync()
    collector = MqttCollector(mosquitto.url(INGEST_USER, INGEST_PASSWORD))
    cfg = GatewayConfig.from_dict(
        {
            "station": "maison-1",
            "state_dir": str(tmp_path / "state"),
            "mqtt": {"url": mosquitto.url("maison-1", token)},
            "boards": [{"url": board, "interval": 0.1}],
        }
    )
    gw = Gateway(cfg)
    runner = ThreadRunner(gw.run, "gateway")
    wait_until(lambda: Board.hits >= 3, what="polls before the first measurement")
    assert gw.boards[0].state == "waiting"
    Board.doc = _measurement("10.52", 3)
    wait_until(lambda: len(collector.readings()) >= 2, what="first measurement")
    hits = Board.hits
    wait_until(lambda: Board.hits >= hits + 5, what="more polls of the same measurement")
    Board.doc = _measurement("11.00", 1)
    wait_until(lambda: len(collector.readings()) >= 4, what="second measurement")
    runner.stop()
    collector.close()
    readings = collector.readings()
    assert len(readings) == 4  # two measurements × (sds011, bme280), never repeated
    pm10 = [r["values"]["pm10"] for r in readings if r["sensor"] == "sds011"]
    assert pm10 == [10.52, 11.0]
    bme = [r for r in readings if r["sensor"] == "bme280"]
    assert bme[0]["values"]["pressure"] == pytest.approx(986.8028)


def test_unreachable_board_is_reported_once(tmp_path, registry, mosquitto, caplog):
    token = registry.add("maison-2", 50.45, 2.84)
    cfg = GatewayConfig.from_dict(
        {
            "station": "maison-2",
            "state_dir": str(tmp_path / "state"),
            "mqtt": {"url": mosquitto.url("maison-2", token)},
            "boards": [{"url": "http://127.0.0.1:9/data.json", "timeout": 1}],
        }
    )
    gw = Gateway(cfg)
    poller = BoardPoller(gw, cfg.boards[0])
    with caplog.at_level(logging.WARNING, logger="gateway.service"):
        assert poller.poll_once() == 0
        assert poller.poll_once() == 0
    assert poller.state == "unreachable" and "cannot reach" in poller.problem
    warned = [r.getMessage() for r in caplog.records if r.name == "gateway.service"]
    assert warned == [f"board http://127.0.0.1:9/data.json: {poller.problem}"]  # once
    gw.publisher.stop()
    gw.store.close()
