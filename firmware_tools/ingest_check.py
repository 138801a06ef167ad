"""Check, before a board is configured, that the address it will send to is one it can reach.

A board configured with a loopback address (``127.0.0.1``, ``localhost``, the defaults of the
``AIRQ_WORKSHOP_INGEST_*`` settings) sends to itself and nothing ever arrives: refused without
any network access. Then the address is probed from this laptop (name resolution and a TCP
connection to the port): a name that does not resolve or a port that does not answer is
refused too.

While the laptop is on a board's set-up Wi-Fi (``airRohr-…``) there is no internet and the
board's own DNS answers every name with ``192.168.4.1``: a probe made there proves nothing. A
successful probe is therefore remembered for :data:`REMEMBER_S` in the user's cache directory,
so that the facilitator checks once from the usual Wi-Fi and then configures boards one after
another from their set-up Wi-Fi.

The same loopback test guards the platform address printed for residents (labels, their QR
codes, printed steps, ``AIRQ_WORKSHOP_PLATFORM_URL``): :func:`check_platform_url`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from firmware_tools.errors import WorkshopError

__all__ = ["REMEMBER_S", "check_ingest", "check_platform_url", "is_loopback"]

REMEMBER_S = 12 * 3600
BOARD_AP_IP = "192.168.4.1"  # the firmware's set-up access point and DNS answer


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (as seen by the board: the board itself)."""
    name = host.strip().rstrip(".").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost") or name.endswith(
        ".localhost"
    ):
        return True
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def check_platform_url(url: str, allow_local: bool = False) -> bool:
    """Refuse, unless ``allow_local``, a platform URL that names this machine.

    Labels and printed steps leave with the residents: their phones would look for the site on
    themselves. Returns whether the URL is loopback (so that an allowed one can be pointed
    out); raises WorkshopError naming ``AIRQ_WORKSHOP_PLATFORM_URL`` otherwise.
    """
    local = is_loopback(urlsplit(url).hostname or "")
    if local and not allow_local:
        raise WorkshopError("platform_loopback", url=url)
    return local


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airq" / "ingest-checked.json"


def _remembered(key: str, now: float) -> bool:
    try:
        seen = json.loads(_cache_file().read_text(encoding="utf-8"))
        return isinstance(seen, dict) and now - float(seen.get(key, 0)) < REMEMBER_S
    except (OSError, ValueError, TypeError):
        return False


def _remember(key: str, now: float) -> None:
    path = _cache_file()
    with contextlib.suppress(OSError, ValueError):
        try:
            seen = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            seen = {}
        if not isinstance(seen, dict):
            seen = {}
        seen[key] = now
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(seen), encoding="utf-8")


def _hint() -> str:
    from firmware_tools.i18n import t

    return t("ingest_board_wifi_hint")


def check_ingest(host: str, port: int, probe: bool = True, timeout: float = 3.0) -> None:
    """Refuse a loopback address, then (``probe``) one this laptop cannot reach.

    Raises WorkshopError saying which setting to change, or how to check from the usual Wi-Fi.
    """
    if is_loopback(host):
        raise WorkshopError("ingest_loopback", host=host, port=port)
    if not probe:
        return
    key = f"{host}:{port}"
    now = time.time()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        if _remembered(key, now):
            return
        raise WorkshopError(
            "ingest_unknown_host", host=host, why=exc.strerror or exc, board_wifi=_hint()
        ) from None
    addresses = [info[4][0] for info in infos]
    if any(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses):
        raise WorkshopError("ingest_loopback", host=host, port=port)
    if all(a == BOARD_AP_IP for a in addresses):
        if _remembered(key, now):
            return
        raise WorkshopError("ingest_on_board_wifi", host=host, ip=BOARD_AP_IP)
    why = ""
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as s:
                s.settimeout(timeout)
                s.connect(address)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            continue
        _remember(key, now)
        return
    if _remembered(key, now):
        return
    raise WorkshopError("ingest_unreachable", host=host, port=port, why=why, board_wifi=_hint())
