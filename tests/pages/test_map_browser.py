"""Issue 17: the public map (Leaflet), the live station page and the owner's private page, in
a real headless Chromium against a running API on a real influxd.

Tiles come from a local tile server (the OpenStreetMap servers are out of reach of the tests)
or from an address nobody listens on, for the fallback to the outlines. Screenshots are kept
in ``$AIRQ_TEST_ARTEFACTS`` (default ``tmp/artefacts`` at the project root, git-ignored; see
tests/README.md), one PNG per page and language."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airq.services import free_port
from api.registry import Registry
from ingest.influx import InfluxWriter
from tests.api.api_server import running, settings_for
from tests.browser import open_browser
from tests.helpers import wait_until

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = Path(os.environ.get("AIRQ_TEST_ARTEFACTS", ROOT / "tmp" / "artefacts"))
MIN = 60_000
DAY = 86_400_000


def artefact(driver: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5000, path  # a page was drawn, not a blank image
    return path


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A 256×256 one-colour PNG (a stand-in tile)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * 256
    raw = zlib.compress(row * 256)
    head = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@contextmanager
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A local tile server answering every /z/x/y.png with a pale tile; yields its template
    and the paths asked."""
    tile = _png((228, 232, 220))
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png", asked
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port nobody listens on (bound then released)."""
    port = free_port()
    with socket.socket() as s:  # still free: nobody took it meanwhile
        s.bind(("127.0.0.1", port))
    return port


@pytest.fixture
def stations(registry: Registry, influxd, influx_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """An outdoor station whose first readings arrived a minute ago (a warm-up value before
    them, its weather sensor silent for two hours), a second one in Lens, an indoor station
    with CO2 and radon (three daily radon means over 300 Bq/m³). Returns the tokens."""
    tokens = {
        # a school: published to about 10 m (its owner's choice)
        "lens-01": registry.add("lens-01", 50.4491, 2.8392, name="École Jean-Macé", precision=4),
        "lens-02": registry.add("lens-02", 50.4420, 2.8250, name="Rue de Liévin"),
        "maison-07": registry.add("maison-07", 50.4470, 2.8310, name="Chez Amina", indoor=True),
    }
    now = int(time.time() * 1000)
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database(raw_retention="INF")
    raw = [
        'readings,sensor=sds011,station=lens-01 pm2_5=880.0,pm10=990.0,flags="warmup" '
        f"{now - 3 * MIN}",
        f"readings,sensor=sds011,station=lens-01 pm2_5=12.3,pm10=18.0 {now - 2 * MIN}",
        f"readings,sensor=sds011,station=lens-01 pm2_5=12.3,pm10=18.0 {now - 20_000}",
        f"readings,sensor=bme280,station=lens-01 temperature=11.5,humidity=80.0 {now - 120 * MIN}",
        f"readings,sensor=sds011,station=lens-02 pm2_5=31.0,pm10=44.0 {now - MIN}",
        f"readings,sensor=scd30,station=maison-07 co2=1240.0 {now - 5 * MIN}",
        f"readings,sensor=scd30,station=maison-07 co2=1210.0 {now - MIN}",
        f"readings,sensor=rd200,station=maison-07 radon=420.0 {now - MIN}",
    ]
    w.write_lines("\n".join(raw).encode())
    day0 = now // DAY * DAY
    days = [
        f"readings_1d,sensor=rd200,station=maison-07 radon_mean={v},radon_count=24 {day0 - k * DAY}"
        for k, v in ((1, 340.0), (2, 360.0), (3, 350.0))
    ]
    w.write_lines("\n".join(days).encode(), rp="agg")
    w.close()
    return tokens


def script_errors(driver: Any) -> list[str]:
    """Console errors but failed tile loads (the fallback test makes them on purpose)."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and not (e["source"] == "network" and ".png" in e["message"])
    ]


@contextmanager
def api_and_browser(
    registry: Registry, influxd, influx_db, languages: str = "fr-FR,fr", **kw: Any
) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    settings = settings_for(influxd.url, influx_db, str(registry.engine.url), **kw)
    driver = open_browser(languages)
    try:
        with running(settings) as api:
            yield str(api.base_url).rstrip("/"), driver
    finally:
        driver.quit()


def test_the_map_opens_on_a_new_station_with_its_first_value(
    stations, registry, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with (
        tile_server() as (tiles, asked),
        api_and_browser(
            registry, influxd, influx_db, map_tiles_url=tiles, map_tiles_attribution="Tuiles test"
        ) as (base, driver),
    ):
        driver.get(f"{base}/carte?station=lens-01")
        focus = wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, ".mk.focus"),
            timeout=30,
            what="the station's marker",
        )[0]
        # no full day yet: the marker shows the live value (dashed), not a grey dash
        assert focus.text == "12" and "live" in focus.get_attribute("class")
        text = wait_until(
            lambda: "".join(
                e.text for e in driver.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
            ),
            timeout=15,
            what="the station's popup",
        )
        assert "École Jean-Macé" in text and "12,3 µg/m³" in text
        assert "Moyen" in text and "valeur instantanée" in text
        assert "position publiée à 10 m près" in text
        wait_until(lambda: asked, what="tiles asked")
        wait_until(
            lambda: driver.execute_script(
                "return [...document.querySelectorAll('img.leaflet-tile')]"
                ".some(i => i.complete && i.naturalWidth === 256)"
            ),
            what="a tile drawn",
        )
        assert "no-tiles" not in driver.find_element(By.TAG_NAME, "body").get_attribute("class")
        assert "Tuiles test" in driver.find_element(By.CSS_SELECTOR, ".attr").text
        # indoor stations are on no public map
        names = driver.find_element(By.ID, "list").text
        assert "École Jean-Macé" in names and "Rue de Liévin" in names
        assert "Chez Amina" not in names and "Chez Amina" not in driver.page_source
        legend = driver.find_element(By.ID, "legend").text
        assert "Dégradé" in legend and "évitez les efforts intenses" in legend
        artefact(driver, "carte-fr")
        assert script_errors(driver) == []

        driver.get(f"{base}/carte?station=lens-01&lang=en")
        text = wait_until(
            lambda: "".join(
                e.text for e in driver.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
            ),
            timeout=30,
            what="the popup in English",
        )
        assert "12.3 µg/m³" in text and "Fair" in text
        assert "location published to about 10 m" in text
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        assert "What the colours mean" in driver.find_element(By.TAG_NAME, "aside").text
        # the marker is reachable with the keyboard, and Enter opens its popup
        assert focus_of(driver, ".station-marker") == "0"
        driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-close-button").click()
        wait_until(
            lambda: not driver.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content"),
            what="the popup closed",
        )
        marker = driver.find_element(By.CSS_SELECTOR, ".station-marker:has(.mk.focus)")
        driver.execute_script("arguments[0].focus()", marker)
        marker.send_keys(Keys.ENTER)
        wait_until(
            lambda: "12.3 µg/m³" in text_of(driver, ".leaflet-popup-content"),
            what="the popup opened from the keyboard",
        )
        artefact(driver, "carte-en")
        assert script_errors(driver) == []

        # in Arabic: right to left, the page's messages from the ar catalogue (airq_core/locale)
        driver.get(f"{base}/carte?station=lens-01&lang=ar")
        text = wait_until(
            lambda: "".join(
                e.text for e in driver.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
            ),
            timeout=30,
            what="the popup in Arabic",
        )
        assert "متوسط" in text and "صفحة المحطة" in text  # "Fair", "Station page"
        html = driver.find_element(By.TAG_NAME, "html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
        assert "ماذا تعني الألوان" in driver.find_element(By.TAG_NAME, "aside").text
        assert driver.execute_script("return getComputedStyle(document.body).direction") == "rtl"
        links = {a.get_attribute("lang") for a in driver.find_elements(By.CSS_SELECTOR, "#langs a")}
        assert links == {"fr", "en"}
        artefact(driver, "carte-ar")
        assert script_errors(driver) == []

        # on a phone: the map on top, full width, nothing wider than the screen
        driver.set_window_size(390, 844)
        driver.get(f"{base}/carte?station=lens-01")
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, ".mk.focus"), timeout=30, what="marker"
        )
        box = driver.execute_script(
            "const r = document.getElementById('map').getBoundingClientRect();"
            "const d = document.documentElement;"
            "return [r.width, r.height, d.scrollWidth, d.clientWidth]"
        )
        assert box[0] == box[3] and box[1] >= 300 and box[2] <= box[3], box
        # the station's popup opens within the screen, clear of the zoom buttons (it opened
        # under them, cut at the left edge)
        placed = (
            "const p = document.querySelector('.leaflet-popup');"
            "if (!p || getComputedStyle(p).opacity !== '1') return null;"
            "const r = p.querySelector('.leaflet-popup-content-wrapper').getBoundingClientRect();"
            "const z = document.querySelector('.leaflet-control-zoom').getBoundingClientRect();"
            "return [r.left, r.right, z.right, document.documentElement.clientWidth];"
        )

        def clear() -> bool:
            at = driver.execute_script(placed)
            return bool(at) and at[0] >= at[2] and at[1] <= at[3]

        wait_until(clear, timeout=30, what="the popup within the screen, right of the zoom buttons")
        artefact(driver, "carte-telephone")
        assert script_errors(driver) == []


def text_of(driver: Any, css: str) -> str:
    """The text of the first element matching ``css`` now (read in the page: the page may
    replace the element between a lookup and a read)."""
    return driver.execute_script(  # type: ignore[no-any-return]
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", css
    )


def focus_of(driver: Any, css: str) -> str | None:
    return driver.execute_script(  # type: ignore[no-any-return]
        "const e = document.querySelector(arguments[0]); return e && e.getAttribute('tabindex')",
        css,
    )


def test_the_map_falls_back_to_the_outlines_when_tiles_are_unreachable(
    stations, registry, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    dead = f"http://127.0.0.1:{closed_port()}/{{z}}/{{x}}/{{y}}.png"
    with api_and_browser(registry, influxd, influx_db, map_tiles_url=dead) as (base, driver):
        driver.get(f"{base}/carte")
        wait_until(
            lambda: "no-tiles" in driver.find_element(By.TAG_NAME, "body").get_attribute("class"),
            timeout=20,
            what="the fallback",
        )
        assert driver.find_element(By.ID, "tiles-note").is_displayed()
        wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, ".mk"), timeout=30, what="markers")
        outlines = driver.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive")
        assert outlines, "the QPV outlines are drawn without tiles"
        assert not driver.find_elements(By.CSS_SELECTOR, "img.leaflet-tile")
        artefact(driver, "carte-sans-fond")
        assert script_errors(driver) == []


def test_the_station_page_is_live_with_class_advice_and_sensor_state(
    stations, registry, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    with api_and_browser(registry, influxd, influx_db) as (base, driver):
        driver.get(f"{base}/stations/lens-01")
        card = wait_until(
            lambda: text_of(driver, '.card[data-quantity="pm2_5"]'),
            timeout=30,
            what="the PM2.5 card",
        )
        assert "12,3" in str(card)  # the valid value, not the warm-up 880
        assert driver.find_element(By.ID, "class-badge").text == "Moyen"
        assert "Pas de précaution particulière" in driver.find_element(By.ID, "class").text
        sensors = driver.find_element(By.ID, "sensors").text
        assert "sds011 : fonctionne ; 2 valeurs signalées" in sensors and "warmup" in sensors
        assert "bme280 : silencieux depuis" in sensors
        assert "Active" in driver.find_element(By.ID, "status").text
        back = driver.find_element(By.ID, "back").get_attribute("href")
        assert back.endswith("/carte?station=lens-01")
        artefact(driver, "station-fr")
        # a reading that arrives while the page is open shows within one poll (15 s)
        w = InfluxWriter(influxd.url, influx_db)
        now = int(time.time() * 1000)
        w.write_lines(f"readings,sensor=sds011,station=lens-01 pm2_5=27.4,pm10=30.0 {now}".encode())
        w.close()
        wait_until(
            lambda: "27,4" in text_of(driver, '.card[data-quantity="pm2_5"]'),
            timeout=40,
            what="the new reading on the open page",
        )
        assert script_errors(driver) == []

        driver.get(f"{base}/stations/lens-01?lang=en")
        wait_until(
            lambda: (
                driver.find_elements(By.ID, "class-badge")
                and driver.find_element(By.ID, "class-badge").text == "Fair"
            ),
            timeout=30,
            what="the class in English",
        )
        assert "sds011: working" in driver.find_element(By.ID, "sensors").text.replace(" :", ":")
        artefact(driver, "station-en")
        assert script_errors(driver) == []

        # in Arabic: right to left, class, sensors and links translated
        driver.get(f"{base}/stations/lens-01?lang=ar")
        wait_until(
            lambda: (
                driver.find_elements(By.ID, "class-badge")
                and driver.find_element(By.ID, "class-badge").text == "متوسط"
            ),
            timeout=30,
            what="the class in Arabic",
        )
        html = driver.find_element(By.TAG_NAME, "html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
        assert "يعمل" in driver.find_element(By.ID, "sensors").text  # "working"
        assert driver.find_element(By.ID, "back").text == "عرض على الخريطة"
        assert (
            driver.find_element(By.ID, "back")
            .get_attribute("href")
            .endswith("/carte?station=lens-01&lang=ar")
        )
        artefact(driver, "station-ar")
        assert script_errors(driver) == []

        # an indoor station's public page shows no reading, only the way to the private page
        # (the API answers it as an unknown station: 404, issue 17)
        driver.get(f"{base}/stations/maison-07")
        wait_until(
            lambda: "Station intérieure" in driver.find_element(By.ID, "status").text,
            timeout=30,
            what="the indoor notice",
        )
        assert not driver.find_elements(By.CSS_SELECTOR, ".card")
        # the 404 of /v1/stations/maison-07 is logged by the browser; no script error besides
        assert [e for e in script_errors(driver) if "/v1/stations/maison-07 " not in e] == []


def test_the_owner_sees_the_indoor_station_with_the_token_in_the_fragment(
    stations, registry, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    token = stations["maison-07"]
    with api_and_browser(registry, influxd, influx_db) as (base, driver):
        driver.get(f"{base}/stations/maison-07/prive#jeton={token}")
        wait_until(
            lambda: driver.find_element(By.ID, "co2-box").is_displayed(),
            timeout=30,
            what="the CO2 section",
        )
        assert driver.find_element(By.ID, "co2-value").text == "1210"
        assert "aérez maintenant" in driver.find_element(By.ID, "co2-advice").text
        assert driver.find_element(By.ID, "radon-value").text == "350"
        radon = driver.find_element(By.ID, "radon-advice").text
        assert "au-dessus du niveau de référence de 300 Bq/m³" in radon
        assert token not in driver.current_url  # taken out of the address bar
        artefact(driver, "prive-fr")
        # every request of the page: the token is in none of their URLs
        urls = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert urls and not [u for u in urls if token in u]
        assert script_errors(driver) == []

        driver.get(f"{base}/stations/maison-07/prive?lang=en#jeton=wrong-token-123")
        wait_until(
            lambda: "wrong token" in driver.find_element(By.ID, "error").text,
            timeout=30,
            what="the refusal",
        )
        assert not driver.find_element(By.ID, "content").is_displayed()

        # the refusal's 401 is in the browser's log: read it out before the next page
        assert [e for e in script_errors(driver) if "401" not in e] == []

        # in Arabic, right to left; the token again from the fragment
        driver.get(f"{base}/stations/maison-07/prive?lang=ar#jeton={token}")
        wait_until(
            lambda: driver.find_element(By.ID, "co2-box").is_displayed(),
            timeout=30,
            what="the CO2 section in Arabic",
        )
        html = driver.find_element(By.TAG_NAME, "html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
        assert "هوّوا الآن" in driver.find_element(By.ID, "co2-advice").text  # "air it now"
        assert "300 Bq/m³" in driver.find_element(By.ID, "radon-advice").text
        assert token not in driver.current_url
        artefact(driver, "prive-ar")
        assert script_errors(driver) == []


def test_without_the_map_libraries_the_page_lists_the_stations(
    stations, registry, influxd, influx_db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """scripts/setup not run (no node_modules): no script tag for a missing file, no error."""
    from selenium.webdriver.common.by import By

    from api.routes import pages

    monkeypatch.setattr(pages, "VENDOR", {n: f"absent/{n}" for n in pages.VENDOR})
    with api_and_browser(registry, influxd, influx_db) as (base, driver):
        driver.get(f"{base}/carte")
        wait_until(
            lambda: "École Jean-Macé" in driver.find_element(By.ID, "list").text,
            timeout=30,
            what="the list of stations",
        )
        assert "bibliothèque Leaflet absente" in driver.find_element(By.ID, "error").text
        assert not driver.find_element(By.ID, "map").is_displayed()
        assert script_errors(driver) == []


def test_a_browser_in_arabic_gets_the_pages_in_arabic_without_asking(
    stations, registry, influxd, influx_db
) -> None:  # type: ignore[no-untyped-def]
    """No ?lang=: the browser's languages decide, on the map served ready (one document for
    every query, api/map_layers.py) as on the station page rendered per request."""
    from selenium.webdriver.common.by import By

    with api_and_browser(registry, influxd, influx_db, languages="ar-MA,ar,fr") as (base, driver):
        # the first /carte goes through its route, the next is served ready (another address:
        # not from the browser's cache)
        for query in ("", "?station=lens-01"):
            driver.get(f"{base}/carte{query}")
            wait_until(
                lambda: "École Jean-Macé" in driver.find_element(By.ID, "list").text,
                timeout=30,
                what="the list of stations",
            )
            html = driver.find_element(By.TAG_NAME, "html")
            assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
            assert driver.find_element(By.TAG_NAME, "h1").text.startswith("جودة الهواء")
        driver.get(f"{base}/stations/lens-01")
        wait_until(
            lambda: driver.find_element(By.ID, "back").text == "عرض على الخريطة",
            timeout=30,
            what="the station page in Arabic",
        )
        html = driver.find_element(By.TAG_NAME, "html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
        assert script_errors(driver) == []
