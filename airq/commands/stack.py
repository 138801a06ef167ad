"""``airq stack`` (what ``scripts/demo`` runs): the local stack under one data folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airq.commands.common import DATA_DIR_ENV, default_data_dir


def stack_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`airq.stack.run_stack`, from the command line."""
    return {
        "data": Path(args.data) if args.data else default_data_dir(),
        "stations": args.stations,
        "interval": args.interval,
        "api_port": args.api_port,
        "duration": args.duration,
        "history_days": args.history_days,
    }


def run(args: argparse.Namespace) -> int:
    from airq.stack import run_stack

    return run_stack(**stack_options(args))


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} < 0")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text} = 0")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    st = sub.add_parser("stack", help="pile locale de démonstration / local demo stack")
    st.add_argument(
        "--data",
        help="dossier des données (défaut : .airq-data/ du projet, ou "
        f"{DATA_DIR_ENV}) / data folder; its registry.sqlite is the one of 'airq station add' "
        "only when it is the default",
    )
    st.add_argument("--stations", type=int, default=8, help="stations virtuelles (1-8)")
    st.add_argument("--interval", type=_positive, default=5.0, help="secondes entre mesures")
    st.add_argument("--api-port", type=int, default=8000)
    st.add_argument(
        "--duration",
        type=_non_negative,
        default=0,
        help="s'arrêter après N secondes (0 : jusqu'à Ctrl-C) / stop after N s",
    )
    st.add_argument(
        "--history-days",
        type=_non_negative,
        default=7.0,
        help="jours d'historique simulé au premier démarrage (0 : aucun) / days of "
        "simulated history on first start (0: none)",
    )
    st.set_defaults(func=run)
