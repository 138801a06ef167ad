"""The council panels read only the hourly and daily windows covered enough (issue 15).

Windows written into a real influxd, relative to now, for lens-01 (inside QPV QP062040 of the
demo territory): per Paris day, five hourly windows under the threshold (value 100), one
without a coverage field (written before coverage existed, value 200) and eighteen covered
ones (the day's value, one of them exactly at the threshold). Each panel's query, rendered as
Grafana sends it, must return the covered windows with their values and none of the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from airq.cli import main
from airq.services import InfluxDB
from airq_core.storage import AGG_RP
from dashboards.boards import build_boards, coverage_note
from dashboards.grafana import Board
from dashboards.render import VariableValue, panel_interval_ms, render_query
from ingest.influx import InfluxWriter
from tests.dashboards.conftest import demo_territory

pytestmark = pytest.mark.services

PARIS = ZoneInfo("Europe/Paris")
DAY_VALUE = {0: 10.0, 1: 12.0, 2: 20.0}  # covered hours; only day 2 is over the WHO 15 µg/m³
LOW_HOURS = range(5)  # coverage 0.5, value 100, 7 flagged values
OLD_HOUR = 5  # no coverage field, value 200
# the daily windows: (value, coverage or None for a window written before coverage existed)
DAILY = {0: (10.0, 0.9), 1: (12.0, 0.9), 2: (80.0, 0.5), 3: (70.0, None)}
QTYS = ("pm2_5", "pm10", "no2")


def _first_day() -> datetime:
    """A Paris midnight five days ago or more, with no daylight-saving change up to now."""
    now = datetime.now(PARIS)
    day = (now - timedelta(days=5)).replace(hour=0, minute=0, second=0, microsecond=0)
    while (day - timedelta(days=1)).utcoffset() != (now + timedelta(days=1)).utcoffset():
        day -= timedelta(days=1)
    return day


DAY0 = _first_day()
START_MS = int((DAY0 - timedelta(days=1)).timestamp() * 1000)


def _ms(day: int, hour: int = 0) -> int:
    return int((DAY0 + timedelta(days=day, hours=hour)).timestamp() * 1000)


def _window(value: float, coverage: float | None, flagged: int) -> str:
    parts = []
    for q in QTYS:
        parts.append(f"{q}_mean={value},{q}_count=25,{q}_flagged={flagged}")
        if coverage is not None:
            parts.append(f"{q}_coverage={coverage}")
        if q != "no2":
            parts.append(f"{q}_hcorr_mean={value * 0.8},{q}_hcorr_count=25")
    return ",".join(parts)


def lines() -> bytes:
    out = []
    tags = "sensor=sds011,station=lens-01"
    for day, v in DAY_VALUE.items():
        for h in range(24):
            if h in LOW_HOURS:
                fields = _window(100.0, 0.5, 7)
            elif h == OLD_HOUR:
                fields = _window(200.0, None, 0)
            else:  # the threshold itself is enough
                fields = _window(v, 0.75 if h == 6 else 0.9, 0)
            out.append(f"readings_1h,{tags} {fields} {_ms(day, h)}")
    for day, (v, cov) in DAILY.items():
        out.append(f"readings_1d_paris,{tags} {_window(v, cov, 0)} {_ms(day)}")
    return "\n".join(out).encode()


@pytest.fixture(scope="module")
def coverage_db(influxd: InfluxDB) -> Iterator[str]:
    name = "dashboards_coverage"
    writer = InfluxWriter(influxd.url, name)
    writer.ensure_database()
    writer.write_lines(lines(), rp=AGG_RP)
    writer.close()
    yield name


BOARDS = {b.uid: b for b in build_boards(demo_territory(), "http://api.test:8000")}
VARIABLES = {
    "territoire": VariableValue("lens-01|lens-02|lille-01"),
    "quantity": VariableValue("pm2_5"),
    "pas": VariableValue("1h"),
}


def _panel(uid: str, title: str) -> dict[str, Any]:
    panels = [p for top in BOARDS[uid].panels for p in (top, *top.get("panels", []))]
    (panel,) = [p for p in panels if p["title"] == title]
    found: dict[str, Any] = panel
    return found


def _series(
    influxd: InfluxDB, db: str, uid: str, title: str, alias: str | None = None
) -> list[Any]:
    """Run a panel's query (its target with ``alias`` when given) as Grafana would, from a day
    before the data up to now; returns the series."""
    panel = _panel(uid, title)
    (target,) = [t for t in panel["targets"] if alias is None or t.get("alias") == alias]
    station = (
        next(v for v in BOARDS[uid].variables if v["name"] == "station")
        if uid
        in (
            "airq-carte",
            "airq-station",
            "airq-qualite",
        )
        else None
    )
    variables = dict(VARIABLES)
    if station is not None:
        variables["station"] = (
            VariableValue(["lens-01"], multi=True, include_all=True)
            if station["multi"]
            else VariableValue("lens-01")
        )
    end = int(datetime.now(PARIS).timestamp() * 1000)
    interval = panel_interval_ms(START_MS, end, 1000, panel.get("interval"))
    q = render_query(target["query"], variables, START_MS, end, interval)
    r = httpx.post(f"{influxd.url}/query", data={"q": q, "db": db, "epoch": "ms"}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    (result,) = r.json()["results"]
    assert "error" not in result, (result["error"], q)
    series: list[Any] = result.get("series", [])
    return series


def _values(series: list[Any]) -> list[list[Any]]:
    return [row for s in series for row in s["values"] if any(v is not None for v in row[1:])]


QPV = "Cité 12-14 (QP062040)"
COVERED_HOURS = [_ms(d, h) for d in DAY_VALUE for h in range(OLD_HOUR + 1, 24)]


def test_qpv_comparison_reads_only_the_covered_hours(influxd: InfluxDB, coverage_db: str) -> None:
    rows = _values(
        _series(
            influxd,
            coverage_db,
            "airq-qpv-comparaison",
            "Dans / hors QPV — moyennes horaires sur la période ($quantity)",
            f"{QPV} — dans le QPV",
        )
    )
    assert [t for t, _ in rows] == COVERED_HOURS
    assert [v for _, v in rows] == [DAY_VALUE[d] for d in DAY_VALUE for _ in range(18)]


def test_days_over_the_who_guideline_count_only_covered_hours(
    influxd: InfluxDB, coverage_db: str
) -> None:
    def days(title: str) -> float:
        series = _series(
            influxd, coverage_db, "airq-qpv-comparaison", title, f"{QPV} — dans le QPV"
        )
        return series[0]["values"][0][1] if series else 0

    # with the five hours at 100 and the old one at 200, every day would be over 15 µg/m³
    assert days("Jours au-dessus de la valeur guide OMS — PM2,5 (> 15 µg/m³)") == 1
    assert days("Jours au-dessus de la valeur guide OMS — NO₂ (> 25 µg/m³)") == 0


def test_atmo_sub_indices_and_annual_means_use_only_covered_hours(
    influxd: InfluxDB, coverage_db: str
) -> None:
    atmo = _values(
        _series(
            influxd,
            coverage_db,
            "airq-qpv-comparaison",
            "Indice ATMO global indicatif — sous-indices journaliers dans le QPV",
            f"{QPV} — PM2,5",
        )
    )
    # 18 covered hours make a valid day; their mean is the day's value
    assert atmo == [[_ms(d), v] for d, v in DAY_VALUE.items()]
    annual = _values(
        _series(
            influxd,
            coverage_db,
            "airq-qpv-comparaison",
            "Moyenne annuelle et valeurs de référence — PM2,5",
            QPV,
        )
    )
    assert annual == [[_ms(d), v] for d, v in DAY_VALUE.items()]


def test_daily_panels_of_the_map_and_station_pages_skip_uncovered_days(
    influxd: InfluxDB, coverage_db: str
) -> None:
    last = _series(
        influxd, coverage_db, "airq-carte", "Dernier jour mesuré par station ($quantity)"
    )
    # day 2 (coverage 0.5) and day 3 (no coverage) are later, but left out
    assert [row[1:3] for row in _values(last)] == [[12.0, 25.0]]
    daily = _series(
        influxd, coverage_db, "airq-carte", "Moyennes journalières par station ($quantity)"
    )
    assert _values(daily) == [[_ms(0), 10.0], [_ms(1), 12.0]]
    station = _series(
        influxd,
        coverage_db,
        "airq-station",
        "PM2,5 — moyennes journalières et valeur guide OMS",
    )
    assert _values(station) == [[_ms(0), 10.0, 10.0 * 0.8], [_ms(1), 12.0, 12.0 * 0.8]]


def test_station_page_shows_every_window_coverage_and_the_flagged_values(
    influxd: InfluxDB, coverage_db: str
) -> None:
    title = "Couverture des fenêtres horaires (% des mesures attendues)"
    rows = {r[0]: r[1:] for r in _values(_series(influxd, coverage_db, "airq-station", title))}
    assert rows[_ms(0, 0)] == [50.0, 50.0, 50.0]  # under the threshold, shown
    assert rows[_ms(1, 6)] == [75.0, 75.0, 75.0]
    assert rows[_ms(2, 23)] == [90.0, 90.0, 90.0]
    assert _ms(0, OLD_HOUR) not in rows  # no coverage known
    title = "Valeurs signalées, exclues des moyennes"
    flagged = _series(influxd, coverage_db, "airq-station", title)
    counts = {r[0]: r[1:] for r in flagged[0]["values"] if r[1]}
    assert sorted(counts) == [_ms(d, h) for d in DAY_VALUE for h in LOW_HOURS]
    assert set(map(tuple, counts.values())) == {(7.0, 7.0, 7.0)}


DAILY_COVERAGE = "Couverture journalière (% des heures couvertes à 75 % au moins)"


def test_station_daily_coverage_counts_only_the_hours_covered_enough(
    influxd: InfluxDB, coverage_db: str
) -> None:
    """Each of days 0-2 has 24 hourly windows: 18 covered (one exactly at 0.75), 5 at 0.5 and
    one without coverage; the day's coverage is 18 / 24 = 75 % (100 % counting every window,
    70.8 % if the one at the threshold were left out), as in the QPV statistics."""
    rows = _series(influxd, coverage_db, "airq-station", DAILY_COVERAGE)[0]["values"]
    by_day = {t: v for t, v in rows}
    assert [by_day[_ms(d)] for d in DAY_VALUE] == [75.0, 75.0, 75.0]
    assert {v for t, v in rows if t not in {_ms(d) for d in DAY_VALUE}} == {0}
    panel = _panel("airq-station", DAILY_COVERAGE)
    assert "au moins 75 % des mesures attendues" in panel["description"]
    assert "AIRQ_QPV_MIN_WINDOW_COVERAGE" in panel["description"]
    (board,) = [
        b
        for b in build_boards(demo_territory(), min_window_coverage=0.6)
        if b.uid == "airq-station"
    ]
    (panel,) = [p for p in board.panels if p["title"].startswith("Couverture journalière")]
    assert panel["title"] == "Couverture journalière (% des heures couvertes à 60 % au moins)"
    assert '"pm2_5_coverage" >= 0.6 ' in panel["targets"][0]["query"]
    assert "au moins 60 % des mesures" in panel["description"]


def test_quality_board_coverage_counts_only_the_hours_covered_enough(
    influxd: InfluxDB, coverage_db: str
) -> None:
    """The data-quality board's daily coverage and coverage over the period follow the same
    rule: 75 % on days 0-2 (100 % counting every window), the period's mean of those days."""
    (series,) = _series(
        influxd, coverage_db, "airq-qualite", "Couverture journalière par station ($quantity)"
    )
    assert series["tags"] == {"station": "lens-01"}
    by_day = dict(series["values"])
    assert [by_day[_ms(d)] for d in DAY_VALUE] == [75.0, 75.0, 75.0]
    assert {v for t, v in by_day.items() if t not in {_ms(d) for d in DAY_VALUE}} == {0}
    (period,) = _series(
        influxd, coverage_db, "airq-qualite", "Couverture sur la période ($quantity)"
    )
    assert period["values"][0][1] == pytest.approx(75.0 * 3 / len(by_day))
    for title in ("Couverture journalière par station", "Couverture sur la période"):
        panel = _panel("airq-qualite", f"{title} ($quantity)")
        assert "au moins 75 % des mesures attendues" in panel["description"]
        assert '"${quantity}_coverage" >= 0.75 ' in panel["targets"][0]["query"]
    (board,) = [
        b
        for b in build_boards(demo_territory(), min_window_coverage=0.6)
        if b.uid == "airq-qualite"
    ]
    queries = [t["query"] for p in board.panels for t in p.get("targets", [])]
    assert sum('"${quantity}_coverage" >= 0.6 ' in q for q in queries) == 2


def test_filtered_panels_say_so_and_follow_the_threshold_given() -> None:
    def council_targets(boards: list[Board]) -> list[tuple[dict[str, Any], str]]:
        out = []
        for b in boards:
            if b.uid not in ("airq-carte", "airq-qpv-comparaison"):
                continue
            for top in b.panels:
                for p in (top, *top.get("panels", [])):
                    out += [(p, t["query"]) for t in p.get("targets", []) if "_mean" in t["query"]]
        return out

    targets = council_targets(build_boards(demo_territory(), "http://api.test:8000"))
    assert len(targets) > 10
    for panel, query in targets:
        assert '_coverage" >= 0.75' in query, query
        assert coverage_note(0.75) in panel["description"], panel["title"]
        assert (
            "75 %" in panel["description"]
            and "Windows under 75 % coverage are left out" in (panel["description"])
        )
    for panel, query in council_targets(build_boards(demo_territory(), min_window_coverage=0.6)):
        assert '_coverage" >= 0.6' in query and "60 %" in panel["description"]
    with pytest.raises(ValueError, match="min_window_coverage"):
        build_boards(demo_territory(), min_window_coverage=1.5)


def test_build_takes_the_threshold_from_the_api_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRQ_QPV_MIN_WINDOW_COVERAGE", "0.6")
    assert main(["dashboards", "build", "--out", str(tmp_path)]) == 0
    carte = json.loads((tmp_path / "airq-carte.json").read_text(encoding="utf-8"))
    queries = [t["query"] for p in carte["panels"] for t in p.get("targets", [])]
    assert any('"${quantity}_coverage" >= 0.6 ' in q for q in queries)
    rc = main(["dashboards", "build", "--out", str(tmp_path), "--min-window-coverage", "75"])
    assert rc != 0
    assert "entre 0 et 1" in capsys.readouterr().err
