"""Ready answers of the public map's layers: built when the data may have changed, not when a
visitor asks, and served as bytes.

An :class:`AnswerCache` holds, per parameter set (a hashable key), the last answer as
:class:`ReadyAnswer`: the JSON bytes, compressed once with gzip and brotli, a strong ``ETag`` from
the bytes themselves (so API replicas reading the same data serve the same bytes under the same
tag: nothing of the process goes into the body or the tag), ``Last-Modified`` (when this process
first built that content), ``Cache-Control`` and ``Vary``. A request:

* finds an answer: it is served at once, even when older than ``refresh_s``; a stale one starts
  a rebuild in the background (one at a time for the whole cache, never one per visitor);
* finds none: it waits for the build, shared by every request of the same key meanwhile.

Pinned keys (the parameter set the map page asks for) are never evicted and are rebuilt every
``refresh_s`` by :meth:`AnswerCache.keep_warm` whether visitors come or not; the others are
kept least-recently-used up to ``max_entries``. :func:`respond` answers ``304`` to a matching
``If-None-Match`` and picks brotli or gzip as the client accepts them. The bodies are built
in a separate process (api/map_builder.py) so that a rebuild never holds the event loop that
serves the held answers. Settings: ``AIRQ_MAP_*`` (:class:`MapLayerSettings`, docs/api.md
"Map layers").
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

import brotli
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "AnswerCache",
    "Encoded",
    "HourlyWindows",
    "MapLayerSettings",
    "ReadyAnswer",
    "ReadyAnswerMiddleware",
    "ReadyResponse",
    "encode",
    "pick_encoding",
    "ready_answer",
    "respond",
    "respond_to",
]

log = logging.getLogger(__name__)

# a layer's body, encoded or not; or the answer held, when the builder found it unchanged
Builder = Callable[[], Awaitable["bytes | Encoded | ReadyAnswer"]]
HOUR = 3600
Hourly = dict[str, dict[int, float]]  # station -> hour start (Unix s) -> mean
# (stations, start, end) -> their hourly means over [start, end) (whole hours)
HourlyFetch = Callable[[list[str], int, int], Awaitable[Hourly]]


class MapLayerSettings(BaseSettings):
    """``AIRQ_MAP_*`` settings of the map layers' answers (docs/api.md "Map layers")."""

    model_config = SettingsConfigDict(env_prefix="AIRQ_MAP_", env_file=".env", extra="ignore")

    refresh_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="rebuild a layer's answer at most this often; a new reading shows on the "
        "map within this interval plus one rebuild; also the max-age sent to browsers",
    )
    cache_entries: int = Field(
        default=32, ge=2, le=1024, description="parameter sets kept (least recently used out)"
    )
    reread_s: float = Field(
        default=7200,
        ge=0,
        le=172800,
        description="a rebuild of stations.geojson reads again the hourly windows that ended "
        "less than this ago (the ingest writes a window once its hour is over plus its rollup "
        "grace, and rewrites it for a late reading); older ones are kept from earlier rebuilds",
    )
    full_read_s: float = Field(
        default=3600,
        gt=0,
        le=86400,
        description="at most this long between two rebuilds of stations.geojson that read "
        "every hourly window again: a reading later than reread_s shows within it",
    )
    build_process: bool = Field(
        default=True,
        description="build the layers in a separate process (started at the first map "
        "request), so that a rebuild never holds the event loop serving the answers; false: "
        "in worker threads of the API process (a registry in memory always is)",
    )


# Brotli's best quality shrinks a map layer by a further ~20 % over its middle ones but costs
# seconds per megabyte (7 MB of stations: 6.7 s at 11, 57 ms at 6, gzip 35 ms): the best one
# up to BROTLI_BEST_MAX bytes, BROTLI_QUALITY above (bench/public_crowd.py prints the sizes).
BROTLI_BEST_MAX = 1 << 20
BROTLI_QUALITY = 6


@dataclass(frozen=True, slots=True)
class Encoded:
    """A body with its digest and its compressed forms, made once (by the API process or by
    the map layers' build process, api/map_builder.py, which sends it whole)."""

    body: bytes
    digest: str  # hex, from the body alone: replicas serving the same bytes agree on it
    gzipped: bytes
    brotli: bytes


def digest_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def encode(body: bytes, digest: str | None = None) -> Encoded:
    """``body`` with its digest, gzip (level 6, no timestamp: the bytes depend on the body
    alone, as the tag does) and brotli (quality by size, see ``BROTLI_BEST_MAX``)."""
    quality = 11 if len(body) <= BROTLI_BEST_MAX else BROTLI_QUALITY
    return Encoded(
        body=body,
        digest=digest or digest_of(body),
        gzipped=gzip.compress(body, compresslevel=6, mtime=0),
        brotli=brotli.compress(body, quality=quality),
    )


@dataclass(frozen=True, slots=True)
class ReadyAnswer:
    """One answer as served: identity, gzip and brotli bytes, validators and the raw headers
    of each case."""

    body: bytes
    gzipped: bytes
    brotli: bytes
    etag: str  # strong, quoted; the compressed representations' tags are etag_gzip, etag_br
    etag_gzip: str
    etag_br: str
    last_modified: float  # Unix s
    headers: list[tuple[bytes, bytes]]
    headers_gzip: list[tuple[bytes, bytes]]
    headers_br: list[tuple[bytes, bytes]]
    headers_304: list[tuple[bytes, bytes]]
    headers_304_gzip: list[tuple[bytes, bytes]]
    headers_304_br: list[tuple[bytes, bytes]]

    @property
    def digest(self) -> str:
        """The body's digest (the identity representation's tag, unquoted)."""
        return self.etag[1:-1]

    def matches(self, if_none_match: str) -> bool:
        """Whether an ``If-None-Match`` value names this answer (weak comparison, as RFC 9110
        says for this header; ``*`` matches)."""
        for tag in if_none_match.split(","):
            tag = tag.strip().removeprefix("W/")
            if tag in (self.etag, self.etag_gzip, self.etag_br, "*"):
                return True
        return False


def ready_answer(
    body: bytes | Encoded,
    media_type: str,
    max_age: float,
    previous: ReadyAnswer | None = None,
    now: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> ReadyAnswer:
    """The bytes of one answer (or the body already :func:`encode`-d) with their compressed
    forms and headers. ``Last-Modified`` is kept from ``previous`` when the bytes did not
    change (and nothing is compressed again). ``headers`` are sent as well (a
    ``Cache-Control`` among them replaces the one made from ``max_age``)."""
    digest = body.digest if isinstance(body, Encoded) else digest_of(body)
    etag = f'"{digest}"'
    if previous is not None and previous.etag == etag:
        return previous
    enc = body if isinstance(body, Encoded) else encode(body, digest)
    modified = math.floor(time.time() if now is None else now)
    age = max(1, round(max_age))
    extra = {k.lower(): v for k, v in (headers or {}).items()}
    cache_control = extra.pop(
        "cache-control", f"public, max-age={age}, stale-while-revalidate={4 * age}"
    )
    for k in ("content-type", "content-length", "content-encoding", "etag", "vary"):
        extra.pop(k, None)
    common = [
        (b"cache-control", cache_control.encode()),
        (b"last-modified", formatdate(modified, usegmt=True).encode()),
        (b"vary", b"Accept-Encoding"),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
    ]
    etag_gzip = f'"{digest}-gz"'
    etag_br = f'"{digest}-br"'
    typ = (b"content-type", media_type.encode())

    def full(data: bytes, tag: str, coding: bytes | None) -> list[tuple[bytes, bytes]]:
        coded = [(b"content-encoding", coding)] if coding else []
        return [
            typ,
            (b"content-length", str(len(data)).encode()),
            *coded,
            (b"etag", tag.encode()),
            *common,
        ]

    return ReadyAnswer(
        body=enc.body,
        gzipped=enc.gzipped,
        brotli=enc.brotli,
        etag=etag,
        etag_gzip=etag_gzip,
        etag_br=etag_br,
        last_modified=modified,
        headers=full(enc.body, etag, None),
        headers_gzip=full(enc.gzipped, etag_gzip, b"gzip"),
        headers_br=full(enc.brotli, etag_br, b"br"),
        headers_304=[(b"etag", etag.encode()), *common],
        headers_304_gzip=[(b"etag", etag_gzip.encode()), *common],
        headers_304_br=[(b"etag", etag_br.encode()), *common],
    )


class ReadyResponse(Response):
    """A response whose headers are already encoded (no per-request header work)."""

    def __init__(
        self, status_code: int, body: bytes, raw_headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        # a copy: middlewares (CORS) append to the list they are sent
        self.raw_headers = list(raw_headers)


IDENTITY, GZIP, BROTLI = 0, 1, 2


@functools.lru_cache(maxsize=256)
def pick_encoding(accept_encoding: str) -> int:
    """The coding to send for an ``Accept-Encoding`` value: brotli when accepted at least as
    much as gzip, else gzip (``gzip``, ``x-gzip``), else identity; ``*`` stands for a coding
    not named, ``q=0`` refuses. Browsers send a handful of distinct values, hence the small
    cache."""
    named: dict[str, float] = {}
    star: float | None = None
    for item in accept_encoding.lower().split(","):
        name, _, params = item.partition(";")
        name = name.strip()
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if name == "*":
            star = q
        elif name:
            named[name] = q
    gz = named.get("gzip", named.get("x-gzip", star or 0.0))
    br = named.get("br", star or 0.0)
    if br > 0 and br >= gz:
        return BROTLI
    return GZIP if gz > 0 else IDENTITY


def respond(request: Request, answer: ReadyAnswer) -> ReadyResponse:
    """The answer for this request: 304 when its ``If-None-Match`` names it, brotli or gzip
    bytes when accepted, else the identity bytes."""
    return respond_to(request.scope, answer)


def respond_to(scope: Scope, answer: ReadyAnswer) -> ReadyResponse:
    """:func:`respond` from the ASGI scope."""
    inm = ""
    ae = ""
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            inm = value.decode("latin-1")
        elif name == b"accept-encoding":
            ae = value.decode("latin-1")
    coding = pick_encoding(ae[:200]) if ae else IDENTITY
    if inm and answer.matches(inm[:2000]):
        if coding == BROTLI:
            return ReadyResponse(304, b"", answer.headers_304_br)
        return ReadyResponse(304, b"", answer.headers_304_gzip if coding else answer.headers_304)
    if coding == BROTLI:
        return ReadyResponse(200, answer.brotli, answer.headers_br)
    if coding == GZIP:
        return ReadyResponse(200, answer.gzipped, answer.headers_gzip)
    return ReadyResponse(200, answer.body, answer.headers)


@dataclass(slots=True)
class _Entry:
    build: Builder
    pinned: bool
    answer: ReadyAnswer | None = None
    built_at: float = -math.inf  # monotonic time the last build started
    task: asyncio.Task[ReadyAnswer] | None = None


class AnswerCache:
    """Ready answers per key (see the module docstring). Use from one event loop."""

    def __init__(
        self,
        refresh_s: float,
        max_entries: int = 32,
        media_type: str = "application/json",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.refresh_s = refresh_s
        self.max_entries = max_entries
        self.media_type = media_type
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._one_at_a_time = asyncio.Lock()
        self.builds = 0
        self.failures = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: Hashable, build: Builder, pinned: bool = False) -> ReadyAnswer:
        """The answer of ``key``; ``build`` makes its body when there is none yet, or when the
        one held is older than ``refresh_s`` (then in the background: the old one is served).
        Errors of a first build (an ``HTTPException`` for bad parameters) reach the caller and
        nothing is kept."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(build, pinned)
            self._evict()
        else:
            self._entries.move_to_end(key)
        answer = entry.answer
        if answer is not None:
            if entry.task is None and self._clock() - entry.built_at >= self.refresh_s:
                entry.task = asyncio.create_task(self._run(key, entry))
            return answer
        if entry.task is None:
            entry.task = asyncio.create_task(self._run(key, entry))
        return await asyncio.shield(entry.task)

    def held(self, key: Hashable) -> ReadyAnswer | None:
        """The answer held for ``key``, if any (nothing else happens)."""
        entry = self._entries.get(key)
        return entry.answer if entry is not None else None

    def peek(self, key: Hashable) -> ReadyAnswer | None:
        """The answer held for ``key`` (None when there is none yet), starting a background
        rebuild when it is stale, as :meth:`get` does; synchronous, for the hot path."""
        entry = self._entries.get(key)
        if entry is None or entry.answer is None:
            return None
        self._entries.move_to_end(key)
        if entry.task is None and self._clock() - entry.built_at >= self.refresh_s:
            entry.task = asyncio.create_task(self._run(key, entry))
        return entry.answer

    def forget(self, match: Callable[[Hashable], bool]) -> int:
        """Drop the answers whose key ``match`` accepts, when what they were built from
        changed in a way visitors must see at once (a station's public precision): the next
        request builds afresh, after any build under way (which read the older data).
        Returns how many were dropped."""
        keys = [k for k in self._entries if match(k)]
        for k in keys:
            del self._entries[k]
        return len(keys)

    def _evict(self) -> None:
        while len(self._entries) > self.max_entries:
            for k, e in self._entries.items():
                if not e.pinned:
                    del self._entries[k]
                    break
            else:
                return

    async def _run(self, key: Hashable, entry: _Entry) -> ReadyAnswer:
        try:
            async with self._one_at_a_time:
                started = self._clock()
                body = await entry.build()
                if isinstance(body, ReadyAnswer):
                    answer = body
                elif isinstance(body, Encoded):  # compressed by the build process: headers only
                    answer = ready_answer(body, self.media_type, self.refresh_s, entry.answer)
                else:
                    answer = await asyncio.to_thread(
                        ready_answer, body, self.media_type, self.refresh_s, entry.answer
                    )
                entry.answer, entry.built_at = answer, started
                self.builds += 1
                return answer
        except Exception:
            if entry.answer is None:
                if self._entries.get(key) is entry:
                    del self._entries[key]
                raise
            self.failures += 1
            log.warning("rebuild of %r failed; the previous answer is still served", key)
            log.debug("rebuild of %r failed", key, exc_info=True)
            entry.built_at = self._clock()  # try again after one interval
            return entry.answer
        finally:
            entry.task = None

    def _due(self) -> float:
        """Seconds until the next pinned entry is due (``refresh_s`` when none is held)."""
        now = self._clock()
        waits = [
            e.built_at + self.refresh_s - now
            for e in self._entries.values()
            if e.pinned and e.answer is not None
        ]
        return min(waits, default=self.refresh_s)

    async def keep_warm(self) -> None:
        """Rebuild the pinned entries every ``refresh_s`` (run as a task; cancel to stop)."""
        while True:
            await asyncio.sleep(min(self.refresh_s, max(0.05, self._due())))
            now = self._clock()
            for key, e in list(self._entries.items()):
                stale = now - e.built_at >= self.refresh_s
                if e.pinned and e.answer is not None and e.task is None and stale:
                    e.task = asyncio.create_task(self._run(key, e))

    async def aclose(self) -> None:
        """Cancel the builds under way (at shutdown)."""
        tasks = [e.task for e in self._entries.values() if e.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


KeyOf = Callable[[dict[str, str]], Hashable]
# a page's files are looked at (by its renderer) at most this often: an edited page is served
# within a second
PAGE_CHECK_S = 1.0
PageOf = Callable[[Any], tuple[str, dict[str, str]]]  # app state -> (HTML, headers)


class ReadyAnswerMiddleware:
    """ASGI middleware serving the answers an :class:`AnswerCache` already holds (the app
    state's ``map_answers``) before the routing and the dependencies run: a hit costs a
    dictionary look-up and the send (the rate limiter, api/protection.py, runs outside, on
    every request). ``paths`` maps a path to the function giving the cache key of a query (the
    route's own); anything else (a miss, a query with unknown, repeated or empty parameters)
    goes on to the app, whose route builds, validates and answers errors as usual.

    ``pages`` maps a page's path to its renderer (the one its route calls, which keeps the
    page while its files do not change): once the route has answered a first time, the page is
    served from here, whatever the query (the page reads it in the browser), with the route's
    headers plus an ETag, gzip, brotli and 304s; the renderer is asked again after
    ``PAGE_CHECK_S``."""

    def __init__(
        self,
        app: ASGIApp,
        paths: Mapping[str, tuple[frozenset[str], KeyOf]],
        pages: Mapping[str, PageOf] | None = None,
    ) -> None:
        self.app = app
        self.paths = paths
        self.pages = pages or {}
        self._routes: dict[str, object] = {}
        # path -> (HTML and headers as rendered, the answer, when the renderer was asked)
        self._pages: dict[str, tuple[str, dict[str, str], ReadyAnswer, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            page = self.pages.get(path)
            if page is not None and path in self._routes:
                ready = self._page(scope, page)
                if ready is not None:
                    await respond_to(scope, ready)(scope, receive, send)
                    return
            found = self.paths.get(path)
            if found is None and page is not None:
                await self._learn_route(scope, receive, send)
                return
            if found is not None:
                answer = self._answer(scope, *found)
                if answer is not None:
                    await respond_to(scope, answer)(scope, receive, send)
                    return
                await self._learn_route(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _learn_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """On to the app, keeping the route the router matched: the answers served here then
        count under it in the metrics (and a page is served here once its route is known)."""
        await self.app(scope, receive, send)
        route = scope.get("route")
        if route is not None:
            self._routes.setdefault(scope["path"], route)

    def _page(self, scope: Scope, page: PageOf) -> ReadyAnswer | None:
        """A page as its route renders it (the renderer keeps it while its files do not
        change), with validators and gzip made once per rendering."""
        path = scope["path"]
        held = self._pages.get(path)
        now = time.monotonic()
        if held is None or now - held[3] >= PAGE_CHECK_S:
            try:
                html, headers = page(scope["app"].state)
            except Exception:  # the route answers (and logs) whatever went wrong
                return None
            if held is None or held[0] is not html or held[1] is not headers:
                answer = ready_answer(
                    html.encode(),
                    "text/html; charset=utf-8",
                    300,
                    held[2] if held else None,
                    headers=headers,
                )
            else:
                answer = held[2]
            held = self._pages[path] = (html, headers, answer, now)
        scope["route"] = self._routes.get(path)
        return held[2]

    def _answer(self, scope: Scope, allowed: frozenset[str], key_of: KeyOf) -> ReadyAnswer | None:
        app = scope.get("app")
        cache: AnswerCache | None = getattr(getattr(app, "state", None), "map_answers", None)
        if cache is None:
            return None
        params: dict[str, str] = {}
        qs = scope.get("query_string", b"")
        if qs:
            for k, v in parse_qsl(qs.decode("latin-1"), keep_blank_values=True):
                if k not in allowed or k in params or not v:
                    return None
                params[k] = v
        answer = cache.peek(key_of(params))
        if answer is None:
            return None
        # the request counts under its route in the metrics (api/metrics.py reads it)
        scope["route"] = self._routes.get(scope["path"])
        return answer


class HourlyWindows:
    """Hourly means per station over a sliding window of whole hours, kept between the
    rebuilds of a map layer so that a rebuild reads only what may have changed: the hours
    that ended less than ``reread_s`` ago (the ingest writes an hourly window once its hour
    is over plus its rollup grace, and rewrites it when a late reading arrives), and the
    whole window for a station not seen before. Every ``full_read_s`` a rebuild reads the
    whole window again, for readings later than ``reread_s`` (an archive imported, a gateway
    back after hours offline). What :meth:`read` returns is what one read of the whole
    window returns when no window older than ``reread_s`` changed since the last full read.
    Use from one task at a time (the answer cache runs one rebuild at a time)."""

    def __init__(
        self, reread_s: float, full_read_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.reread_s = reread_s
        self.full_read_s = full_read_s
        self._clock = clock
        self._held: Hourly = {}  # the hours before _settled, per station with any
        self._known: frozenset[str] = frozenset()  # stations whose hours are held
        self._lo = 0  # first hour of the window held
        self._settled = 0  # hours from here on are read again at each rebuild
        self._full_at = -math.inf
        self.reads: list[tuple[int, int, int]] = []  # last read: (stations, start, end)

    async def read(self, fetch: HourlyFetch, stations: list[str], t0: int, t1: int) -> Hourly:
        """The hourly means of ``stations`` over [t0, t1) (whole hours), reading through
        ``fetch`` only what the windows held do not cover."""
        now = self._clock()
        settled = max(t0, min(t1, int((now - self.reread_s) // HOUR * HOUR)))
        whole = (
            now - self._full_at >= self.full_read_s
            or not self._known
            or not self._lo <= t0 <= self._settled
        )
        reads: list[tuple[list[str], int, int]]
        if whole:
            read_from, reads = t0, [(stations, t0, t1)]
        else:
            read_from = min(self._settled, settled)
            new = [s for s in stations if s not in self._known]
            old = [s for s in stations if s in self._known]
            reads = [(old, read_from, t1), (new, t0, t1)]
        fresh: Hourly = {}
        self.reads = []
        for ids, start, end in reads:
            if ids and start < end:
                self.reads.append((len(ids), start, end))
                fresh.update(await fetch(ids, start, end))
        out: Hourly = {}
        # within the same hour, the hours held are the ones to serve and to keep as they are
        # (copied, not filtered: most of a rebuild's work with thousands of stations)
        same = not whole and t0 == self._lo and read_from == self._settled == settled
        empty: dict[int, float] = {}
        for sid in stations:
            held = self._held.get(sid, empty)
            if same:
                hours = {**held, **fresh.get(sid, empty)}
            else:
                hours = {t: v for t, v in held.items() if t0 <= t < read_from}
                hours.update(fresh.get(sid, empty))
            if hours:
                out[sid] = hours
        kept: Hourly = {}
        for sid, hours in out.items():
            if same and sid in self._known:  # nothing before ``settled`` was read for it
                if sid in self._held:
                    kept[sid] = self._held[sid]
                continue
            before = {t: v for t, v in hours.items() if t < settled}
            if before:
                kept[sid] = before
        self._held = kept
        self._known = frozenset(stations)
        self._lo, self._settled = t0, settled
        if whole:
            self._full_at = now
        return out
