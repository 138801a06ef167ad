from __future__ import annotations

import argparse

from airq.commands.common import with_default_registry
from airq.errors import CliError
from airq.i18n import t


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.settings import ApiSettings

    try:
        settings = with_default_registry(ApiSettings())
    except ValidationError as exc:
        raise CliError(t("settings_invalid", why=exc)) from None
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level="warning",
        # the app alone decides whom to believe about client addresses (AIRQ_TRUSTED_PROXIES);
        # uvicorn would otherwise rewrite them from X-Forwarded-For sent through 127.0.0.1
        proxy_headers=False,
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    a = sub.add_parser("api", help="lancer l'API / run the API")
    a.add_argument("--host")
    a.add_argument("--port", type=int)
    a.set_defaults(func=run)
