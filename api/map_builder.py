"""Where the map layers' bodies are built: in a separate process, so that a rebuild never holds
the event loop serving the answers already held.

A rebuild of the map's layers with a fleet the size of sensor.community's (13 000 stations)
takes seconds of CPU: reading thousands of hourly windows, the zones' statistics, the JSON,
its compression. Run in worker threads of the API process, it competed for the GIL with the
event loop serving the held answers, and the served answers' p99 rose to the target's edge
(92 ms quiet, up to 112 ms loaded, bench/public_crowd.py). :class:`ProcessBuilder` runs the
same build functions (``api.routes.qpv.build_exposure``, ``build_stations``) in a child
process of the API with its own registry connection, InfluxDB client and QPV layer, and sends
back the body already :func:`~api.map_layers.encode`-d (digest, gzip, brotli): the API process
only receives bytes and makes the headers. The child is started at the first map request, from
a ``forkserver`` that has imported the build code (nothing of the API's threads or sockets is
inherited; the ``AIRQ_*`` environment and working directory are sent as they are at the
start), serves one build at a time, keeps what a build keeps between rebuilds (the hourly
windows of ``stations.geojson``), and ends with its parent (it reads its requests from a pipe:
the parent's end closing ends it).
A child that dies or hangs is replaced at the next build; meanwhile the held answers are
served (api/map_layers.py).

:class:`ThreadBuilder` is the same contract in worker threads of the API process: with
``AIRQ_MAP_BUILD_PROCESS=false``, and always for a registry in memory (another process could
not see it).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

import sqlalchemy as sa
from starlette.datastructures import State

from api.map_layers import Encoded, MapLayerSettings, digest_of, encode

__all__ = ["BuildFn", "LayerBuilder", "ProcessBuilder", "ThreadBuilder", "layer_builder"]

log = logging.getLogger(__name__)

# a module-level async function (picklable by name) making a layer's body from an app state
BuildFn = Callable[..., Awaitable[bytes]]
ENV_PREFIX = "AIRQ_"
# what the fork server imports before forking a build process
PRELOAD = ["api.map_builder", "api.routes.qpv"]
# a build that takes longer is given up and its process replaced (the held answer is served)
BUILD_TIMEOUT_S = 600.0


class LayerBuilder(Protocol):
    # what the last builds' hourly windows read, per windows key (tests and the bench look)
    hourly_reads: dict[Any, list[tuple[int, int, int]]]

    async def build(
        self, fn: BuildFn, args: tuple[Any, ...], previous: str | None
    ) -> Encoded | None:
        """``fn(state, *args)`` encoded, or None when its digest is ``previous`` (the answer
        held is still the one)."""
        ...

    async def aclose(self) -> None: ...


def _hourly_reads(state: Any) -> dict[Any, list[tuple[int, int, int]]]:
    kept = getattr(state, "map_hourly", None) or {}
    return {key: list(w.reads) for key, w in kept.items()}


class ThreadBuilder:
    """Builds in the API process (the build functions hand their CPU work to worker threads)."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.hourly_reads: dict[Any, list[tuple[int, int, int]]] = {}

    async def build(
        self, fn: BuildFn, args: tuple[Any, ...], previous: str | None
    ) -> Encoded | None:
        body = await fn(self.state, *args)
        self.hourly_reads = _hourly_reads(self.state)
        digest = await asyncio.to_thread(digest_of, body)
        if digest == previous:
            return None
        return await asyncio.to_thread(encode, body, digest)

    async def aclose(self) -> None:
        return None


class ProcessBuilder:
    """Builds in a child process (see the module docstring). Use from one event loop."""

    def __init__(self, settings: Any, timeout_s: float = BUILD_TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.hourly_reads: dict[Any, list[tuple[int, int, int]]] = {}
        self.started = 0  # child processes started (1 unless one died or hung)
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def _start(self) -> Connection:
        ctx = multiprocessing.get_context("forkserver")
        # the fork server imports the build code once per API process, so that a build
        # process starts in milliseconds rather than a second (a no-op once it runs)
        ctx.set_forkserver_preload(PRELOAD)
        ours, theirs = ctx.Pipe()
        # the fork server's environment is the one it started with: the settings the child
        # reads (AIRQ_QPV_*, AIRQ_MAP_*…) are sent as they are now
        environ = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
        proc = ctx.Process(
            target=child_main,
            args=(theirs, self.settings, environ, os.getcwd()),
            name="airq-map-builder",
            daemon=True,
        )
        proc.start()
        theirs.close()
        self._proc, self._conn = proc, ours
        self.started += 1
        return ours

    def _stop(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None:
            proc.terminate()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(1)

    async def build(
        self, fn: BuildFn, args: tuple[Any, ...], previous: str | None
    ) -> Encoded | None:
        async with self._lock:
            conn = self._conn
            if conn is None or self._proc is None or not self._proc.is_alive():
                self._stop()
                conn = await asyncio.to_thread(self._start)
            try:
                conn.send((fn, args, previous))
                status, value, reads = await asyncio.wait_for(
                    asyncio.to_thread(conn.recv), self.timeout_s
                )
            except (EOFError, OSError, TimeoutError) as exc:
                what = "took too long" if isinstance(exc, TimeoutError) else "exited"
                await asyncio.to_thread(self._stop)
                raise RuntimeError(f"the map layers' build process {what}") from exc
            except asyncio.CancelledError:
                await asyncio.to_thread(self._stop)  # its answer would be read by the next build
                raise
        if status == "error":
            raise value
        self.hourly_reads = reads
        return value  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._stop)


def _in_memory(database_url: str) -> bool:
    url = sa.engine.make_url(database_url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def layer_builder(state: Any) -> LayerBuilder:
    """The app's builder (made at first use): a :class:`ProcessBuilder` unless
    ``AIRQ_MAP_BUILD_PROCESS`` is false or the registry lives in memory."""
    builder: LayerBuilder | None = getattr(state, "map_builder", None)
    if builder is None:
        settings = state.settings
        if MapLayerSettings().build_process and not _in_memory(settings.database_url):
            builder = ProcessBuilder(settings)
        else:
            builder = ThreadBuilder(state)
        state.map_builder = builder
    return builder


# --- the child process ---------------------------------------------------------------------


def _child_state(settings: Any) -> State:
    from api.influx import InfluxReader
    from api.registry import Registry

    state = State()
    state.settings = settings
    state.registry = Registry(settings.database_url, settings.public_location_decimals)
    state.influx = InfluxReader(
        settings.influx_url, settings.influx_db, settings.influx_username, settings.influx_password
    )
    return state


def child_main(conn: Connection, settings: Any, environ: dict[str, str], cwd: str) -> None:
    """The build process: reads ``(fn, args, previous)`` from ``conn`` and answers
    ``("ok", Encoded | None, hourly reads)`` or ``("error", exception, None)``, until the
    parent's end of the pipe closes. ``environ``: the parent's ``AIRQ_*`` variables."""
    # Ctrl-C in the terminal reaches the whole process group: the parent stops this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for k in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
        del os.environ[k]
    os.environ.update(environ)
    os.chdir(cwd)  # a .env file of the settings is read from there
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    state = _child_state(settings)
    try:
        while True:
            try:
                fn, args, previous = conn.recv()
            except (EOFError, OSError):
                return
            try:
                body = loop.run_until_complete(fn(state, *args))
                digest = digest_of(body)
                reply: tuple[str, Any, Any] = (
                    "ok",
                    None if digest == previous else encode(body, digest),
                    _hourly_reads(state),
                )
            except Exception as exc:  # the parent raises it (an HTTPException: the 400)
                reply = ("error", exc, None)
            try:
                conn.send(reply)
            except (EOFError, OSError):
                return
            except Exception as exc:  # an exception that does not pickle
                conn.send(("error", RuntimeError(f"map layer build failed: {exc!r}"), None))
    finally:
        loop.run_until_complete(state.influx.aclose())
        state.registry.close()
        loop.close()
