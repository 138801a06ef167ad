"""Public pages for residents: the map (``/carte``, ``?station=ID`` opens on one station), one
page per station (``/stations/{id}``, the address printed on workshop labels) and the owner's
private page of a station (``/stations/{id}/prive``, the token in the URL fragment). Static
HTML that reads the API, in the language of ``?lang=``, else of the browser
(``Accept-Language``), else ``AIRQ_LANG`` (French): the server sets ``<html lang dir>``
(``rtl`` for Arabic) and puts the pages' messages in a ``<script type="application/json"
id="i18n">`` block (a data block, never run: the CSP is unchanged), where the page's ``_()``
finds them; see api/i18n.py and docs/translations.md.

The map draws with Leaflet and Leaflet.markercluster, npm packages pinned by
``api/static/package-lock.json`` and installed in ``api/static/node_modules`` by
``scripts/setup`` (and the Dockerfile): never copied into the repository. ``/vendor/{name}``
serves the few files the pages load, from a fixed table.

The Content-Security-Policy allows no inline script but the page's own: each ``<script>`` of a
page is allowed by its SHA-256, computed here from the file (so an edit of the page cannot
leave a stale hash), and ``'unsafe-inline'`` is never sent for scripts. The library scripts
are allowed the same way: their ``<script src>`` gets an ``integrity`` attribute with the
SHA-256 of the installed file, and that hash goes into ``script-src`` (CSP 3: a hash allows an
external script whose integrity metadata matches it). The scripts write every text of the
registry or of residents with ``textContent``: a station named ``<img src=x onerror=…>`` is
shown as those characters (issue 20).

Pages are rendered once per (file, settings) and kept while their files do not change: a
request costs a ``stat`` of each file."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import logging
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SettingsDep
from api.i18n import LANGUAGES, SOURCE_LANGUAGE, messages_json, pick_language
from api.settings import ApiSettings

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

_STATIC = files("api") / "static"
_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_VENDOR_SCRIPT_RE = re.compile(r'<script src="/vendor/([\w.-]+)"></script>')
_VENDOR_LINK_RE = re.compile(r'<link rel="stylesheet" href="/vendor/([\w.-]+)">')
NONE = "'none'"

# name served under /vendor/ -> file under api/static/node_modules (npm ci in api/static)
VENDOR: dict[str, str] = {
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def csp_for(html: str, extra_scripts: tuple[str, ...] = (), img_src: tuple[str, ...] = ()) -> str:
    """The page's policy: its inline scripts by hash (and ``extra_scripts``, the base64
    SHA-256 of the library files it loads with ``integrity``), nothing else runs; the pages
    keep a ``<style>`` block and Leaflet sets styles, hence ``'unsafe-inline'`` for styles
    alone; images from the site, ``data:`` and ``img_src`` (the map's tile server)."""
    hashes = " ".join(
        [f"'sha256-{_sha256_b64(s.encode())}'" for s in _SCRIPT_RE.findall(html)]
        + [f"'sha256-{h}'" for h in extra_scripts]
    )
    images = " ".join(("'self'", "data:", *img_src))
    return (
        f"default-src 'self'; script-src {hashes or NONE}; "
        f"style-src 'self' 'unsafe-inline'; img-src {images}; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def tile_source(template: str) -> str:
    """The CSP source of a tile template: its scheme and host (``{s}`` subdomains as ``*``)."""
    parts = urlsplit(template)
    host = parts.netloc.replace("{s}", "*")
    return f"{parts.scheme}://{host}"


def vendor_path(name: str) -> Path | None:
    rel = VENDOR.get(name)
    if rel is None:
        return None
    return Path(str(_STATIC / "node_modules" / rel))


@dataclass(frozen=True, slots=True)
class _Asset:
    stamp: tuple[int, int]
    body: bytes
    sha256: str


_assets: dict[str, _Asset] = {}
_pages: dict[tuple[object, ...], tuple[str, dict[str, str]]] = {}
_missing_logged: set[str] = set()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def read_asset(name: str) -> _Asset | None:
    """A library file with its hash, kept while it does not change; None when not installed."""
    path = vendor_path(name)
    stamp = _stamp(path) if path else None
    if path is None or stamp is None:
        if name in VENDOR and name not in _missing_logged:
            _missing_logged.add(name)
            log.warning("%s is not installed: run scripts/setup (npm ci in api/static)", name)
        return None
    kept = _assets.get(name)
    if kept is None or kept.stamp != stamp:
        body = path.read_bytes()
        kept = _assets[name] = _Asset(stamp, body, _sha256_b64(body))
    return kept


def _tiles(s: ApiSettings | None) -> dict[str, str]:
    if s is None:
        return {}
    return {
        "__TILES_URL__": s.map_tiles_url,
        "__TILES_ATTRIBUTION__": s.map_tiles_attribution,
        "__TILES_ATTRIBUTION_URL__": s.map_tiles_attribution_url,
        "__TILES_MAX_ZOOM__": str(s.map_tiles_max_zoom),
    }


def render(
    name: str, settings: ApiSettings | None = None, lang: str | None = None
) -> tuple[str, dict[str, str]]:
    """The page ``name`` as served in ``lang`` (default: ``AIRQ_LANG``), and its headers:
    library tags get their ``integrity`` (dropped when the library is not installed: the page
    then shows its fallback), the tile settings fill the ``__TILES_…__`` placeholders
    (HTML-escaped), the pages' messages fill ``__I18N__`` and ``<html>`` gets ``lang``
    and ``dir``."""
    if lang is None:
        lang = settings.lang if settings is not None else SOURCE_LANGUAGE
    path = Path(str(_STATIC / name))
    tiles = _tiles(settings)
    stamp = _stamp(path)
    assets = {n: read_asset(n) for n in VENDOR}
    messages = messages_json()
    key = (
        name,
        stamp,
        tuple(tiles.values()),
        tuple(a.stamp if a else None for a in assets.values()),
        lang,
        messages,
    )
    kept = _pages.get(key)
    if kept is not None:
        return kept
    html = path.read_text(encoding="utf-8")
    used: list[str] = []

    def script(m: re.Match[str]) -> str:
        asset = assets.get(m.group(1))
        if asset is None:
            return ""
        used.append(asset.sha256)
        v = asset.sha256[:10].replace("/", "_").replace("+", "-")
        return (
            f'<script src="/vendor/{m.group(1)}?v={v}" integrity="sha256-{asset.sha256}"></script>'
        )

    def link(m: re.Match[str]) -> str:
        asset = assets.get(m.group(1))
        if asset is None:
            return ""
        v = asset.sha256[:10].replace("/", "_").replace("+", "-")
        return f'<link rel="stylesheet" href="/vendor/{m.group(1)}?v={v}">'

    html = html.replace("__I18N__", messages, 1)
    html = html.replace('<html lang="fr">', f'<html lang="{lang}" dir="{LANGUAGES[lang][1]}">', 1)
    html = _VENDOR_SCRIPT_RE.sub(script, html)
    html = _VENDOR_LINK_RE.sub(link, html)
    images: tuple[str, ...] = ()
    if tiles and "__TILES_URL__" in html:
        for k, v in tiles.items():
            html = html.replace(k, html_lib.escape(v, quote=True))
        images = (tile_source(tiles["__TILES_URL__"]),)
    headers = {
        "Cache-Control": "public, max-age=300",
        "Content-Security-Policy": csp_for(html, tuple(used), images),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Vary": "Accept-Language",
    }
    if len(_pages) > 64:
        _pages.clear()
    _pages[key] = (html, headers)
    return html, headers


def _language(request: Request, settings: ApiSettings) -> str:
    return pick_language(
        request.query_params.get("lang"), request.headers.get("accept-language"), settings.lang
    )


def _page(name: str, request: Request, settings: ApiSettings) -> HTMLResponse:
    html, headers = render(name, settings, _language(request, settings))
    return HTMLResponse(html, headers=headers)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/carte")


@router.get("/carte")
async def map_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _page("carte.html", request, settings)


@router.get("/stations/{station_id}")
async def station_page(station_id: str, request: Request, settings: SettingsDep) -> HTMLResponse:
    return _page("station.html", request, settings)


@router.get("/stations/{station_id}/prive")
async def private_page(station_id: str, request: Request, settings: SettingsDep) -> HTMLResponse:
    """The owner's page of a station: the token comes in the URL fragment (``#jeton=…``),
    which browsers never send to the server nor in a ``Referer``; the page posts it to
    ``/v1/owner/station``. Never cached, never indexed, no referrer at all."""
    html, headers = render("prive.html", None, _language(request, settings))
    headers = dict(headers)
    headers.update(
        {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
    )
    return HTMLResponse(html, headers=headers)


@router.get("/vendor/{name}")
async def vendor_file(name: str) -> Response:
    """One file of the pages' libraries (fixed table), cached a day by browsers (the pages
    ask for it with ``?v=`` its hash, so an update is fetched at once)."""
    asset = read_asset(name)
    if asset is None:
        if name in VENDOR:
            raise HTTPException(404, f"{name} is not installed: run scripts/setup")
        raise HTTPException(404, "unknown file")
    return Response(
        asset.body,
        media_type=_TYPES[Path(name).suffix],
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
