"""Pages of the list routes (``GET /v1/stations``, ``GET /v1/admin/stations``): stations
ordered by id, ``limit`` at a time, the next page asked with ``after=<the last id>`` (a
cursor: a station added or retired between two pages neither repeats nor hides another).
The next page's address is relative (path and query), so it is right behind any proxy."""

from __future__ import annotations

from typing import Any

from fastapi import Request

__all__ = ["LINK_HEADER", "MAX_PAGE", "PAGE", "next_page"]

PAGE = 1000
"""Stations per page when ``limit`` is not given."""

MAX_PAGE = 10_000

LINK_HEADER: dict[str, Any] = {
    "Link": {
        "description": 'the next page while there is one: `</v1/...?after=ID&limit=N>; rel="next"`',
        "schema": {"type": "string"},
    }
}
"""OpenAPI ``headers`` of a paged answer."""


def next_page(request: Request, last_id: str, limit: int) -> str:
    """The path and query of the page after ``last_id``, with the request's other
    parameters."""
    query = request.url.include_query_params(after=last_id, limit=limit).query
    return f"{request.url.path}?{query}"
