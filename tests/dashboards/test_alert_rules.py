"""Grafana alert rules provisioned beside the dashboards (dashboards/provisioning/alerting):
the same thresholds as the platform's rules, queries that run on a real influxd and single out
the stations the platform would alert on. Readings are written at times relative to now (the
queries look at the last minutes, as Grafana evaluates them)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from airq_core.alerts import PRESETS, resolve_level
from airq_core.storage import HEALTH_MEASUREMENT, RAW_MEASUREMENT, RAW_RP
from dashboards.build import PROVISIONING_DIR
from dashboards.grafana import DATASOURCE_UID

RULES_FILE = PROVISIONING_DIR / "alerting" / "airq-alerts.yaml"
ROOT = Path(__file__).resolve().parents[2]


def _rules() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES_FILE.read_text())
    assert doc["apiVersion"] == 1
    return {r["uid"]: r for g in doc["groups"] for r in g["rules"]}


def _threshold(rule: dict[str, Any]) -> float:
    cond = {d["refId"]: d for d in rule["data"]}[rule["condition"]]["model"]
    assert cond["type"] == "threshold"
    (c,) = cond["conditions"]
    assert c["evaluator"]["type"] == "gt"
    return float(c["evaluator"]["params"][0])


def test_rules_are_well_formed_and_match_the_platform() -> None:
    rules = _rules()
    assert set(rules) == {
        "airq-pm2-5-high", "airq-station-silent", "airq-co2-high", "airq-pm2-5-who-24h",
    }  # fmt: skip
    for rule in rules.values():
        refs = {d["refId"] for d in rule["data"]}
        assert rule["condition"] in refs
        query = rule["data"][0]
        assert query["datasourceUid"] == DATASOURCE_UID and query["model"]["rawQuery"]
        for d in rule["data"][1:]:
            assert d["datasourceUid"] == "__expr__" and d["model"]["expression"] in refs
    assert _threshold(rules["airq-co2-high"]) == PRESETS["co2"].above
    assert rules["airq-co2-high"]["data"][0]["relativeTimeRange"]["from"] == PRESETS["co2"].for_s
    who = rules["airq-pm2-5-who-24h"]  # the platform's --above who-24h on PM2.5
    level = resolve_level("pm2_5", None, "who-24h")
    assert _threshold(who) == level.above == PRESETS["pm2_5_who_24h"].above
    assert who["data"][0]["relativeTimeRange"]["from"] == level.for_s
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "./dashboards/provisioning/alerting:/etc/grafana/provisioning/alerting:ro" in compose


def _firing(influxd, db: str, rule: dict[str, Any]) -> set[str]:  # type: ignore[no-untyped-def]
    """The stations whose last value of the query (over the rule's window) is over the
    threshold: what Grafana's reduce (last) and threshold (gt) expressions decide."""
    q = rule["data"][0]
    window = q["relativeTimeRange"]["from"]
    text = q["model"]["query"].replace("$timeFilter", f"time > now() - {window}s")
    r = httpx.post(f"{influxd.url}/query", data={"q": text, "db": db}, timeout=30)
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert "error" not in result, result
    out = set()
    for series in result.get("series", []):
        values = [row[1] for row in series["values"] if row[1] is not None]
        if values and values[-1] > _threshold(rule):
            out.add(series["tags"]["station"])
    return out


@pytest.mark.services
def test_rule_queries_single_out_the_stations_the_platform_alerts_on(
    influxd, influx_db: str
) -> None:
    now_ms = int(time.time() * 1000)
    minute = 60_000
    httpx.post(f"{influxd.url}/query", data={
        "q": f'CREATE RETENTION POLICY "{RAW_RP}" ON "{influx_db}" DURATION INF REPLICATION 1'},
        timeout=30).raise_for_status()  # fmt: skip
    lines = []
    for m in (9, 6, 3, 1):  # above for the whole window / one reading under / far under
        lines.append(
            f"{RAW_MEASUREMENT},station=high-01,sensor=sds011 pm2_5=60 {now_ms - m * minute}"
        )
        dip = 40 if m == 3 else 70
        lines.append(
            f"{RAW_MEASUREMENT},station=dip-01,sensor=sds011 pm2_5={dip} {now_ms - m * minute}"
        )
        lines.append(
            f"{RAW_MEASUREMENT},station=low-01,sensor=sds011 pm2_5=8 {now_ms - m * minute}"
        )
        lines.append(
            f"{RAW_MEASUREMENT},station=room-01,sensor=scd30 co2=1800 {now_ms - m * minute}"
        )
    for h in (20, 12, 6, 2):  # a day's mean over 15 µg/m³ / under it, never above 50
        for sid, v in (("who-01", 19), ("who-02", 11)):
            ts = now_ms - h * 60 * minute
            lines.append(f"{RAW_MEASUREMENT},station={sid},sensor=sds011 pm2_5={v} {ts}")
    lines.append(
        f"{HEALTH_MEASUREMENT},station=gone-01,worker=w last_seen_age_s=3600 {now_ms - minute}"
    )
    lines.append(
        f"{HEALTH_MEASUREMENT},station=high-01,worker=w last_seen_age_s=20 {now_ms - minute}"
    )
    r = httpx.post(f"{influxd.url}/write", params={"db": influx_db, "rp": RAW_RP,
                   "precision": "ms"}, content="\n".join(lines).encode(), timeout=30)  # fmt: skip
    assert r.status_code == 204, r.text
    rules = _rules()
    assert _firing(influxd, influx_db, rules["airq-pm2-5-high"]) == {"high-01"}
    assert _firing(influxd, influx_db, rules["airq-co2-high"]) == {"room-01"}
    assert _firing(influxd, influx_db, rules["airq-pm2-5-who-24h"]) == {
        "high-01", "dip-01", "who-01",
    }  # fmt: skip
    assert _firing(influxd, influx_db, rules["airq-station-silent"]) == {"gone-01"}
