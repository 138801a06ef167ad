"""``airq stack`` (what ``scripts/demo`` runs): its options reach the stack, and it uses the
registry ``airq station add`` writes by default, so a station added there is on the demo map."""

from __future__ import annotations

import re
import time

import pytest

from airq.cli import build_parser
from airq.commands.common import default_data_dir, registry_url
from airq.commands.stack import stack_options
from airq.services import free_port
from airq.stack import FLEET, seed_history
from api.registry import Registry


def test_options_reach_run_stack(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AIRQ_DATA_DIR", str(tmp_path))
    args = build_parser().parse_args(["stack", "--history-days", "0", "--stations", "2"])
    options = stack_options(args)
    assert options["history_days"] == 0 and options["stations"] == 2
    assert options["data"] == default_data_dir() == tmp_path
    args = build_parser().parse_args(["stack", "--history-days", "1.5", "--data", "x"])
    assert stack_options(args)["history_days"] == 1.5
    assert str(stack_options(args)["data"]) == "x"


def test_negative_history_is_a_usage_error(airq) -> None:
    r = airq("stack", "--history-days", "-1")
    assert r.returncode == 2 and "--history-days" in r.stderr


@pytest.mark.services
def test_demo_sees_the_station_added_with_defaults(airq, data_dir, workdir) -> None:
    add = airq("station", "add", "lens-01", "--lat", "50.449", "--lon", "2.839", "--quiet")
    assert add.returncode == 0, add.stderr
    r = airq(
        "stack",
        "--stations",
        "1",
        "--interval",
        "1",
        "--duration",
        "6",  # two rounds of the status line: the API may take a few seconds to start
        "--history-days",
        "0",
        "--api-port",
        str(free_port()),
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Historique" not in r.stdout
    assert not (data_dir / "history-seeded").exists()
    assert f"Registre des stations : {data_dir / 'registry.sqlite'}" in r.stdout
    # the API of the stack lists the station added before it started, beside its fleet
    assert re.search(r"(\b|/)2 stations", r.stdout), r.stdout
    reg = Registry(registry_url(data_dir))
    try:
        assert [s.id for s in reg.list()] == ["lens-01", FLEET[0].id]
    finally:
        reg.close()
    assert list(workdir.iterdir()) == []


@pytest.mark.services
def test_history_covers_the_days_asked(influxd) -> None:
    fleet = FLEET[:2]
    db = "airquartiers"  # the database seed_history writes, as the stack's ingest
    try:
        before = time.time()
        n = seed_history(influxd.url, fleet, 0.5)
        assert n == 2 * 144  # every 5 minutes for 12 hours
        got = influxd.query(
            'SELECT count("pm2_5"), min("pm2_5") FROM "raw"."readings" GROUP BY "station"', db=db
        )
        series = got["results"][0]["series"]  # type: ignore[index]
        assert sorted(s["tags"]["station"] for s in series) == sorted(st.id for st in fleet)
        assert all(s["values"][0][1] == 144 for s in series)
        first = influxd.query('SELECT first("pm2_5") FROM "raw"."readings"', db=db)
        t0 = first["results"][0]["series"][0]["values"][0][0] / 1000  # type: ignore[index]
        assert before - 0.5 * 86400 - 400 <= t0 <= before - 0.5 * 86400 + 10
    finally:
        influxd.query(f'DROP DATABASE "{db}"')
