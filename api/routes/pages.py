"""Public pages for residents: the map (``/carte``) and one page per station
(``/stations/{id}``, the address printed on workshop labels). Static HTML that reads the API;
French first, ``?lang=en`` for English.

The Content-Security-Policy allows no inline script but the page's own: each ``<script>`` of a
page is allowed by its SHA-256, computed here from the file (so an edit of the page cannot
leave a stale hash), and ``'unsafe-inline'`` is never sent for scripts. The scripts write every
text of the registry or of residents with ``textContent``: a station named
``<img src=x onerror=…>`` is shown as those characters (issue 20)."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

_STATIC = files("api") / "static"
_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)
NONE = "'none'"


def csp_for(html: str) -> str:
    """The page's policy: its inline scripts by hash, nothing else runs; the pages keep a
    ``<style>`` block and set styles from their scripts, hence ``'unsafe-inline'`` for styles
    alone."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _SCRIPT_RE.findall(html)
    )
    return (
        f"default-src 'self'; script-src {hashes or NONE}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _read(name: str) -> tuple[str, dict[str, str]]:
    # read at each request (a few µs with the hash): an edited page is served at once
    html = (_STATIC / name).read_text(encoding="utf-8")
    return html, {
        "Cache-Control": "public, max-age=300",
        "Content-Security-Policy": csp_for(html),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _page(name: str) -> HTMLResponse:
    html, headers = _read(name)
    return HTMLResponse(html, headers=headers)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/carte")


@router.get("/carte")
async def map_page() -> HTMLResponse:
    return _page("carte.html")


@router.get("/stations/{station_id}")
async def station_page(station_id: str) -> HTMLResponse:
    return _page("station.html")
