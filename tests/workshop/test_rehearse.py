"""``airq workshop rehearse``: the whole path of participants (register → label → flash dry run
→ configure a stand-in board that cuts its reply and restarts → first reading through the real
API, broker, ingest and influxd → sensor check on a virtual sensor), printed in French."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airq.cli import main
from airq.services import API_USER, INGEST_USER
from api.registry import Registry, hash_token
from tests.api.api_server import running, settings_for
from tests.helpers import INGEST_PASSWORD, start_ingest, wait_until

pytestmark = pytest.mark.services

API_PASSWORD = "api-publisher-secret"


def test_rehearsal_of_two_participants_end_to_end(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    registry: Registry,
    mosquitto,
    influxd,
    influx_db,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_url = str(registry.engine.url)
    mosquitto.set_users(
        {
            INGEST_USER: hash_token(INGEST_PASSWORD),
            API_USER: hash_token(API_PASSWORD),
            **registry.mosquitto_users(),
        }
    )
    time.sleep(0.2)  # SIGHUP reload is asynchronous
    _ingest, runner = start_ingest(tmp_path, mosquitto, influxd, influx_db, db_url, "rehearse")
    settings = settings_for(
        influxd.url, influx_db, db_url, mqtt_url=mosquitto.url(API_USER, API_PASSWORD)
    )
    monkeypatch.setenv("AIRQ_LANG", "fr")
    monkeypatch.setenv("AIRQ_DATABASE_URL", db_url)
    monkeypatch.setenv("AIRQ_WORKSHOP_PLATFORM_URL", "https://carte.airquartiers.fr")
    try:
        with running(settings) as api:
            app = api.app  # type: ignore[attr-defined]
            wait_until(lambda: app.state.publisher.connected.is_set(), what="API publisher")
            rc = main(
                ["workshop", "rehearse", "--participants", "2", "--prefix", "rep",
                 "--api", str(api.base_url), "--out", str(tmp_path / "o"),
                 "--restart", "0.3", "--check-seconds", "8", "--timeout", "30"]
            )  # fmt: skip
    finally:
        runner.stop()
    printed = capsys.readouterr().out
    (tmp_path / "rehearsal.txt").write_text(printed)
    out = " ".join(printed.split())
    assert rc == 0, printed
    # what the first participant sees, in the board's words
    assert "mot de passe airrohrcfg" in out and "Sauvegarder et redémarrer" in out
    assert "Wi-Fi « airRohr-3122406 », mot de passe airrohrcfg : oui" in out
    assert "Réglages acceptés par la carte airRohr-3122406 (HTTP 200)" in out
    assert "La carte est revenue sur le Wi-Fi du logement" in out
    assert "Première mesure sur la plateforme après" in out and "PM2,5 7,1 µg/m³" in out
    assert "FONCTIONNE" in out
    assert "essai à blanc" in out
    # the labels and steps point to the rehearsed API, not to the workshop day's platform
    api_url = str(api.base_url).rstrip("/")
    assert f"Vos mesures apparaissent sur {api_url}" in out
    assert "Vos mesures apparaissent sur https://carte.airquartiers.fr" not in out
    assert f"pointent vers l'API répétée {api_url}" in out and "une adresse locale est" in out
    assert "(https://carte.airquartiers.fr)" in out and "la refusera" not in out
    assert "2/2 participant(s) sans accroc" in out
    assert (tmp_path / "o" / "etiquettes.pdf").stat().st_size > 0
    # the boards were bound to their stations; the rehearsal stations are retired
    from api.hardware import HardwareBook

    book = HardwareBook(registry.engine)
    assert [e.chip_id for e in book.history("rep-01")] == ["esp8266-3122406"]
    assert [e.chip_id for e in book.history("rep-02")] == ["esp8266-3122407"]
    assert {s.id for s in registry.list()} & {"rep-01", "rep-02"} == set()


@pytest.mark.services
def test_rehearsal_without_a_platform_reports_each_participant_s_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airq.services import free_port

    monkeypatch.setenv("AIRQ_LANG", "en")
    monkeypatch.setenv("AIRQ_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    rc = main(
        ["workshop", "rehearse", "--participants", "2", "--prefix", "rep",
         "--api", f"http://127.0.0.1:{free_port()}", "--out", str(tmp_path / "o"),
         "--restart", "0.2", "--check-seconds", "3", "--timeout", "2"]
    )  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 1
    assert "Settings accepted by the board airRohr-3122406 (HTTP 200)" in out
    assert out.count("FAIL") == 2 and "0/2 participant(s) without a hitch" in out
