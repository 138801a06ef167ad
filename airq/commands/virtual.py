from __future__ import annotations

import argparse

from airq.commands.common import stop_event
from airq.errors import CliError


def run(args: argparse.Namespace) -> int:
    from firmware_tools.virtual import PtySensor, make_emulator

    try:
        emu = make_emulator(args.sensor, seed=args.seed, period=args.period)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    stop = stop_event()
    with PtySensor(emu) as pty:
        print(f"{args.sensor} virtuel sur / virtual on: {pty.port}", flush=True)
        stop.wait()
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    v = sub.add_parser("virtual-sensor", help="capteur virtuel sur un pty / virtual sensor")
    v.add_argument("sensor")
    v.add_argument("--period", type=float, default=1.0)
    v.add_argument("--seed", type=int, default=0)
    v.set_defaults(func=run)
