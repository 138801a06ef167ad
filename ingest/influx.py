"""InfluxDB v1 HTTP API writer (``/write`` with line protocol, ``/query`` for set-up)."""

from __future__ import annotations

import logging

import httpx

from airq_core.storage import TIME_PRECISION

log = logging.getLogger(__name__)


class InfluxWriteError(RuntimeError):
    """A write failed. ``retry`` tells whether trying again later can succeed."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class InfluxWriter:
    def __init__(self, url: str, db: str, username: str | None = None,
                 password: str | None = None, timeout: float = 30) -> None:
        auth = (username, password or "") if username else None
        self._client = httpx.Client(base_url=url, auth=auth, timeout=timeout)
        self.db = db

    def close(self) -> None:
        self._client.close()

    def ensure_database(self) -> None:
        """CREATE DATABASE is idempotent in InfluxDB 1.x."""
        r = self._client.post("/query", params={"q": f'CREATE DATABASE "{self.db}"'})
        r.raise_for_status()

    def write_lines(self, body: bytes) -> None:
        try:
            r = self._client.post(
                "/write", params={"db": self.db, "precision": TIME_PRECISION}, content=body
            )
        except httpx.HTTPError as exc:
            raise InfluxWriteError(f"InfluxDB unreachable: {exc}", retry=True) from exc
        if r.status_code == 204:
            return
        if r.status_code == 404 and "database not found" in r.text:
            try:
                self.ensure_database()
            except httpx.HTTPError:
                pass
        text = r.text[:300]
        # 4xx: the batch itself is bad (should not happen after validation); 5xx: retry.
        raise InfluxWriteError(f"InfluxDB /write {r.status_code}: {text}",
                               retry=r.status_code >= 500 or r.status_code == 404)
