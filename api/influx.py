"""InfluxDB v1 ``/query`` client for the API (async, bind parameters for every value)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson


class InfluxQueryError(RuntimeError):
    """InfluxDB could not answer; the API turns this into a 503."""


# Errors that mean "nothing stored yet" (a database or retention policy the ingest has not
# created yet, and the statements after it): answered as empty results.
_EMPTY_ERRORS = ("database not found", "retention policy not found", "not executed")


def _is_empty_error(err: str) -> bool:
    return any(e in err for e in _EMPTY_ERRORS)


class InfluxReader:
    def __init__(
        self,
        url: str,
        db: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ) -> None:
        auth = (username, password or "") if username else None
        # identity: on a local link, gzip costs InfluxDB and us more CPU than it saves time
        self._client = httpx.AsyncClient(
            base_url=url, auth=auth, timeout=timeout, headers={"Accept-Encoding": "identity"}
        )
        self.db = db

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query(self, q: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one or more statements; returns InfluxDB's ``results`` list (epoch ms times)."""
        form = {"q": q, "db": self.db, "epoch": "ms"}
        if params:
            form["params"] = json.dumps(params)
        try:
            r = await self._client.post("/query", data=form)
        except httpx.HTTPError as exc:
            raise InfluxQueryError(f"InfluxDB unreachable: {exc}") from exc
        if r.status_code != 200:
            raise InfluxQueryError(f"InfluxDB /query {r.status_code}: {r.text[:200]}")
        results: list[dict[str, Any]] = orjson.loads(r.content).get("results", [])
        for res in results:
            if "error" in res and not _is_empty_error(res["error"]):
                raise InfluxQueryError(f"InfluxDB query error: {res['error']}")
        return results

    async def stream(
        self, q: str, params: dict[str, Any] | None = None, chunk_size: int = 10_000
    ) -> AsyncIterator[dict[str, Any]]:
        """Run one statement with ``chunked=true``; yields its series pieces as they arrive
        (``{"name", "tags", "columns", "values"}``; a series may come in several pieces, in
        order), so that a long result is never held in memory whole."""
        form = {
            "q": q,
            "db": self.db,
            "epoch": "ms",
            "chunked": "true",
            "chunk_size": str(chunk_size),
        }
        if params:
            form["params"] = json.dumps(params)
        try:
            async with self._client.stream("POST", "/query", data=form) as r:
                if r.status_code != 200:
                    text = (await r.aread()).decode(errors="replace")
                    raise InfluxQueryError(f"InfluxDB /query {r.status_code}: {text[:200]}")
                async for line in r.aiter_lines():
                    if not line.strip():
                        continue
                    obj = json.loads(line)
                    if obj.get("error") and not _is_empty_error(obj["error"]):
                        raise InfluxQueryError(f"InfluxDB query error: {obj['error']}")
                    for res in obj.get("results", []):
                        err = res.get("error")
                        if err and not _is_empty_error(err):
                            raise InfluxQueryError(f"InfluxDB query error: {err}")
                        for series in res.get("series", []):
                            yield series
        except httpx.HTTPError as exc:
            raise InfluxQueryError(f"InfluxDB unreachable: {exc}") from exc

    async def ping(self) -> bool:
        try:
            return (await self._client.get("/ping")).status_code == 204
        except httpx.HTTPError:
            return False
