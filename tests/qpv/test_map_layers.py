"""The map's layers (exposure.geojson, stations.geojson) as ready answers, on a real influxd and
the API on a real uvicorn: the same bytes and ETag from two app instances, 304 on a matching
If-None-Match, gzip decoding to the identity bytes, a new reading shown after the refresh
interval (and not before: the answer is not recomputed per request), parameter sets kept apart,
and the rate limit of the map routes."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest

from airq.services import InfluxDB
from airq_core.readings import format_time
from airq_core.storage import AGG_RP
from api.influx import InfluxReader
from api.map_builder import ProcessBuilder
from api.map_layers import HOUR, HourlyWindows
from api.qpv.exposure import hour_bounds
from api.registry import Registry
from api.routes.qpv import fetch_hourly
from ingest.influx import InfluxWriter
from tests.api.api_server import running, settings_for
from tests.helpers import wait_until
from tests.qpv.conftest import END, START, STATIONS_L93, latlon, line_protocol

pytestmark = pytest.mark.services

PERIOD = {"start": format_time(START), "end": format_time(END)}
EXPOSURE = "/v1/qpv/exposure.geojson"
STATIONS = "/v1/qpv/stations.geojson"
REFRESH_S = 1.0


@pytest.fixture
def data(
    qpv_file: Path,
    registry: Registry,
    influxd: InfluxDB,
    influx_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """The hand-computed territory and week; the registry's database URL."""
    monkeypatch.setenv("AIRQ_QPV_FILE", str(qpv_file))
    monkeypatch.setenv("AIRQ_MAP_REFRESH_S", str(REFRESH_S))
    for sid, xy in STATIONS_L93.items():
        registry.add(sid, *latlon(xy), name=sid.upper())
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database()
    w.write_lines(line_protocol("pm2_5") + b"\n" + line_protocol("pm10"), rp=AGG_RP)
    w.close()
    return str(registry.engine.url)


@pytest.fixture
def client(data: str, influxd: InfluxDB, influx_db: str) -> Iterator[httpx.Client]:
    with running(settings_for(influxd.url, influx_db, data)) as c:
        yield c


def write_recent(influxd: InfluxDB, influx_db: str, station: str, value: float) -> None:
    hour = int(time.time()) // 3600 * 3600
    lines = "\n".join(
        f"readings_1h,sensor=sds011,station={station} pm2_5_mean={value},pm2_5_count=30 "
        f"{(hour - 3600 * i) * 1000}"
        for i in range(3)
    )
    w = InfluxWriter(influxd.url, influx_db)
    w.write_lines(lines.encode(), rp=AGG_RP)
    w.close()


def identity(c: httpx.Client, path: str, **params: Any) -> httpx.Response:
    r = c.get(path, params=params, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200, r.text
    return r


def test_two_app_instances_serve_the_same_bytes_and_etag(
    data: str, influxd: InfluxDB, influx_db: str
) -> None:
    settings = settings_for(influxd.url, influx_db, data)
    with running(settings) as a, running(settings) as b:
        for path, params in ((EXPOSURE, PERIOD), (EXPOSURE, {}), (STATIONS, {})):
            ra, rb = identity(a, path, **params), identity(b, path, **params)
            assert ra.content == rb.content
            assert ra.headers["etag"] == rb.headers["etag"]
            assert ra.headers["etag"].startswith('"') and not ra.headers["etag"].startswith("W/")


def test_a_matching_if_none_match_gets_304(client: httpx.Client) -> None:
    r = identity(client, EXPOSURE, **PERIOD)
    tag = r.headers["etag"]
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert "stale-while-revalidate" in r.headers["cache-control"]
    assert r.headers["vary"] == "Accept-Encoding" and r.headers["last-modified"].endswith("GMT")
    again = client.get(
        EXPOSURE, params=PERIOD, headers={"If-None-Match": tag, "Accept-Encoding": "identity"}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    other = client.get(EXPOSURE, params=PERIOD, headers={"If-None-Match": '"not-it"'})
    assert other.status_code == 200 and other.content == r.content
    # answers served before the routing still count under their route
    metrics = client.get("/metrics").text
    assert 'route="/v1/qpv/exposure.geojson",status="304"' in metrics


@pytest.mark.parametrize(
    "accept, coding, decompress",
    [
        ("gzip, deflate", "gzip", gzip.decompress),
        ("gzip, deflate, br, zstd", "br", brotli.decompress),  # what browsers send
    ],
)
def test_compressed_bytes_decode_to_the_identity_bytes(
    client: httpx.Client, accept: str, coding: str, decompress: Callable[[bytes], bytes]
) -> None:
    for path, params in ((EXPOSURE, PERIOD), (STATIONS, {})):
        plain = identity(client, path, **params)
        with client.stream("GET", path, params=params, headers={"Accept-Encoding": accept}) as r:
            raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == coding
        assert int(r.headers["content-length"]) == len(raw) < len(plain.content)
        assert decompress(raw) == plain.content
        assert r.headers["etag"] != plain.headers["etag"]  # another representation
        # the compressed representation's tag revalidates too
        again = client.get(path, params=params, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304


def station(c: httpx.Client, sid: str) -> dict[str, Any] | None:
    fc = identity(c, STATIONS).json()
    by_id = {f["id"]: f["properties"] for f in fc["features"]}
    return by_id.get(sid)


def test_a_new_reading_shows_after_the_refresh_interval(
    data: str, influxd: InfluxDB, influx_db: str, registry: Registry
) -> None:
    settings = settings_for(influxd.url, influx_db, data)
    with running(settings) as c:
        before = station(c, "in-1")
        assert before is not None and before["value"] is None
        first = identity(c, STATIONS).content
        write_recent(influxd, influx_db, "in-1", 22.0)
        registry.add("new-1", *latlon((690_100.0, 7_040_050.0)), name="NEW")
        written = time.monotonic()
        # served from the answer built before: not recomputed for this request
        assert identity(c, STATIONS).content == first
        wait_until(
            lambda: (station(c, "in-1") or {}).get("value") == 22.0,
            timeout=REFRESH_S + 10,
            interval=0.1,
            what="the new hourly value on the map",
        )
        elapsed = time.monotonic() - written
        assert elapsed < REFRESH_S + 5, elapsed
        new = station(c, "new-1")
        assert new is not None and new["qpv"] == ["QPTEST01"]  # a station added shows too
        served = identity(c, STATIONS).content
    with running(settings) as fresh:  # the cached answer equals a fresh computation
        assert identity(fresh, STATIONS).content == served


def test_parameter_sets_are_kept_apart(client: httpx.Client) -> None:
    pm25 = identity(client, EXPOSURE, **PERIOD)
    pm10 = identity(client, EXPOSURE, quantity="pm10", **PERIOD)
    default = identity(client, EXPOSURE)
    dep = identity(client, EXPOSURE, departement="99", **PERIOD)
    tags = {r.headers["etag"] for r in (pm25, pm10, default, dep)}
    assert len(tags) == 4
    assert pm25.json()["quantity"] == "pm2_5" and pm10.json()["quantity"] == "pm10"
    assert pm25.json()["features"][0]["properties"]["mean"] == 16.47
    assert default.json()["features"][0]["properties"]["mean"] is None  # 2024 is not now
    assert dep.json()["features"] == []
    assert identity(client, STATIONS, quantity="pm10").json()["name"] == "stations_pm10"
    # a bad parameter set is refused each time, never kept
    for _ in range(2):
        r = client.get(EXPOSURE, params={"quantity": "nope"})
        assert r.status_code == 400 and "unknown quantity" in r.json()["detail"]


@pytest.mark.parametrize("path", [EXPOSURE, STATIONS, "/v1/qpv"])
def test_the_map_routes_are_rate_limited(
    data: str, influxd: InfluxDB, influx_db: str, path: str
) -> None:
    settings = settings_for(
        influxd.url, influx_db, data, rate_limit_per_minute=1, rate_limit_burst=3
    )
    with running(settings) as c:
        codes = [c.get(path).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get(path, headers={"If-None-Match": "*"})  # a revalidation counts as well
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_the_map_page_is_served_ready_with_its_headers(client: httpx.Client) -> None:
    first = client.get("/carte", headers={"Accept-Encoding": "identity"})  # by its route
    assert first.status_code == 200 and "etag" not in first.headers
    for query in ({}, {"lang": "en"}, {"station": "in-1"}):
        r = client.get("/carte", params=query, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200 and r.content == first.content
        for name in ("content-security-policy", "cache-control", "x-content-type-options"):
            assert r.headers[name] == first.headers[name], name
        assert r.headers["content-type"] == "text/html; charset=utf-8"
    tag = r.headers["etag"]
    with client.stream("GET", "/carte", headers={"Accept-Encoding": "gzip"}) as z:
        raw = b"".join(z.iter_raw())
    assert z.headers["content-encoding"] == "gzip" and gzip.decompress(raw) == first.content
    again = client.get("/carte", headers={"If-None-Match": tag, "Accept-Encoding": "identity"})
    assert again.status_code == 304 and again.headers["etag"] == tag
    metrics = client.get("/metrics").text
    assert 'route="/carte",status="304"' in metrics


def _hourly_lines(windows: dict[tuple[str, str], dict[int, float]]) -> bytes:
    return "\n".join(
        f"readings_1h,sensor={sensor},station={sid} pm2_5_mean={v},pm2_5_count=30,"
        f"pm2_5_coverage=1 {t * 1000}"
        for (sid, sensor), hours in windows.items()
        for t, v in hours.items()
    ).encode()


def test_hourly_windows_read_incrementally_equal_a_full_read(
    influxd: InfluxDB, influx_db: str
) -> None:
    """Three days of hourly windows; a rebuild after a new reading (and a late one within
    ``reread_s``, and a new station) reads only the recent hours and the new station's, and
    returns what one read of the whole window returns."""
    now = time.time()
    hour = int(now) // HOUR * HOUR
    t0, t1 = hour_bounds(now - 2 * 86400, now)
    history = {
        (sid, sensor): {hour - HOUR * i: 5.0 + (i * 7 + k) % 23 for i in range(1, 72)}
        for k, (sid, sensor) in enumerate(
            [("a-1", "sds011"), ("a-1", "pms5003"), ("b-2", "sds011"), ("c-3", "sds011")]
        )
    }
    w = InfluxWriter(influxd.url, influx_db)
    w.ensure_database()
    w.write_lines(_hourly_lines(history), rp=AGG_RP)
    clock = [now]
    windows = HourlyWindows(reread_s=7200, full_read_s=3 * 3600, clock=lambda: clock[0])

    async def run() -> tuple[list[Any], list[Any]]:
        reader = InfluxReader(influxd.url, influx_db)

        async def fetch(ids: list[str], start: int, end: int) -> dict[str, dict[int, float]]:
            return await fetch_hourly(reader, "pm2_5", ids, start, end, 0.75)

        try:
            stations = ["a-1", "b-2", "c-3", "d-4"]
            first = await windows.read(fetch, stations, t0, t1)
            pairs = [(first, await fetch(stations, t0, t1))]
            reads = [windows.reads]
            # a new reading rolled up, a late one rewriting the hour before, a new station
            w.write_lines(
                _hourly_lines(
                    {
                        ("a-1", "sds011"): {hour: 41.0},
                        ("b-2", "sds011"): {hour - HOUR: 77.0},
                        ("n-5", "sds011"): {hour - HOUR * i: 9.0 + i for i in range(60)},
                    }
                ),
                rp=AGG_RP,
            )
            clock[0] += 30
            stations = [*stations, "n-5"]
            second = await windows.read(fetch, stations, t0, t1)
            pairs.append((second, await fetch(stations, t0, t1)))
            reads.append(windows.reads)
            # an hour later: the window slides, the held hours are cut to it
            clock[0] += HOUR
            later = hour_bounds(clock[0] - 2 * 86400, clock[0])
            third = await windows.read(fetch, stations, *later)
            pairs.append((third, await fetch(stations, *later)))
            reads.append(windows.reads)
            return pairs, reads
        finally:
            await reader.aclose()

    try:
        pairs, reads = asyncio.run(run())
    finally:
        w.close()
    for got, full in pairs:
        assert got == full
    assert pairs[1][0]["a-1"][hour] == 41.0 and pairs[1][0]["b-2"][hour - HOUR] == 77.0
    assert "n-5" in pairs[1][0]
    assert reads[0] == [(4, t0, t1)]
    recent = int((now - 7200) // HOUR * HOUR)  # what the first read settled
    # the known stations: only the last two hours or so; the new one: the whole window
    assert reads[1] == [(4, recent, t1), (1, t0, t1)]
    assert (t1 - recent) // HOUR <= 3 < (t1 - t0) // HOUR
    ((n, start, end),) = reads[2]
    assert n == 5 and end > t1 and (end - start) // HOUR <= 4


def test_the_stations_layer_after_an_incremental_rebuild_equals_a_full_build(
    data: str, influxd: InfluxDB, influx_db: str
) -> None:
    """The API's own rebuild after a new reading reads the recent hours only, and serves the
    bytes a fresh instance (one full read) serves."""
    settings = settings_for(influxd.url, influx_db, data)
    write_recent(influxd, influx_db, "in-1", 12.0)
    with running(settings) as c:
        assert (station(c, "in-1") or {}).get("value") == 12.0
        write_recent(influxd, influx_db, "in-1", 30.0)
        wait_until(
            lambda: (station(c, "in-1") or {}).get("value") == 30.0,
            timeout=REFRESH_S + 10,
            interval=0.1,
            what="the new hourly value on the map",
        )
        kept = c.app.state.map_builder.hourly_reads  # type: ignore[attr-defined]
        (reads,) = kept.values()
        ((_n, start, end),) = reads
        assert (end - start) // HOUR <= 3  # not the two days
        served = identity(c, STATIONS)
        with running(settings) as fresh:
            again = identity(fresh, STATIONS)
        assert served.content == again.content
        assert served.headers["etag"] == again.headers["etag"]


def _served(c: httpx.Client) -> list[bytes]:
    """The map's three layers as a client sees them (the page's and a fixed period's)."""
    return [
        identity(c, EXPOSURE, **PERIOD).content,
        identity(c, EXPOSURE).content,
        identity(c, STATIONS).content,
    ]


def _write_hour(influxd: InfluxDB, influx_db: str, station: str, hour: int, value: float) -> None:
    w = InfluxWriter(influxd.url, influx_db)
    w.write_lines(
        f"readings_1h,sensor=sds011,station={station} pm2_5_mean={value},pm2_5_count=30 "
        f"{hour * 1000}".encode(),
        rp=AGG_RP,
    )
    w.close()


CHANGES = ["reading", "late reading", "station added", "moved", "retired", "QPV file replaced"]


@pytest.mark.parametrize("change", CHANGES)
def test_the_held_answers_equal_a_fresh_computation_after_each_kind_of_change(
    data: str,
    influxd: InfluxDB,
    influx_db: str,
    registry: Registry,
    qpv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    """After a change of any kind, the answers an instance holds (built before it, rebuilt
    since) become, within the documented interval, the bytes a fresh instance computes."""
    # a reading later than reread_s shows within full_read_s: short here
    monkeypatch.setenv("AIRQ_MAP_FULL_READ_S", "2")
    settings = settings_for(influxd.url, influx_db, data)
    hour = int(time.time()) // HOUR * HOUR
    write_recent(influxd, influx_db, "in-1", 12.0)
    with running(settings) as c:
        before = _served(c)
        if change == "reading":
            write_recent(influxd, influx_db, "in-1", 25.0)
        elif change == "late reading":  # an hour of the past rewritten, long after it ended
            _write_hour(influxd, influx_db, "in-1", hour - 20 * HOUR, 80.0)
            _write_hour(influxd, influx_db, "in-1", int(START) + 5 * HOUR, 90.0)
        elif change == "station added":  # by another API process: nothing tells this one
            registry.add("new-1", *latlon((690_100.0, 7_040_050.0)), name="NEW")
        elif change == "moved":
            lat, lon = latlon((690_000.0, 7_040_000.0))  # into QPTEST01
            registry.update("far-1", lat=lat, lon=lon)
        elif change == "retired":
            registry.retire("in-1")
        else:
            doc = json.loads(qpv_file.read_text())
            doc["features"][1]["properties"]["NOM_QP"] = "Quartier Deux (nouveau périmètre)"
            tmp = qpv_file.with_suffix(".new")
            tmp.write_text(json.dumps(doc))
            tmp.replace(qpv_file)
        with running(settings) as fresh:
            expected = _served(fresh)
        wait_until(
            lambda: _served(c) == expected,
            timeout=3 * REFRESH_S + 15,
            interval=0.2,
            what=f"the held answers equal to a fresh instance's after '{change}'",
        )
        if change != "retired":  # a retired station stays on the map: its data still counts
            assert expected != before
        else:
            assert station(c, "in-1") is not None


def test_the_layers_are_built_in_another_process_replaced_when_it_dies(
    client: httpx.Client,
) -> None:
    """The rebuilds run in a child process (never on the event loop serving the answers); a
    child killed is replaced at the next rebuild, the held answers served meanwhile."""
    served = _served(client)
    builder = client.app.state.map_builder  # type: ignore[attr-defined]
    assert isinstance(builder, ProcessBuilder)
    pid = builder.pid
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    assert _served(client) == served  # at once, from what is held
    wait_until(
        lambda: builder.started == 2 and builder.pid not in (None, pid),
        timeout=3 * REFRESH_S + 15,
        interval=0.1,
        what="a new build process",
    )
    assert _served(client) == served
    assert client.get("/v1/qpv/exposure.geojson", params={"quantity": "nope"}).status_code == 400
