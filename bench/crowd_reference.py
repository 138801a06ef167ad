"""The reference of bench/public_crowd.py: a minimal Starlette app serving, path by path, the
bytes and headers the benchmark saved from the API (``AIRQ_BENCH_REFERENCE``: a folder with
``index.json``), to show what uvicorn itself allows on this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_DIR = Path(os.environ["AIRQ_BENCH_REFERENCE"])


def _serve(body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        return Response(body, headers=headers)

    return endpoint


app = Starlette(
    routes=[
        Route(path, _serve((_DIR / name).read_bytes(), headers))
        for path, (name, headers) in json.loads((_DIR / "index.json").read_text()).items()
    ]
)
