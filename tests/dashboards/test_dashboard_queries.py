"""Every panel query, with its variables and time macros substituted as Grafana would, runs on
a real influxd holding demo data written per the storage contract, and returns rows with the
expected columns."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from dashboards.boards import build_boards
from dashboards.build import JSON_DIR
from dashboards.grafana import Board
from dashboards.render import VariableValue, panel_interval_ms, render_query, replace_variables
from tests.dashboards.conftest import END_MS, START_MS, STATIONS, demo_territory

pytestmark = pytest.mark.services

BOARDS = {b.uid: b for b in build_boards(demo_territory(), "http://api.test:8000")}


def _variables(board: Board, quantity: str, pas: str = "1h") -> dict[str, VariableValue]:
    values: dict[str, VariableValue] = {}
    for v in board.variables:
        name = v["name"]
        if name == "territoire":
            values[name] = VariableValue("lens-01|lens-02|lille-01")
        elif name == "station":
            values[name] = (
                VariableValue(list(STATIONS), multi=True, include_all=True)
                if v["multi"]
                else VariableValue("lens-01")
            )
        elif name == "quantity":
            values[name] = VariableValue(quantity)
        elif name == "pas":
            values[name] = VariableValue(pas)
    return values


def _panels(board: Board) -> list[dict[str, Any]]:
    out = []
    for p in board.panels:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def _run(influxd, db: str, q: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{influxd.url}/query", data={"q": q, "db": db, "epoch": "ms"}, timeout=30)
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]} for {q}"
    results = r.json()["results"]
    for res in results:
        assert "error" not in res, f"{res['error']} for {q}"
    return results


CASES = [
    (uid, quantity, pas)
    for uid, b in BOARDS.items()
    for quantity in ("pm2_5", "pm10", "no2")
    for pas in (("1h", "1m") if any(v["name"] == "pas" for v in b.variables) else ("1h",))
]


@pytest.mark.parametrize("uid, quantity, pas", CASES)
def test_every_panel_query_returns_rows_with_the_expected_columns(
    influxd, demo_db: str, uid: str, quantity: str, pas: str
) -> None:
    board = BOARDS[uid]
    variables = _variables(board, quantity, pas)
    start, end = START_MS, END_MS
    if pas == "1m":  # a short period, as the variable's label says
        start = END_MS - 2 * 86_400_000
    checked = 0
    for panel in _panels(board):
        for target in panel.get("targets", []):
            min_interval = panel.get("interval")
            if min_interval:
                min_interval = replace_variables(min_interval, variables)
            interval = panel_interval_ms(start, end, 1000, min_interval)
            q = render_query(target["query"], variables, start, end, interval)
            assert not re.search(r"\$[\w{]|\[\[", q), f"unsubstituted macro in {q}"
            results = _run(influxd, demo_db, q)
            series = results[0].get("series", [])
            assert series, f"no rows for panel {panel['title']!r}: {q}"
            columns = board.expected[(panel["id"], target["refId"])]
            expected = {replace_variables(c, variables) for c in columns}
            for s in series:
                assert expected <= set(s["columns"]), (panel["title"], s["columns"], expected)
                assert s["values"]
            checked += 1
    assert checked == len(board.expected) > 0


def test_station_variable_lists_the_stations_of_a_territory(influxd, demo_db: str) -> None:
    for board in BOARDS.values():
        for v in board.variables:
            if v["name"] != "station":
                continue
            q = replace_variables(v["query"], {"territoire": VariableValue("lens-01|lens-02")})
            values = [row[1] for row in _run(influxd, demo_db, q)[0]["series"][0]["values"]]
            assert values == ["lens-01", "lens-02"]
            q = replace_variables(v["query"], {"territoire": VariableValue(".*")})
            assert len(_run(influxd, demo_db, q)[0]["series"][0]["values"]) == 3


def test_every_territory_of_the_committed_boards_is_a_valid_station_filter(
    influxd, demo_db: str
) -> None:
    """The committed territory list (the shipped QPV, no station yet): each value runs on
    InfluxDB; the whole territory lists every station, the others none."""
    carte = json.loads((JSON_DIR / "airq-carte.json").read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in carte["templating"]["list"]}
    for option in variables["territoire"]["options"]:
        q = replace_variables(
            variables["station"]["query"], {"territoire": VariableValue(option["value"])}
        )
        series = _run(influxd, demo_db, q)[0].get("series", [])
        found = [row[1] for s in series for row in s["values"]]
        assert found == (list(STATIONS) if option["value"] == ".*" else []), option


def _days_over(influxd, db: str, quantity_label: str, zone_alias: str) -> float:  # type: ignore[no-untyped-def]
    board = BOARDS["airq-qpv-comparaison"]
    (panel,) = [p for p in board.panels if p["title"].endswith(quantity_label)]
    (target,) = [t for t in panel["targets"] if t["alias"].endswith(zone_alias)]
    q = render_query(target["query"], {}, START_MS, END_MS, 3_600_000)
    series = _run(influxd, db, q)[0].get("series", [])
    return series[0]["values"][0][1] if series else 0


def test_days_over_the_who_guideline_are_counted_on_valid_days(influxd, demo_db: str) -> None:
    # lens-01 (inside the QPV): PM2.5 daily mean 8 + 2 × day, over 15 from day 4: 6 days
    assert _days_over(influxd, demo_db, "(> 15 µg/m³)", "dans le QPV") == 6
    # NO2 15 + 2 × day: exactly 25 on day 5 is not above; days 6 to 9
    assert _days_over(influxd, demo_db, "(> 25 µg/m³)", "dans le QPV") == 4


def test_gaps_stay_visible_in_hourly_series(influxd, demo_db: str) -> None:
    board = BOARDS["airq-station"]
    panel = next(p for p in board.panels if p["title"].startswith("PM2,5 brut"))
    variables = _variables(board, "pm2_5")
    variables["station"] = VariableValue("lens-02")
    q = render_query(panel["targets"][0]["query"], variables, START_MS, END_MS, 3_600_000)
    values = _run(influxd, demo_db, q)[0]["series"][0]["values"]
    nulls = [row for row in values if row[1] is None]
    # the six missing hours of day 3, plus the hours outside the ten days of data
    assert 6 < len(nulls) < len(values) - 200
