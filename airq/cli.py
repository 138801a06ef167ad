"""``airq``: one command, a subcommand per app. Apps are imported only when a subcommand runs,
so a Raspberry Pi with the gateway extras alone can run ``airq gateway``.

Exit status: 0 done; 1 the command could not do its work (:class:`~airq.errors.CliError`, or a
command's own "not everything went well", e.g. a sensor check that fails); 2 wrong or missing
arguments (argparse's usage errors and :class:`~airq.errors.UsageError`); 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from airq.commands import MODULES
from airq.errors import CliError

PACKAGE = "airquartiers"


def package_version() -> str:
    """The installed version of the ``airquartiers`` distribution."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "inconnue / unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="airq",
        description="AirQuartiers : capteurs citoyens de qualité de l'air / citizen air-quality "
        "sensors",
    )
    p.add_argument(
        "--version", action="version", version=f"airq {package_version()}", help="version"
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
        return exc.exit_status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
