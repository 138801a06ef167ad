"""Protection of the API: rate limiting per client address (token buckets), request body size
limits, CORS.

* ``RateLimitDep`` is a dependency the routers of the researchers' API declare; it answers 429
  with ``Retry-After`` once a client spent its burst and its refill rate.
* ``read_body_limited`` reads a request body and answers 413 past a limit, without reading
  the rest (for endpoints that parse the body themselves).
* ``install_protection(app, settings)`` adds the CORS middleware (``AIRQ_CORS_ORIGINS``) and a
  body-size middleware for every route (``AIRQ_MAX_REQUEST_BYTES``); ``create_app`` calls it.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE, problem_bytes
from api.settings import ApiSettings

__all__ = [
    "RateLimitDep",
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
        """Spend ``cost`` tokens: 0.0 when allowed, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = (cost - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def _networks(settings: ApiSettings) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies)


def _trusted(host: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def client_key(
    request: Request, proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> str:
    """The client address: the peer, or, when the peer is a trusted proxy, the last address of
    X-Forwarded-For that is not one (each proxy appends the address it saw, so anything left of
    it is whatever the client chose to send)."""
    peer = request.client.host if request.client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    hops = [h for h in hops if h]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else peer


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
    (the check alone, for a caller that answers the 429 its own way or lets the route do it)."""
    proxies = getattr(request.app.state, "trusted_proxies", None)
    if proxies is None:
        proxies = request.app.state.trusted_proxies = _networks(request.app.state.settings)
    return _buckets(request).take(client_key(request, proxies))


async def rate_limit(request: Request) -> None:
    """Async (no thread hop): the token buckets never block."""
    settings: ApiSettings = request.app.state.settings
    wait = rate_wait(request)
    if wait > 0:
        raise HTTPException(
            429,
            f"too many requests: the limit is {settings.rate_limit_per_minute:g} per minute "
            f"(bursts of {settings.rate_limit_burst}); retry in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )


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
    """CORS and the body-size limit for every route (call before the app starts; a second
    call does nothing)."""
    if getattr(app.state, "protection_installed", False):
        return
    app.state.protection_installed = True
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
