from __future__ import annotations

import argparse
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    from airq.stack import run_stack

    return run_stack(
        Path(args.data),
        stations=args.stations,
        interval=args.interval,
        api_port=args.api_port,
        duration=args.duration,
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    st = sub.add_parser("stack", help="pile locale de démonstration / local demo stack")
    st.add_argument("--data", default=".airq-data", help="dossier des données / data folder")
    st.add_argument("--stations", type=int, default=8, help="stations virtuelles (1-8)")
    st.add_argument("--interval", type=float, default=5.0, help="secondes entre mesures")
    st.add_argument("--api-port", type=int, default=8000)
    st.add_argument(
        "--duration",
        type=float,
        default=0,
        help="s'arrêter après N secondes (0 : jusqu'à Ctrl-C) / stop after N s",
    )
    st.add_argument(
        "--history-days",
        type=float,
        default=7.0,
        help="jours d'historique simulé au premier démarrage (0 : aucun) / days of "
        "simulated history on first start",
    )
    st.set_defaults(func=run)
