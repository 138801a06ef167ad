"""AnswerCache and the answers of api/map_layers.py as pure code (an injected clock, no
server): stale answers served while one rebuild runs, one build for many waiting requests,
errors of a first build not kept, a failed rebuild keeping the last answer, a bounded LRU that
keeps pinned keys, keep_warm, validators and the Accept-Encoding rule."""

from __future__ import annotations

import asyncio
import gzip

import brotli
import pytest

from api.map_layers import BROTLI, GZIP, IDENTITY, AnswerCache, encode, pick_encoding, ready_answer


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_stale_answer_is_served_while_one_rebuild_runs() -> None:
    async def main() -> None:
        clock = Clock()
        cache = AnswerCache(30, clock=clock)
        release = asyncio.Event()
        calls = 0

        async def build() -> bytes:
            nonlocal calls
            calls += 1
            if calls > 1:
                await release.wait()
            return f'{{"n": {calls}}}'.encode()

        first = await cache.get("k", build)
        assert first.body == b'{"n": 1}'
        clock.t += 31
        # stale: every request gets the old answer at once; one rebuild starts
        for _ in range(20):
            assert (await cache.get("k", build)).body == b'{"n": 1}'
        await asyncio.sleep(0)
        assert calls == 2
        release.set()
        for _ in range(10):
            await asyncio.sleep(0.01)
        assert (await cache.get("k", build)).body == b'{"n": 2}'
        assert calls == 2 and cache.builds == 2

    asyncio.run(main())


def test_requests_without_an_answer_share_one_build() -> None:
    async def main() -> None:
        cache = AnswerCache(30, clock=Clock())
        calls = 0

        async def build() -> bytes:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)
            return b"{}"

        answers = await asyncio.gather(*(cache.get("k", build) for _ in range(50)))
        assert calls == 1 and len({a.etag for a in answers}) == 1

    asyncio.run(main())


def test_a_failed_first_build_is_not_kept_and_a_failed_rebuild_keeps_the_answer() -> None:
    async def main() -> None:
        clock = Clock()
        cache = AnswerCache(30, clock=clock)

        async def bad() -> bytes:
            raise ValueError("bad parameter")

        for _ in range(2):
            with pytest.raises(ValueError):
                await cache.get("bad", bad)
        assert len(cache) == 0

        async def good() -> bytes:
            return b"[1]"

        await cache.get("k", good)
        cache._entries["k"].build = bad
        clock.t += 31
        assert (await cache.get("k", bad)).body == b"[1]"
        for _ in range(5):
            await asyncio.sleep(0)
        assert cache.failures == 1
        assert (await cache.get("k", bad)).body == b"[1]"  # not retried within the interval
        await asyncio.sleep(0)
        assert cache.failures == 1

    asyncio.run(main())


def test_the_cache_is_bounded_and_keeps_pinned_keys() -> None:
    async def main() -> None:
        cache = AnswerCache(30, max_entries=3, clock=Clock())

        def build(i: int):  # type: ignore[no-untyped-def]
            async def b() -> bytes:
                return str(i).encode()

            return b

        await cache.get("page", build(0), pinned=True)
        for i in range(1, 10):
            await cache.get(i, build(i))
        assert len(cache) == 3
        assert set(cache._entries) == {"page", 8, 9}

    asyncio.run(main())


def test_keep_warm_rebuilds_the_pinned_keys_only() -> None:
    async def main() -> None:
        cache = AnswerCache(0.05)
        counts = {"page": 0, "other": 0}

        def build(k: str):  # type: ignore[no-untyped-def]
            async def b() -> bytes:
                counts[k] += 1
                return str(counts[k]).encode()

            return b

        await cache.get("page", build("page"), pinned=True)
        await cache.get("other", build("other"))
        warm = asyncio.create_task(cache.keep_warm())
        await asyncio.sleep(0.4)
        warm.cancel()
        await asyncio.gather(warm, return_exceptions=True)
        await cache.aclose()
        assert counts["page"] >= 3 and counts["other"] == 1

    asyncio.run(main())


def test_the_answer_validators_depend_on_the_bytes_alone() -> None:
    a = ready_answer(b'{"a": 1}', "application/json", 30, now=1_700_000_000)
    b = ready_answer(b'{"a": 1}', "application/json", 30, now=1_800_000_000)
    assert a.etag == b.etag and a.gzipped == b.gzipped and a.brotli == b.brotli
    assert gzip.decompress(a.gzipped) == a.body == brotli.decompress(a.brotli)
    assert a.matches(a.etag) and a.matches(f"W/{a.etag_gzip}") and a.matches('"x", *')
    assert a.matches(a.etag_br) and len({a.etag, a.etag_gzip, a.etag_br}) == 3
    assert not a.matches('"x"')
    # unchanged bytes keep their Last-Modified; changed ones get a new one
    assert ready_answer(a.body, "application/json", 30, a, now=1_900_000_000) is a
    c = ready_answer(b'{"a": 2}', "application/json", 30, a, now=1_900_000_000)
    assert c.etag != a.etag and c.last_modified == 1_900_000_000
    assert (b"cache-control", b"public, max-age=30, stale-while-revalidate=120") in a.headers


def test_an_encoded_body_gives_the_answer_of_its_bytes() -> None:
    """What the build process sends (the body encoded there) is served as the same answer as
    the bytes encoded here: the same tags and compressed bytes."""
    body = b'{"features": [' + b", ".join(b'{"v": %d}' % i for i in range(3000)) + b"]}"
    here = ready_answer(body, "application/json", 30, now=1_700_000_000)
    there = ready_answer(encode(body), "application/json", 30, now=1_700_000_000)
    assert here == there
    assert len(here.brotli) < len(here.gzipped) < len(body)


@pytest.mark.parametrize(
    "header, coding",
    [
        ("gzip, deflate, br, zstd", BROTLI),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", BROTLI),
        ("br;q=0.5, gzip", GZIP),
        ("gzip, deflate", GZIP),
        ("gzip;q=0", IDENTITY),
        ("br;q=0, gzip;q=0", IDENTITY),
        ("gzip;q=0, br", BROTLI),
        ("identity", IDENTITY),
        ("*", BROTLI),
        ("*;q=0", IDENTITY),
        ("x-gzip", GZIP),
        ("gzip;q=nope", IDENTITY),
        ("BR", BROTLI),
        ("", IDENTITY),
    ],
)
def test_accept_encoding(header: str, coding: int) -> None:
    assert pick_encoding(header) == coding
