"""Serving the app for tests: a real uvicorn on a free port, and test settings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from airq.services import free_port
from api.app import create_app
from api.protection import install_protection
from api.settings import ApiSettings
from tests.helpers import wait_until

ADMIN_TOKEN = "test-admin-7Hq2xV9pLw3Rz8Kd"


def settings_for(influx_url: str, db: str, database_url: str, **kw: Any) -> ApiSettings:
    base: dict[str, Any] = {
        "influx_url": influx_url,
        "influx_db": db,
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 100_000,
    }
    base.update(kw)
    return ApiSettings(**base)


@contextmanager
def running(settings: ApiSettings) -> Iterator[httpx.Client]:
    """The app on a real uvicorn; yields an httpx client with its base URL."""
    app = create_app(settings)
    install_protection(app, settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # the app's own AIRQ_TRUSTED_PROXIES decides, as in `airq api`
        )
    )
    th = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    th.start()
    try:
        wait_until(lambda: server.started or not th.is_alive(), what="uvicorn to start")
        assert server.started, "uvicorn did not start"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        server.should_exit = True
        th.join(10)
