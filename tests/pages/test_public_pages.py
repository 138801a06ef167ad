"""The public map and station pages are served, in French, and only call API paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

from api.app import create_app
from api.i18n import read_messages
from api.settings import ApiSettings
from tests.api.api_server import running

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"


def _client(tmp_path: Path):  # type: ignore[no-untyped-def]
    return running(ApiSettings(database_url=f"sqlite:///{tmp_path / 'r.sqlite'}"))


def test_pages_are_served_in_french(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        r = client.get("/", follow_redirects=False)
        assert r.status_code in (302, 307) and r.headers["location"] == "/carte"
        carte = client.get("/carte")
        assert carte.status_code == 200 and carte.headers["content-type"].startswith("text/html")
        assert "Qualité de l'air dans les quartiers" in carte.text
        assert "pas l'indice ATMO officiel" in carte.text  # citizen classes are indicative
        page = client.get("/stations/lens-01")
        assert page.status_code == 200 and "Particules fines" in page.text
        assert "Content-Security-Policy" in page.headers


def test_pages_call_only_existing_api_paths(tmp_path: Path) -> None:
    paths = set(create_app(ApiSettings(database_url="sqlite://")).openapi()["paths"])
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in paths]
    for page in ("carte.html", "station.html"):
        text = STATIC.joinpath(page).read_text()
        called = re.findall(r"`(/v1/[^`?]*)", text) + re.findall(r'"(/v1/[^"?]*)"', text)
        assert called, page
        for url in called:
            url = re.sub(r"\$\{[^}]+\}", "x-station", url)
            assert any(p.match(url) for p in patterns), f"{page} calls {url}, not in the API"


def _js_table(page: str, name: str) -> str:
    text = STATIC.joinpath(page).read_text()
    m = re.search(rf"const {name} = (.*?);\n", text, re.DOTALL)
    assert m, f"{name} in {page}"
    return m.group(1)


def _classes(page: str) -> list[list[str]]:
    table = _js_table(page, "CLASSES")
    return [
        re.findall(r'"([^"]*)"', row) for row in re.findall(r"\[(\"[a-z_]+\".*?)\]", table, re.S)
    ]


def test_page_tables_agree_with_the_shared_package() -> None:
    from airq_core.reference_values import ATMO_CLASSES, ATMO_THRESHOLDS
    from airq_core.storage import KEPT_FLAGS

    for page in ("carte.html", "station.html"):
        thresholds = _js_table(page, "THRESHOLDS")
        for q in ("pm2_5", "pm10"):
            js = re.search(rf"{q}: \[([^\]]*)\]", thresholds)
            assert js and [float(v) for v in js.group(1).split(",")] == list(ATMO_THRESHOLDS[q])
        rows = _classes(page)
        english = read_messages("en")
        for cls, row in zip(ATMO_CLASSES, rows, strict=False):
            assert row[:3] == [cls.key, cls.label_fr, cls.colour], page
            assert english[cls.label_fr] == cls.label_en, page
    kept = re.findall(r'"([a-z_0-9]+)"', _js_table("station.html", "KEPT_FLAGS"))
    assert set(kept) == KEPT_FLAGS


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_marker_text_meets_wcag_aa_on_every_class_colour() -> None:
    for page in ("carte.html", "station.html"):
        for row in _classes(page):
            bg, fg = row[2], row[3]
            hi, lo = sorted((_luminance(bg), _luminance(fg)), reverse=True)
            ratio = (hi + 0.05) / (lo + 0.05)
            assert ratio >= 4.5, f"{page} {row[0]}: {fg} on {bg} is {ratio:.2f}:1"


def test_tile_settings_are_checked_and_reach_the_map(tmp_path: Path) -> None:
    import pytest
    from pydantic import ValidationError

    from api.routes.pages import tile_source

    with pytest.raises(ValidationError, match="AIRQ_MAP_TILES_URL"):
        ApiSettings(map_tiles_url="ftp://tiles/{z}/{x}/{y}.png")
    with pytest.raises(ValidationError, match="AIRQ_MAP_TILES_URL"):
        ApiSettings(map_tiles_url="https://tiles.example/{z}.png")
    # docker-compose passes unset variables as "": the OpenStreetMap defaults
    empty = ApiSettings(map_tiles_url="", map_tiles_attribution="", map_tiles_attribution_url="")
    assert empty.map_tiles_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "OpenStreetMap" in empty.map_tiles_attribution and empty.map_tiles_attribution_url
    assert tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png") == (
        "https://*.tile.example.org"
    )
    ign = (
        "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM"
        "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&FORMAT=image/png"
    )
    settings = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'r.sqlite'}",
        map_tiles_url=ign,
        map_tiles_attribution='IGN <Plan IGN> & "co"',
        map_tiles_attribution_url="https://www.ign.fr/",
    )
    with running(settings) as client:
        r = client.get("/carte")
        assert 'data-attribution="IGN &lt;Plan IGN&gt; &amp; &quot;co&quot;"' in r.text
        assert "&amp;TILEMATRIX={z}&amp;TILEROW={y}" in r.text
        assert "img-src 'self' data: https://data.geopf.fr;" in r.headers["content-security-policy"]
        assert client.get("/vendor/nothing.js").status_code == 404
        prive = client.get("/stations/lens-01/prive")
        assert prive.headers["referrer-policy"] == "no-referrer"
        assert prive.headers["cache-control"] == "no-store"


def test_the_owner_route_refuses_a_wrong_token_without_a_password_dialog(tmp_path: Path) -> None:
    from api.registry import Registry

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    reg = Registry(url)
    reg.add("maison-07", 50.44, 2.83, indoor=True)
    reg.close()
    with running(ApiSettings(database_url=url)) as client:
        for body in (
            {"station": "maison-07", "token": "wrong-token"},
            {"station": "nobody", "token": "x"},
            {"station": "maison-07", "token": ""},
        ):
            r = client.post("/v1/owner/station", json=body)
            assert r.status_code == 401 and "www-authenticate" not in r.headers
        assert (
            client.post("/v1/owner/station", json={"station": "x" * 65, "token": "t"}).status_code
            == 422
        )
