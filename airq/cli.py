"""``airq``: one command, a subcommand per app. Apps are imported only when a subcommand runs,
so a Raspberry Pi with the gateway extras alone can run ``airq gateway``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from airq.commands import MODULES
from airq.errors import CliError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="airq",
        description="AirQuartiers : capteurs citoyens de qualité de l'air / citizen air-quality "
        "sensors",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="détails et traces / debug logs")
    p.add_argument("--lang", choices=["fr", "en"], help="langue des messages / message language")
    sub = p.add_subparsers(dest="command", required=True)
    for name in MODULES:
        importlib.import_module(f"airq.commands.{name}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.lang:
        os.environ["AIRQ_LANG"] = args.lang
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        if args.verbose:
            raise
        print(f"airq: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
