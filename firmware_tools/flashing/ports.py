"""Finding the board's USB serial port, with errors that say how to fix access problems."""

from __future__ import annotations

import errno
import grp
import os
import sys
from collections.abc import Sequence
from typing import Any

from firmware_tools.errors import WorkshopError

__all__ = ["USB_SERIAL_CHIPS", "check_port_access", "choose_port", "list_serial_ports"]

# USB vendor ids of the USB-serial chips found on ESP boards.
USB_SERIAL_CHIPS = {
    0x1A86: "CH340/CH341 (WCH)",
    0x10C4: "CP210x (Silicon Labs)",
    0x0403: "FTDI",
    0x303A: "Espressif USB",
    0x067B: "PL2303 (Prolific)",
}


def list_serial_ports() -> list[Any]:
    """The serial ports pyserial sees (``ListPortInfo``), USB ones first."""
    from serial.tools import list_ports

    ports = list(list_ports.comports())
    return sorted(ports, key=lambda p: (p.vid is None, p.device))


def _describe(port: Any) -> str:
    chip = USB_SERIAL_CHIPS.get(port.vid or -1)
    what = chip or port.description or "?"
    return f"{port.device} ({what})"


def choose_port(requested: str | None, ports: Sequence[Any]) -> str:
    """The port to use: the one asked for (checked), else the only USB serial port.

    Raises WorkshopError: no USB port (charge-only cable, missing CH340/CP210x driver), several
    candidates (choose with --port), or the requested port cannot be opened.
    """
    if requested:
        check_port_access(requested, ports)
        return requested
    usb = [p for p in ports if p.vid is not None]
    if not usb:
        raise WorkshopError("no_port", hint=_driver_hint())
    known = [p for p in usb if p.vid in USB_SERIAL_CHIPS]
    candidates = known or usb
    if len(candidates) > 1:
        raise WorkshopError("several_ports", ports=", ".join(_describe(p) for p in candidates))
    check_port_access(candidates[0].device, ports)
    return str(candidates[0].device)


def _driver_hint() -> str:
    from firmware_tools.i18n import t

    if sys.platform.startswith("win"):
        return t("hint_driver_windows")
    if sys.platform == "darwin":
        return t("hint_driver_mac")
    return t("hint_driver_linux")


def _group_of(path: str) -> str:
    try:
        return grp.getgrgid(os.stat(path).st_gid).gr_name
    except (OSError, KeyError):
        return "dialout"


def check_port_access(path: str, ports: Sequence[Any] = ()) -> None:
    """Open and close the port once, turning OS errors into instructions."""
    import serial

    if not os.path.exists(path):
        available = ", ".join(_describe(p) for p in ports) or "-"
        raise WorkshopError("port_missing", port=path, available=available)
    try:
        link = serial.Serial(path, 115200, timeout=0, exclusive=True)
    except serial.SerialException as exc:
        code = getattr(exc, "errno", None)
        text = str(exc)
        if code == errno.EACCES or "Permission denied" in text:
            raise WorkshopError(
                "port_permission", port=path, group=_group_of(path), user=_user()
            ) from None
        if code == errno.EBUSY or "busy" in text.lower() or "lock" in text.lower():
            raise WorkshopError("port_busy", port=path) from None
        raise WorkshopError("port_error", port=path, why=text[:160]) from None
    link.close()


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "$USER")
