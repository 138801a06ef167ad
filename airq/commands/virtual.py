from __future__ import annotations

import argparse

from airq.commands.common import stop_event
from airq.errors import UsageError


def run(args: argparse.Namespace) -> int:
    from firmware_tools.virtual import PtySensor, make_emulator

    options: dict[str, float] = {"seed": args.seed}
    if args.period is not None:
        options["period"] = args.period
    try:
        emu = make_emulator(args.sensor, **options)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except TypeError:
        raise UsageError(
            f"{args.sensor} ne répond qu'aux requêtes : --period ne s'applique pas / "
            "answers requests only: --period does not apply"
        ) from None
    stop = stop_event()
    with PtySensor(emu) as pty:
        print(f"{args.sensor} virtuel sur / virtual on: {pty.port}", flush=True)
        stop.wait()
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    v = sub.add_parser("virtual-sensor", help="capteur virtuel sur un pty / virtual sensor")
    v.add_argument("sensor")
    v.add_argument(
        "--period",
        type=float,
        default=None,
        help="secondes entre trames en mode actif / seconds between active frames",
    )
    v.add_argument("--seed", type=int, default=0)
    v.set_defaults(func=run)
