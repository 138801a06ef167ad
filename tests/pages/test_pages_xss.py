"""Issue 20: stored XSS on the public map. A station's name is registry text anyone with a
station account can choose; the pages must show it as text, and their Content-Security-Policy
must not let an injected script run (no 'unsafe-inline' for scripts)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from api.routes.pages import VENDOR, csp_for, read_asset
from tests.api.api_server import running, settings_for
from tests.browser import open_browser
from tests.helpers import wait_until

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
PAGES = ("carte.html", "station.html", "prive.html")
HOSTILE = "<img src=x onerror=\"document.title='pwned';window.pwned=1\">"
# what would parse text as HTML or run text as code
SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setTimeout\(\s*[\"'`]|createContextualFragment|srcdoc|DOMParser"
)


def scripts(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", (STATIC / page).read_text(), re.DOTALL)


@pytest.mark.parametrize("page", PAGES)
def test_page_scripts_never_parse_text_as_html(page: str) -> None:
    (code,) = scripts(page)
    assert not SINKS.findall(code)
    # no inline event handler or javascript: URL in the markup either
    html = (STATIC / page).read_text()
    assert not re.search(r"\son[a-z]+\s*=", html.replace(code, "")), page
    assert "javascript:" not in html


def test_csp_of_the_pages_allows_their_own_script_only(tmp_path: Path) -> None:
    with running(settings_for("http://127.0.0.1:9", "x", f"sqlite:///{tmp_path / 'r.db'}")) as c:
        pages = (
            ("/carte", "carte.html"),
            ("/stations/lens-01", "station.html"),
            ("/stations/lens-01/prive", "prive.html"),
        )
        for url, page in pages:
            r = c.get(url)
            assert r.status_code == 200
            csp = r.headers["content-security-policy"]
            directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
            script_src = directives["script-src"].split()
            assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
            assert "*" not in script_src and "'self'" not in script_src
            (code,) = scripts(page)
            digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
            # the page's own script, and the library files it loads with their integrity
            loaded = re.findall(
                r'<script src="/vendor/([\w.-]+)\?v=[\w-]+" integrity="([^"]+)"', r.text
            )
            libs = []
            for name, integrity in loaded:
                asset = read_asset(name)
                assert asset is not None and integrity == f"sha256-{asset.sha256}", name
                assert c.get(f"/vendor/{name}").content == asset.body
                libs.append(f"'{integrity}'")
            assert script_src == [f"'sha256-{digest}'", *libs]
            assert len(loaded) == len(re.findall(r"<script src=", r.text))
            if page == "carte.html":
                assert {n for n, _ in loaded} == {n for n in VENDOR if n.endswith(".js")}
            assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
            assert r.headers["x-content-type-options"] == "nosniff"


def test_csp_for_a_page_without_script_allows_none() -> None:
    assert "script-src 'none'" in csp_for("<p>no script</p>")
    assert "unsafe-inline" not in csp_for("<script>x</script>").split("script-src")[1].split(";")[0]


@pytest.mark.services
def test_a_hostile_station_name_runs_no_script_in_a_browser(
    tmp_path, registry, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    registry.add("lens-01", 50.4491, 2.8392, name=HOSTILE)
    driver = open_browser()
    settings = settings_for(influxd.url, influx_db, str(registry.engine.url))
    try:
        with running(settings) as api:
            base = str(api.base_url).rstrip("/")
            driver.get(f"{base}/carte")
            link = wait_until(
                lambda: driver.find_elements(By.CSS_SELECTOR, "#list li a"),
                timeout=30,
                what="the station in the list of /carte",
            )
            assert link[0].text == HOSTILE  # shown as the characters it is made of
            # the marker's popup shows the name too
            marker = driver.find_element(By.CSS_SELECTOR, ".station-marker")
            ActionChains(driver).click(marker).perform()
            popup = wait_until(
                lambda: "".join(
                    e.text for e in driver.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
                ),
                what="the popup",
            )
            assert HOSTILE in popup
            assert driver.title.startswith("AirQuartiers")
            assert driver.execute_script("return document.querySelectorAll('img').length") == 0
            assert driver.execute_script("return window.pwned") is None

            driver.get(f"{base}/stations/lens-01")
            wait_until(
                lambda: HOSTILE in driver.find_element(By.ID, "name").text,
                timeout=30,
                what="the station page's heading",
            )
            assert driver.title == f"AirQuartiers — {HOSTILE}"  # text, not markup
            assert driver.execute_script("return document.querySelectorAll('img').length") == 0
            assert driver.execute_script("return window.pwned") is None
            # the pages' own scripts ran under the policy: no CSP violation was reported
            logs = [e["message"] for e in driver.get_log("browser")]
            assert not [m for m in logs if "Content Security Policy" in m], logs
    finally:
        driver.quit()
