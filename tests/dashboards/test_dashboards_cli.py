"""``airq dashboards build|check|push``: built from a running API, checked on a real influxd,
pushed through grafana-client."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from airq.cli import main
from tests.qpv.conftest import STATIONS_L93, latlon, write_qpv_file
from tests.qpv.test_qpv_api import serve

pytestmark = pytest.mark.services


def test_build_from_the_api_lists_territories_and_monitored_qpv(
    tmp_path: Path, registry, influxd, influx_db, monkeypatch, capsys
) -> None:
    from api.settings import ApiSettings

    qpv_file = write_qpv_file(tmp_path / "qpv.geojson")
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    for sid, xy in STATIONS_L93.items():
        registry.add(sid, *latlon(xy))
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as api:
        api_url = str(api.base_url).rstrip("/")
        rc = main(
            [
                "dashboards", "build", "--out", str(tmp_path / "out"), "--api-url", api_url,
                "--public-api-url", "https://air.example.org",
            ]
        )  # fmt: skip
    assert rc == 0
    assert "2 QPV équipé(s)" in capsys.readouterr().out
    carte = json.loads((tmp_path / "out" / "airq-carte.json").read_text())
    territories = carte["templating"]["list"][0]["options"]
    labels = {o["text"]: o["value"] for o in territories}
    assert labels["Tout le territoire"] == ".*"
    assert labels["Lens"] == "buf-1|in-1|out-1|ring-1"
    src = carte["panels"][1]["options"]["layers"][0]["config"]["src"]
    assert src.startswith("https://air.example.org/v1/qpv/exposure.geojson")
    comp = json.loads((tmp_path / "out" / "airq-qpv-comparaison.json").read_text())
    table = next(p for p in comp["panels"] if p["type"] == "table")
    assert table["targets"][0]["alias"] == "Cité Test (QPTEST01) — dans le QPV"


def test_build_refuses_an_unreachable_api(tmp_path: Path, capsys) -> None:
    from airq.services import free_port

    rc = main(
        [
            "dashboards",
            "build",
            "--out",
            str(tmp_path),
            "--api-url",
            f"http://127.0.0.1:{free_port()}",
        ]
    )
    assert rc == 1
    assert "l'API tourne-t-elle" in capsys.readouterr().err


def test_check_runs_every_query_on_influxdb(influxd, demo_db: str, capsys) -> None:
    rc = main(
        ["dashboards", "check", "--influx-url", influxd.url, "--influx-db", demo_db, "--days", "30"]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "ERREUR" not in out and " lignes" in out


class _GrafanaStandIn(BaseHTTPRequestHandler):
    """Grafana cannot run on this machine (no package in the reachable registries): this
    stand-in answers the five HTTP API calls `push` makes, as Grafana documents them, and
    records them."""

    calls: ClassVar[list[tuple[str, str, Any, str]]] = []
    folders: ClassVar[set[str]] = set()
    token = "glsa_test_token"

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        self.calls.append((self.command, self.path, body, self.headers.get("Authorization", "")))
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            return self._reply(401, {"message": "invalid API key"})
        if self.command == "GET" and self.path.startswith("/api/folders/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.folders:
                return self._reply(200, {"uid": uid, "title": "AirQuartiers"})
            return self._reply(404, {"message": "folder not found"})
        if self.command == "POST" and self.path == "/api/folders":
            self.folders.add(body["uid"])
            return self._reply(200, {"uid": body["uid"], "title": body["title"]})
        if self.command == "GET" and self.path.startswith("/api/datasources/uid/"):
            return self._reply(404, {"message": "data source not found"})
        if self.command == "POST" and self.path == "/api/datasources":
            return self._reply(200, {"id": 1, "message": "Datasource added"})
        if self.command == "POST" and self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            return self._reply(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x"})
        return self._reply(404, {"message": "not found"})

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def grafana_stand_in():  # type: ignore[no-untyped-def]
    _GrafanaStandIn.calls = []
    _GrafanaStandIn.folders = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GrafanaStandIn)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    th.join(5)


def test_push_installs_folder_datasource_and_dashboards(grafana_stand_in: str, capsys) -> None:
    rc = main(
        [
            "dashboards", "push", "--url", grafana_stand_in, "--token", "glsa_test_token",
            "--influx-url", "http://influxdb:8086",
        ]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    calls = _GrafanaStandIn.calls
    assert all(auth == "Bearer glsa_test_token" for *_, auth in calls)
    paths = [(m, p) for m, p, _, _ in calls]
    assert ("POST", "/api/folders") in paths and ("POST", "/api/datasources") in paths
    saved = [b for m, p, b, _ in calls if p == "/api/dashboards/db"]
    assert {b["dashboard"]["uid"] for b in saved} == {
        "airq-carte", "airq-station", "airq-qpv-comparaison", "airq-qualite",
    }  # fmt: skip
    assert all(b["overwrite"] and b["folderUid"] == "airquartiers" for b in saved)
    assert all("id" not in b["dashboard"] for b in saved)
    ds = next(b for m, p, b, _ in calls if p == "/api/datasources")
    assert ds["uid"] == "airq-influxdb" and ds["jsonData"]["version"] == "InfluxQL"
    assert capsys.readouterr().out.count(f"{grafana_stand_in}/d/") == 4

    # a second push updates in place: the folder exists, no new folder is created
    _GrafanaStandIn.calls = []
    assert (
        main(["dashboards", "push", "--url", grafana_stand_in, "--token", "glsa_test_token"]) == 0
    )
    assert ("POST", "/api/folders") not in [(m, p) for m, p, _, _ in _GrafanaStandIn.calls]


def test_push_explains_a_refused_token(grafana_stand_in: str, capsys) -> None:
    rc = main(["dashboards", "push", "--url", grafana_stand_in, "--token", "wrong"])
    assert rc == 1
    assert "service account" in capsys.readouterr().err


def test_push_without_token_says_how_to_give_one(monkeypatch, capsys) -> None:
    monkeypatch.delenv("AIRQ_GRAFANA_TOKEN", raising=False)
    assert main(["dashboards", "push", "--url", "http://127.0.0.1:9"]) == 2
    assert "AIRQ_GRAFANA_TOKEN" in capsys.readouterr().err
