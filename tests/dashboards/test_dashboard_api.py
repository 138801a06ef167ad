"""The dashboards against the real API: the URLs a board builds, with Grafana's substitution
applied as its "Global variables" page documents it, are accepted and mean the period on
screen; the map's colours come from the panel's rules alone (the API sends classes, never
simplestyle colours); the committed territory list is what the API serves from its QPV file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from airq.commands.dashboards import shipped_territory
from airq_core.readings import format_time
from airq_core.reference_values import ATMO_CLASSES
from dashboards.boards import build_boards
from dashboards.build import dashboards_json
from dashboards.render import VariableValue, render_url
from dashboards.territory import Territory
from tests.dashboards.conftest import demo_territory
from tests.qpv.conftest import END, START

pytestmark = pytest.mark.services

HOUR_MS = 3_600_000
# Feature properties Grafana's GeoJSON layer reads as styles since 10.4 (GeoJSONPolyStyles,
# GeoJSONPointStyles, GeoJSONLineStyles in public/app/plugins/panel/geomap/style/types.ts):
# when present they take the place of the colour, opacity and width of the matching rule.
SIMPLESTYLE = {"fill", "fill-opacity", "stroke", "stroke-width", "marker-color", "marker-size"}
COLOUR = {c.key: c.colour for c in ATMO_CLASSES}


def _boards(client: httpx.Client) -> dict[str, Any]:
    base = str(client.base_url).rstrip("/")
    return {b.uid: b for b in build_boards(demo_territory(), base)}


def _layers(board: Any) -> Iterator[dict[str, Any]]:
    for p in board.panels:
        for panel in [p, *p.get("panels", [])]:
            if panel["type"] == "geomap":
                yield from panel["options"]["layers"]


def _with_period(src: str, start: float, end: float) -> str:
    parts = urlsplit(src)
    query = dict(parse_qsl(parts.query))
    query.update(start=str(int(start)), end=str(int(end)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_comparison_link_opens_the_api_on_the_period_on_screen(qpv_api: httpx.Client) -> None:
    (link,) = _boards(qpv_api)["airq-qpv-comparaison"].links
    quantity = {"quantity": VariableValue("pm2_5")}
    end_ms = int(END * 1000) + 754  # the time picker's bounds carry milliseconds
    for hours in (1, 12, 48, 30 * 24, 400 * 24):
        start_ms = end_ms - hours * HOUR_MS
        url = render_url(link["url"], quantity, start_ms, end_ms)
        r = qpv_api.get(url)
        assert r.status_code == 200, (hours, url, r.text)
        body = r.json()
        assert (body["start"], body["end"]) == (
            format_time(start_ms // 1000),
            format_time(end_ms // 1000),
        ), url
        if hours == 48:  # the hand-computed case of tests/qpv: QPTEST01, inside the QPV
            assert body["features"][0]["properties"]["mean"] == 16.47
    # what the link sent before: ${__from} alone is milliseconds, read as seconds by the API
    ms_link = link["url"].replace(":date:seconds", "")
    r = qpv_api.get(render_url(ms_link, quantity, end_ms - 12 * HOUR_MS, end_ms))
    assert r.status_code == 400


def test_map_colours_come_from_the_panel_rules_for_every_class_the_api_sends(
    qpv_api: httpx.Client,
) -> None:
    seen: set[str] = set()
    for layer in _layers(_boards(qpv_api)["airq-carte"]):
        src = layer["config"]["src"]
        assert qpv_api.get(src).status_code == 200, src
        if "exposure.geojson" in src:  # the 48 hours with data rather than the last 30 days
            src = _with_period(src, START, END)
        r = qpv_api.get(src)
        assert r.status_code == 200, r.text
        rules = layer["config"]["rules"]
        for feature in r.json()["features"]:
            props = feature["properties"]
            assert not SIMPLESTYLE & set(props), (src, sorted(SIMPLESTYLE & set(props)))
            prop = "style_class" if "exposure.geojson" in src else "atmo_class"
            matching = [ru for ru in rules if ru["check"]["value"] == props[prop]]
            assert all(ru["check"]["property"] == prop for ru in rules)
            if props[prop] == "sans_donnees":
                assert matching == [], props  # the layer's grey default style
                continue
            (rule,) = matching
            cls = props["atmo_class"]
            assert rule["style"]["color"]["fixed"] == COLOUR[cls]
            if prop == "style_class":
                partial = props["style_class"].endswith("_partiel")
                assert rule["style"]["opacity"] == (0.3 if partial else 0.7)
            seen.add(f"{prop}={props[prop]}")
    # the cases the data holds: a pale and a full polygon, a station with a recent class
    assert {"style_class=moyen_partiel", "style_class=mauvais", "atmo_class=degrade"} <= seen


def test_committed_territory_is_what_the_api_serves_from_its_qpv_file(
    registry, influxd, influx_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import ApiSettings
    from tests.qpv.test_qpv_api import serve

    monkeypatch.delenv("AIRQ_QPV_FILE", raising=False)  # the file the API ships
    settings = ApiSettings(
        influx_url=influxd.url, influx_db=influx_db, database_url=str(registry.engine.url)
    )
    with serve(settings) as api:
        body = api.get("/v1/qpv").json()
    assert body["count"] == 199
    from_api = Territory.from_api(body)
    shipped = shipped_territory()
    assert from_api.choices() == shipped.choices()
    assert dashboards_json(from_api) == dashboards_json(shipped)
