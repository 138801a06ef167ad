"""Dashboard JSON checks: unique ids and uids, datasource references, schema version, layout,
French titles, provisioning files in step with the generated JSON and docker-compose."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from airq.commands.dashboards import shipped_territory
from airq_core.reference_values import ATMO_CLASSES
from dashboards.build import JSON_DIR, PROVISIONING_DIR, dashboards_json, dump
from dashboards.grafana import DATASOURCE_UID, SCHEMA_VERSION
from dashboards.render import VariableValue, replace_variables
from dashboards.territory import QpvEntry, Territory
from tests.dashboards.conftest import demo_territory

ROOT = Path(__file__).resolve().parents[2]
BUILT = dashboards_json(demo_territory(), "http://api.test:8000")


def _all_panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def _datasource_refs(obj: Any) -> list[dict[str, Any]]:
    refs = []
    if isinstance(obj, dict):
        if isinstance(obj.get("datasource"), dict):
            refs.append(obj["datasource"])
        for v in obj.values():
            refs.extend(_datasource_refs(v))
    elif isinstance(obj, list):
        for v in obj:
            refs.extend(_datasource_refs(v))
    return refs


def test_dashboard_uids_and_titles_are_unique() -> None:
    uids = [d["uid"] for d in BUILT.values()]
    titles = [d["title"] for d in BUILT.values()]
    assert len(set(uids)) == len(uids) == 4
    assert len(set(titles)) == 4
    assert all(len(u) <= 40 and re.fullmatch(r"[a-z0-9-]+", u) for u in uids)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_panels_have_unique_ids_and_fit_the_grid(name: str) -> None:
    dash = BUILT[name]
    assert dash["schemaVersion"] == SCHEMA_VERSION
    panels = _all_panels(dash)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        assert p["title"].strip()
        refs = [t["refId"] for t in p.get("targets", [])]
        assert len(refs) == len(set(refs)), p["title"]


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_datasource_reference_is_the_provisioned_influxdb(name: str) -> None:
    refs = _datasource_refs(BUILT[name])
    assert refs, name
    assert all(r == {"type": "influxdb", "uid": DATASOURCE_UID} for r in refs)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_queries_use_only_defined_variables(name: str) -> None:
    dash = BUILT[name]
    defined = {v["name"]: VariableValue("x") for v in dash["templating"]["list"]}
    for p in _all_panels(dash):
        for t in p.get("targets", []):
            replace_variables(t["query"], defined)  # raises KeyError on an undefined one
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            replace_variables(v["query"], defined)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_long_periods_read_aggregates_never_raw_readings(name: str) -> None:
    for p in _all_panels(BUILT[name]):
        for t in p.get("targets", []):
            assert '"raw"."readings"' not in t["query"] and "FROM readings " not in t["query"]


def test_titles_are_french() -> None:
    english = re.compile(r"\b(the|station data|daily|inside|outside|coverage)\b", re.I)
    for dash in BUILT.values():
        for p in _all_panels(dash):
            assert not english.search(p["title"]), p["title"]
        for v in dash["templating"]["list"]:
            assert v["label"] in {"Territoire", "Station", "Polluant", "Pas de temps"}


def test_titles_come_from_the_catalogues_and_airq_lang_leaves_the_build_french(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The titles are the ``dashboards`` catalogues' (airq_core/locale): in English on request,
    the rest of each board unchanged; the committed build stays French whatever AIRQ_LANG."""
    monkeypatch.setenv("AIRQ_LANG", "en")
    assert dashboards_json(demo_territory(), "http://api.test:8000") == BUILT
    english = dashboards_json(demo_territory(), "http://api.test:8000", lang="en")
    assert english["airq-carte.json"]["title"] == "Regional map — exposure in the QPV"
    assert english["airq-station.json"]["title"] == "Station — raw and corrected readings"
    for name, dash in english.items():
        french = BUILT[name]
        fr_titles = [p["title"] for p in _all_panels(french)] + [french["title"]]
        en_titles = [p["title"] for p in _all_panels(dash)] + [dash["title"]]
        assert len(fr_titles) == len(en_titles)
        assert all(a != b for a, b in zip(fr_titles, en_titles, strict=True) if a != "NO₂")
        assert [p["id"] for p in _all_panels(dash)] == [p["id"] for p in _all_panels(french)]
        labels = {v["label"] for v in dash["templating"]["list"]}
        assert labels <= {"Area", "Station", "Pollutant", "Time step"}, labels


def test_map_colours_qpv_by_rule_and_calls_citizen_classes_indicative() -> None:
    carte = BUILT["airq-carte.json"]
    geomaps = [p for p in _all_panels(carte) if p["type"] == "geomap"]
    assert len(geomaps) == 3
    layer = geomaps[0]["options"]["layers"][0]
    assert layer["type"] == "geojson"
    assert layer["config"]["src"].startswith("http://api.test:8000/v1/qpv/exposure.geojson?")
    values = {r["check"]["value"] for r in layer["config"]["rules"]}
    assert values == {c.key for c in ATMO_CLASSES} | {c.key + "_partiel" for c in ATMO_CLASSES}
    assert all(r["check"]["property"] == "style_class" for r in layer["config"]["rules"])
    assert "indicative" in geomaps[0]["description"]
    assert "pas l'indice ATMO officiel" in geomaps[0]["description"]


def test_comparison_has_a_row_per_zone_of_each_monitored_qpv() -> None:
    comp = BUILT["airq-qpv-comparaison.json"]
    table = next(p for p in comp["panels"] if p["title"].startswith("Dans / hors QPV"))
    aliases = [t["alias"] for t in table["targets"]]
    assert aliases == [
        "Cité 12-14 (QP062040) — dans le QPV",
        "Cité 12-14 (QP062040) — à moins de 300m",
        "Cité 12-14 (QP062040) — hors QPV (commune)",
    ]
    assert table["transformations"][0]["options"]["mode"] == "seriesToRows"


def test_without_stations_the_comparison_explains_how_to_rebuild() -> None:
    empty = dashboards_json()["airq-qpv-comparaison.json"]
    (panel,) = empty["panels"]
    assert panel["type"] == "text" and "--api-url" in panel["options"]["content"]


def test_committed_json_is_the_build_from_the_shipped_qpv() -> None:
    """dashboards/json is what docker-compose provisions: the build from the QPV polygons the
    API ships, before any station is registered. Regenerate it with `.venv/bin/airq dashboards
    build` (no option) when the generator or the polygon file changes."""
    built = dashboards_json(shipped_territory())
    for name, dash in built.items():
        committed = (JSON_DIR / name).read_text(encoding="utf-8")
        assert committed == dump(dash), f"{name} is stale: run `airq dashboards build`"
    assert sorted(p.name for p in JSON_DIR.glob("*.json")) == sorted(built)


def test_committed_territory_list_holds_every_department_and_commune_of_the_qpv() -> None:
    carte = json.loads((JSON_DIR / "airq-carte.json").read_text(encoding="utf-8"))
    (variable,) = [v for v in carte["templating"]["list"] if v["name"] == "territoire"]
    labels = [o["text"] for o in variable["options"]]
    values = [o["value"] for o in variable["options"]]
    assert labels[:3] == [
        "Tout le territoire", "Aisne (02) — aucune station", "Nord (59) — aucune station",
    ]  # fmt: skip
    assert {"Lens — aucune station", "Roubaix — aucune station"} <= set(labels)
    assert len(labels) > 150 and len(set(values)) == len(values)
    # no station yet: every entry but the whole territory matches no station id
    assert not any(re.fullmatch(f"(?:{v})", "lens-01") for v in values[1:])


def test_territories_list_their_stations_and_keep_the_communes_without_one() -> None:
    lens = QpvEntry("QP062040", "Cité 12-14", ("Lens",), "62", {"qpv": ("lens-01",)})
    lille = QpvEntry("QP059001", "Sans station", ("Lille", "Lomme"), "59", {})
    henin = QpvEntry("QP062041", "X", ("Henin-Beaumont",), "62", {"hors_qpv": ("hb-01",)})
    hénin = QpvEntry("QP062042", "Y", ("Hénin-Beaumont",), "62", {})
    choices = Territory(qpv=(lens, lille, henin, hénin)).choices()
    assert choices == [
        ("Tout le territoire", ".*"),
        ("Nord (59) — aucune station", "AUCUNE_STATION_DEP_59"),
        ("Pas-de-Calais (62)", "hb-01|lens-01"),
        ("Hénin-Beaumont", "hb-01"),  # two spellings in the source, one entry
        ("Lens", "lens-01"),
        ("Lille — aucune station", "AUCUNE_STATION_lille"),
        ("Lomme — aucune station", "AUCUNE_STATION_lomme"),
    ]


def test_provisioning_files_match_the_dashboards_and_compose() -> None:
    ds = yaml.safe_load((PROVISIONING_DIR / "datasources" / "airquartiers.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["type"] == "influxdb"
    assert source["jsonData"]["version"] == "InfluxQL"
    prov = yaml.safe_load((PROVISIONING_DIR / "dashboards" / "airquartiers.yaml").read_text())
    path = prov["providers"][0]["options"]["path"]
    compose = (ROOT / "docker-compose.yml").read_text()
    assert f"./dashboards/json:{path}" in compose
    assert "./dashboards/provisioning/datasources:/etc/grafana/provisioning/datasources" in compose
    assert "./dashboards/provisioning/dashboards:/etc/grafana/provisioning/dashboards" in compose


def test_generated_json_round_trips() -> None:
    for dash in BUILT.values():
        assert json.loads(dump(dash)) == dash


def test_every_rejection_reason_has_a_french_label() -> None:
    from airq_core.wire import REASONS
    from dashboards.boards import REJECTION_LABELS_FR

    assert set(REJECTION_LABELS_FR) == set(REASONS)
    assert len(set(REJECTION_LABELS_FR.values())) == len(REASONS)
