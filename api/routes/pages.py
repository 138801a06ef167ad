"""Public pages for residents: the map (``/carte``) and one page per station
(``/stations/{id}``, the address printed on workshop labels). Static HTML that reads the API;
French first, ``?lang=en`` for English."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

_STATIC = files("api") / "static"


def _page(name: str) -> HTMLResponse:
    return HTMLResponse(
        (_STATIC / name).read_text(encoding="utf-8"),
        headers={
            "Cache-Control": "public, max-age=300",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' "
            "'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:",
        },
    )


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/carte")


@router.get("/carte")
async def map_page() -> HTMLResponse:
    return _page("carte.html")


@router.get("/stations/{station_id}")
async def station_page(station_id: str) -> HTMLResponse:
    return _page("station.html")
