from __future__ import annotations

import argparse

from airq.errors import CliError


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.settings import ApiSettings

    try:
        settings = ApiSettings()
    except ValidationError as exc:
        raise CliError(f"invalid AIRQ_* setting: {exc}") from None
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level="warning",
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = sub.add_parser("api", help="lancer l'API / run the API")
    a.add_argument("--host")
    a.add_argument("--port", type=int)
    a.set_defaults(func=run)
