from __future__ import annotations

import signal
import threading


def stop_event() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, for clean shutdowns."""
    stop = threading.Event()

    def handler(signum, frame):  # type: ignore[no-untyped-def]
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
