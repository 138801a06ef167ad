"""The public map and station pages are served, in French, and only call API paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

from api.app import create_app
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
