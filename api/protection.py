"""Protection of the API: rate limiting per client address (token buckets), request body size
limits, CORS.

* ``RateLimitMiddleware`` counts every HTTP request against its client's bucket once, before
  routing, whatever the path (pages, map answers served ready, health, unknown paths), except
  ``RATE_LIMIT_EXEMPT`` (``/livez``); it answers 429 (problem+json, ``Retry-After``) once a
  client spent its burst and its refill rate.
* ``rate_wait`` / ``RateLimitDep`` are the same check for a caller or a route; under the
  middleware they charge nothing more (a request is charged once).
* ``read_body_limited`` reads a request body and answers 413 past a limit, without reading
  the rest (for endpoints that parse the body themselves).
* ``install_protection(app, settings)`` adds, from the outside in, CORS
  (``AIRQ_CORS_ORIGINS``), the rate limiter (``AIRQ_RATE_LIMIT_*``, ``AIRQ_TRUSTED_PROXIES``)
  and the body-size limit (``AIRQ_MAX_REQUEST_BYTES``) for every route; ``create_app`` calls it.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE, problem_bytes
from api.settings import ApiSettings

__all__ = [
    "RATE_LIMIT_EXEMPT",
    "RateLimitDep",
    "RateLimitMiddleware",
    "TokenBuckets",
    "install_protection",
    "rate_wait",
    "read_body_limited",
]


class TokenBuckets:
    """One token bucket per key (client address), ``rate`` tokens per second up to ``burst``.

    Pure apart from the injected clock; bounded memory (least recently used keys dropped past
    ``max_keys``: a dropped key starts again with a full bucket)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens: 0.0 when allowed, else the seconds to wait. (It runs on every
        request: no call it can do without.)"""
        now = self._clock()
        full = float(self.burst)
        buckets = self._buckets
        with self._lock:
            held = buckets.pop(key, None)  # then put back last: the most recently used
            if held is None:
                tokens = full
            else:
                tokens = held[0] + (now - held[1]) * self.rate
                if tokens > full:
                    tokens = full
            wait = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = (cost - tokens) / self.rate
            buckets[key] = (tokens, now)
            while len(buckets) > self.max_keys:
                buckets.popitem(last=False)  # the least recently used
        return wait


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

# Paths the rate limiter never refuses. /livez alone: a liveness probe that gets a 429 makes
# the orchestrator restart a process that is serving (a flood from the probe's address, or a
# probe that shares a proxy's bucket, would then take the API down); it asks nothing of
# InfluxDB or the registry, so answering it costs what a 429 would.
RATE_LIMIT_EXEMPT = frozenset({"/livez"})

# set in the scope by RateLimitMiddleware once it charged the request
_CHARGED = "airq.rate_charged"


class TrustedProxies:
    """The networks of ``AIRQ_TRUSTED_PROXIES``, and which addresses are in them (remembered:
    behind a proxy every request asks it of the proxy's address and the client's)."""

    __slots__ = ("_known", "networks")
    MAX_KNOWN = 4096  # then forgotten at once (X-Forwarded-For holds whatever a client sent)

    def __init__(self, networks: Networks) -> None:
        self.networks = networks
        self._known: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str) -> bool:
        known = self._known.get(host)
        if known is None:
            known = len(host) <= 64 and _in_networks(host, self.networks)
            if len(self._known) >= self.MAX_KNOWN:
                self._known.clear()
            self._known[host] = known
        return known


def _in_networks(host: str, networks: Networks) -> bool:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def _networks(settings: ApiSettings) -> TrustedProxies:
    return TrustedProxies(
        tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies)
    )


def scope_client_key(scope: Scope, proxies: TrustedProxies | Networks) -> str:
    """The client address of an ASGI request: the peer, or, when the peer is a trusted proxy,
    the last address of X-Forwarded-For that is not one (each proxy appends the address it
    saw, so anything left of it is whatever the client chose to send). Read from the scope
    alone: it runs on every request."""
    client = scope.get("client")
    peer: str = client[0] if client else "unknown"
    if not proxies:
        return peer
    if not isinstance(proxies, TrustedProxies):
        proxies = TrustedProxies(proxies)
    if not proxies.trusts(peer):
        return peer
    forwarded = ""
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":  # the first one, as Request.headers.get gives
            forwarded = value.decode("latin-1")
            break
    hops = forwarded.split(",")
    for hop in reversed(hops):
        hop = hop.strip()
        if hop and not proxies.trusts(hop):
            return hop[:64]
    for hop in hops:  # proxies only: the first of them
        hop = hop.strip()
        if hop:
            return hop[:64]
    return peer


def client_key(request: Request, proxies: TrustedProxies | Networks) -> str:
    """:func:`scope_client_key` of a request."""
    return scope_client_key(request.scope, proxies)


def _buckets(request: Request) -> TokenBuckets:
    state = request.app.state
    buckets: TokenBuckets | None = getattr(state, "rate_buckets", None)
    if buckets is None:
        settings: ApiSettings = state.settings
        buckets = TokenBuckets(settings.rate_limit_per_minute / 60.0, settings.rate_limit_burst)
        state.rate_buckets = buckets
    return buckets


def rate_wait(request: Request) -> float:
    """Spend one token of the request's client: 0.0 when allowed, else the seconds to wait
    (the check alone, for a caller that answers the 429 its own way or lets the route do it).
    A request :class:`RateLimitMiddleware` let through was charged already: 0.0, nothing spent."""
    if request.scope.get(_CHARGED):
        return 0.0
    proxies = getattr(request.app.state, "trusted_proxies", None)
    if proxies is None:
        proxies = request.app.state.trusted_proxies = _networks(request.app.state.settings)
    return _buckets(request).take(client_key(request, proxies))


def _too_many(settings: ApiSettings, wait: float) -> tuple[str, str]:
    """The 429's detail sentence, French then English (every route answers it, the residents'
    pages too), and its Retry-After (whole seconds)."""
    retry = str(math.ceil(wait))
    rate, burst = f"{settings.rate_limit_per_minute:g}", settings.rate_limit_burst
    return (
        f"trop de requêtes : la limite est de {rate} par minute (rafales de {burst}) ; "
        f"réessayez dans {retry} s. / too many requests: the limit is {rate} per minute "
        f"(bursts of {burst}); retry in {retry} s",
        retry,
    )


async def rate_limit(request: Request) -> None:
    """Async (no thread hop): the token buckets never block."""
    wait = rate_wait(request)
    if wait > 0:
        detail, retry = _too_many(request.app.state.settings, wait)
        raise HTTPException(429, detail, headers={"Retry-After": retry})


class RateLimitMiddleware:
    """ASGI middleware: one token of the client's bucket for every HTTP request, before
    routing (so pages, ready map answers, health and unknown paths count as API routes do),
    429 problem+json with Retry-After past the limit. ``RATE_LIMIT_EXEMPT`` paths are neither
    charged nor refused. The key comes from the scope (no Request object): a cached answer
    costs a tuple look-up, a dictionary look-up and the bucket's arithmetic."""

    def __init__(self, app: ASGIApp, settings: ApiSettings, buckets: TokenBuckets) -> None:
        self.app = app
        self.settings = settings
        self.buckets = buckets
        self.proxies = _networks(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in RATE_LIMIT_EXEMPT:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(scope_client_key(scope, self.proxies))
        scope[_CHARGED] = True
        if wait > 0:
            await self._refuse(scope, send, wait)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, wait: float) -> None:
        detail, retry = _too_many(self.settings, wait)
        body = problem_bytes(429, detail, scope["path"])
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", retry.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


RateLimitDep = Depends(rate_limit)
RateLimited = Annotated[None, RateLimitDep]


async def read_body_limited(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise HTTPException(413, f"request body larger than {limit} bytes")
        except ValueError:
            raise HTTPException(400, "invalid Content-Length") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class BodySizeLimit:
    """ASGI middleware: 413 for bodies above ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await self._reject(send, scope.get("path", ""))
                    return
        seen = 0
        limit = self.limit

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"request body larger than {limit} bytes")
            return msg

        await self.app(scope, limited, send)

    async def _reject(self, send: Send, path: str) -> None:
        body = problem_bytes(413, f"request body larger than {self.limit} bytes", path)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def install_protection(app: FastAPI, settings: ApiSettings) -> None:
    """CORS, the rate limiter and the body-size limit for every route (call before the app
    starts, after the middleware they must wrap; a second call does nothing).

    From the outside in: CORS, so that a 429 or a 413 carries its headers and a browser page
    can read it (preflights, which CORS answers itself when origins are configured, cost what
    a 429 would and are not charged); then the rate limiter, so that every other request is
    charged, a body too large included; then the body limit."""
    if getattr(app.state, "protection_installed", False):
        return
    app.state.protection_installed = True
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    # one bucket store per app, shared with rate_wait (api/map_layers.py) and RateLimitDep
    buckets = TokenBuckets(settings.rate_limit_per_minute / 60.0, settings.rate_limit_burst)
    app.state.rate_buckets = buckets
    app.state.trusted_proxies = _networks(settings)
    app.add_middleware(RateLimitMiddleware, settings=settings, buckets=buckets)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
