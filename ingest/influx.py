"""InfluxDB v1 HTTP API writer (``/write`` with line protocol, ``/query`` for set-up)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import httpx
import msgpack
import orjson

from airq_core.storage import AGG_RP, RAW_RP, TIME_PRECISION

log = logging.getLogger(__name__)


# Shard groups of the aggregates kept forever. InfluxDB's default for an infinite retention is
# 7 days, meant for dense data; aggregates are sparse (24 hourly points per series and day,
# one packed point a day) and read over long periods, and every shard a query touches costs
# it a fixed set-up: reading a year of packed hourly days took 4.3 ms with 7-day shards and
# 2.5 ms with 52-week shards (measured on InfluxDB 1.6, see docs/ingest.md).
AGG_SHARD_DURATION = "52w"


class InfluxWriteError(RuntimeError):
    """A write failed. ``retry`` tells whether trying again later can succeed."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class InfluxWriter:
    def __init__(
        self,
        url: str,
        db: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ) -> None:
        auth = (username, password or "") if username else None
        # identity: httpx asks for gzip by default, and influxd then compresses every answer;
        # on the local link that costs more than it saves (a year of packed days: 5.7 ms
        # with gzip, 1.5 ms without; the rebuild's raw chunks likewise)
        self._client = httpx.Client(
            base_url=url, auth=auth, timeout=timeout, headers={"Accept-Encoding": "identity"}
        )
        self.db = db
        self._retention = ("400d", "INF")

    def close(self) -> None:
        self._client.close()

    def query(
        self, q: str, timeout: float | None = None, binary: bool = False
    ) -> list[dict[str, Any]]:
        """Runs InfluxQL (ms epochs); the list of statement results. Raises InfluxWriteError
        (retry=True when InfluxDB is unreachable or failing, False for a bad query).

        ``binary``: ask for MessagePack instead of JSON (InfluxDB ≥ 1.4): for large results,
        about a quarter less work for influxd than encoding JSON."""
        headers = {"Accept": "application/x-msgpack"} if binary else None
        try:
            r = self._client.post(
                "/query",
                params={"db": self.db, "q": q, "epoch": "ms"},
                headers=headers,
                timeout=timeout or self._client.timeout,
            )
        except httpx.HTTPError as exc:
            raise InfluxWriteError(f"InfluxDB unreachable: {exc}", retry=True) from exc
        if r.status_code != 200:
            raise InfluxWriteError(
                f"InfluxDB /query {r.status_code}: {r.text[:300]}", retry=r.status_code >= 500
            )
        if binary and r.headers.get("content-type", "").startswith("application/x-msgpack"):
            body = msgpack.unpackb(r.content)
        else:
            body = orjson.loads(r.content)
        results: list[dict[str, Any]] = body.get("results", [])
        for res in results:
            if "error" in res:
                raise InfluxWriteError(f"InfluxQL error: {res['error']}", retry=False)
        return results

    def float_fields(self, measurement: str, rp: str = RAW_RP) -> list[str]:
        """Float fields of a measurement (SHOW FIELD KEYS)."""
        res = self.query(f'SHOW FIELD KEYS FROM "{rp}"."{measurement}"')
        return [
            name
            for series in (res[0].get("series", []) if res else [])
            for name, kind in series["values"]
            if kind == "float"
        ]

    def _run(self, q: str) -> str | None:
        r = self._client.post("/query", params={"q": q})
        r.raise_for_status()
        results = r.json().get("results", [{}])
        return results[0].get("error") if results else None

    def ensure_database(self, raw_retention: str = "400d", agg_retention: str = "INF") -> None:
        """Create the database and its retention policies (idempotent): raw readings in
        ``raw`` (the default policy) for ``raw_retention``, aggregates in ``agg``. Aggregates
        kept forever get shard groups of 52 weeks (``AGG_SHARD_DURATION``)."""
        self._retention = (raw_retention, agg_retention)
        self._run(f'CREATE DATABASE "{self.db}"')
        for rp, duration, default in (
            (RAW_RP, raw_retention, " DEFAULT"),
            (AGG_RP, agg_retention, ""),
        ):
            shard = ""
            if rp == AGG_RP and duration.upper() in ("INF", "0", "0S"):
                shard = f" SHARD DURATION {AGG_SHARD_DURATION}"
            err = self._run(
                f'CREATE RETENTION POLICY "{rp}" ON "{self.db}" '
                f"DURATION {duration} REPLICATION 1{shard}{default}"
            )
            if err and "already exists" in err:
                err = self._run(
                    f'ALTER RETENTION POLICY "{rp}" ON "{self.db}" '
                    f"DURATION {duration}{shard}{default}"
                )
            if err:
                raise InfluxWriteError(f"cannot set retention policy {rp}: {err}", retry=False)

    def write_lines(self, body: bytes, rp: str = RAW_RP) -> None:
        try:
            r = self._client.post(
                "/write",
                params={"db": self.db, "rp": rp, "precision": TIME_PRECISION},
                content=body,
            )
        except httpx.HTTPError as exc:
            raise InfluxWriteError(f"InfluxDB unreachable: {exc}", retry=True) from exc
        if r.status_code == 204:
            return
        if r.status_code == 404 and "not found" in r.text:
            with contextlib.suppress(httpx.HTTPError, InfluxWriteError):
                self.ensure_database(*self._retention)
        text = r.text[:300]
        # 4xx: the batch itself is bad (should not happen after validation); 5xx: retry.
        raise InfluxWriteError(
            f"InfluxDB /write {r.status_code}: {text}",
            retry=r.status_code >= 500 or r.status_code == 404,
        )
