"""A small helper for researchers: AirQuartiers series as pandas DataFrames.

Needs only ``httpx``, ``pandas`` and ``pyarrow`` (``pip install 'airquartiers[client]'``), not
the server code::

    from airq_client import Client

    api = Client("https://api.example.org")
    df = api.series(["lens-01", "lille-02"], ["pm2_5", "pm10"], start="2026-01-01T00:00:00Z",
                    end="2026-02-01T00:00:00Z", every="1h", agg=["mean", "count"])
    df.attrs["licence"]   # licence and provenance of the data (ODbL, attribution, correction)

Indoor stations (radon, CO2 at home) answer only to their owner and the admin: pass
``token=`` (the admin token, or a station's token when you ask for that one station) or
``auth=("station-id", "token")`` (HTTP Basic); without them they are unknown (404) and left
out of bounding-box and QPV selections.

Errors: ``ClientError`` (the API refused the request: the message is the API's reason) and
``httpx.HTTPError`` (transport).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Client", "ClientError", "fetch_series"]


class ClientError(Exception):
    """The API refused the request (4xx/5xx); ``status`` and the API's message. Fix the
    parameters it names (or wait and retry for 429/503)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _listify(v: str | Sequence[str] | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def series_params(
    station: str | Sequence[str] | None = None,
    quantity: str | Sequence[str] = "pm2_5",
    start: str | None = None,
    end: str | None = None,
    every: str = "1h",
    agg: str | Sequence[str] = "mean",
    tz: str = "UTC",
    bbox: str | None = None,
    qpv: str | None = None,
    sensor: str | None = None,
    format: str = "parquet",
    include_flagged: bool = False,
) -> list[tuple[str, str]]:
    """Query parameters of ``GET /v1/series``. ``include_flagged`` (``every="raw"`` only):
    also the raw readings whose flags exclude them from the aggregates (``warmup``,
    ``clock_suspect`` …); every raw row carries its ``flags`` either way."""
    params: list[tuple[str, str]] = [("station", s) for s in _listify(station)]
    params += [("quantity", q) for q in _listify(quantity)]
    params += [("agg", a) for a in _listify(agg)]
    for key, value in (
        ("start", start),
        ("end", end),
        ("every", every),
        ("tz", tz),
        ("bbox", bbox),
        ("qpv", qpv),
        ("sensor", sensor),
        ("format", format),
    ):
        if value is not None:
            params.append((key, value))
    if include_flagged:
        params.append(("include_flagged", "true"))
    return params


def _raise_for(r: httpx.Response) -> None:
    if r.status_code < 400:
        return
    r.read()
    try:
        detail: Any = r.json().get("detail", r.text)
    except (ValueError, AttributeError):
        detail = r.text
    if not isinstance(detail, str):
        detail = json.dumps(detail, ensure_ascii=False)
    raise ClientError(r.status_code, detail[:1000])


class Client:
    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        timeout: float = 300,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        """``token``: sent as a Bearer token (the admin token, or a station's token for
        requests about that station only); ``auth``: a station's (id, token), sent as HTTP
        Basic. Either one opens that station's indoor readings (see the module docstring)."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers=headers,
            auth=auth,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def series(
        self,
        station: str | Sequence[str] | None = None,
        quantity: str | Sequence[str] = "pm2_5",
        **kw: Any,
    ) -> Any:
        """The series as a pandas DataFrame (long: time, station, sensor, quantity, then
        ``value`` and ``flags`` or one column per statistic); ``df.attrs["licence"]`` holds the
        licence and provenance. Transferred as Parquet. ``include_flagged=True`` (raw only)
        also returns the readings whose flags exclude them from the aggregates."""
        import pandas as pd
        import pyarrow.parquet as pq

        kw["format"] = "parquet"
        # a tuple: httpx takes a tuple of (key, str) pairs, but only a list of its own union
        params = tuple(series_params(station, quantity, **kw))
        r = self._http.get("/v1/series", params=params)
        _raise_for(r)
        table = pq.read_table(io.BytesIO(r.content))
        df: pd.DataFrame = table.to_pandas()
        meta = table.schema.metadata or {}
        if b"airq.provenance" in meta:
            df.attrs["licence"] = json.loads(meta[b"airq.provenance"])
        return df

    def download(
        self,
        path: str | Path,
        station: str | Sequence[str] | None = None,
        quantity: str | Sequence[str] = "pm2_5",
        format: str | None = None,
        **kw: Any,
    ) -> Path:
        """Stream a CSV or Parquet export into ``path`` (format from its suffix by default);
        never holds the whole file in memory."""
        path = Path(path)
        fmt = format or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
        params = tuple(series_params(station, quantity, format=fmt, **kw))
        tmp = path.with_name(path.name + ".part")
        with self._http.stream("GET", "/v1/series", params=params) as r:
            _raise_for(r)
            with open(tmp, "wb") as f:
                for chunk in r.iter_bytes():
                    f.write(chunk)
        tmp.replace(path)
        return path

    def stations(self, **filters: Any) -> Any:
        """Stations (``GET /v1/stations``) as a DataFrame with lon/lat columns: every page,
        following the answers' ``next`` links."""
        import pandas as pd

        rows = []
        url: str | None = "/v1/stations"
        params: dict[str, Any] | None = {k: v for k, v in filters.items() if v is not None}
        while url is not None:
            r = self._http.get(url, params=params)
            _raise_for(r)
            body = r.json()
            for f in body["features"]:
                lon, lat = f["geometry"]["coordinates"]
                rows.append({**f["properties"], "lon": lon, "lat": lat})
            url = next((ln["href"] for ln in body.get("links", []) if ln["rel"] == "next"), None)
            params = None  # the next link carries the filters
        return pd.DataFrame(rows)


def fetch_series(
    base_url: str,
    station: str | Sequence[str] | None = None,
    quantity: str | Sequence[str] = "pm2_5",
    token: str | None = None,
    **kw: Any,
) -> Any:
    """One call: ``fetch_series(url, "lens-01", "pm2_5", every="1d")`` -> DataFrame."""
    with Client(base_url, token=token) as c:
        return c.series(station, quantity, **kw)
