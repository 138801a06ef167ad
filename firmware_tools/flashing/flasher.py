"""Flash a board with esptool's Python API (esptool >= 5: ``esptool.cmds``).

detect the chip -> refuse an image built for another chip -> upload the stub -> raise the baud
rate -> write (compressed, with esptool's MD5 check) -> verify -> hard reset. When the transfer
fails (noisy cable, long USB hub chain), start again at a lower baud rate.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from firmware_tools.errors import WorkshopError
from firmware_tools.flashing.image import ImageInfo, check_image_matches, chip_key

__all__ = [
    "FALLBACK_BAUDS",
    "FlashReport",
    "config_action",
    "detect_board",
    "flash_image",
    "holds_configuration",
]

log = logging.getLogger(__name__)

ROM_BAUD = 115200
FALLBACK_BAUDS = (460800, 230400, 115200)

ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)

# Where the airrohr firmware keeps its configuration on an ESP8266: config.json in a SPIFFS
# file system that starts at 0x100000 (platformio.ini: board_build.ldscript = eagle.flash.4m3m.ld,
# board_build.filesystem = spiffs). Writing the firmware at 0x0 leaves it in place: the board
# keeps its Wi-Fi, page password and "own API" settings, so no set-up Wi-Fi appears.
AIRROHR_FS_OFFSET = 0x100000
FS_PROBE_SIZE = 0x10000


def holds_configuration(fs_head: bytes) -> bool:
    """Whether the start of the board's file system holds an airrohr configuration (the name
    of ``/config.json`` in a SPIFFS object header, or a configuration key in its data)."""
    return b"/config.json" in fs_head or b'"wlanssid"' in fs_head or b'"fs_ssid"' in fs_head


def config_action(fs_head: bytes | None, erase: bool, keep_config: bool) -> str:
    """``"erase"``, ``"keep"`` or ``"write"`` (nothing to keep); raises WorkshopError when the
    board holds a configuration and neither ``--erase`` nor ``--keep-config`` was chosen."""
    if erase:
        return "erase"
    if keep_config:
        return "keep"
    if fs_head is not None and holds_configuration(fs_head):
        raise WorkshopError("board_has_config")
    return "write"


def _esptool_logger(progress: ProgressFn | None) -> Any:
    """An esptool ``TemplateLogger`` that sends text to logging and progress to ``progress``."""
    from esptool.logger import TemplateLogger

    # esptool has no type information, so its base class is Any: nothing wrong to report
    class _Logger(TemplateLogger):  # type: ignore[misc]
        def print(self, *args: Any, **kwargs: Any) -> None:
            text = " ".join(str(a) for a in args).strip()
            if text:
                log.debug("esptool: %s", text)

        def note(self, message: str) -> None:
            log.debug("esptool note: %s", message)

        def warning(self, message: str) -> None:
            log.debug("esptool warning: %s", message)

        def error(self, message: str) -> None:
            log.debug("esptool error: %s", message)

        def stage(self, finish: bool = False) -> None:
            pass

        def progress_bar(
            self,
            cur_iter: int,
            total_iters: int,
            prefix: str = "",
            suffix: str = "",
            bar_length: int = 30,
        ) -> None:
            if progress is not None:
                progress(cur_iter, total_iters)

        def set_verbosity(self, verbosity: str) -> None:
            pass

    return _Logger()


@contextlib.contextmanager
def _quiet_esptool(progress: ProgressFn | None = None) -> Iterator[None]:
    from esp_pylib.logger import EspLog
    from esptool.logger import log as esplog

    previous = EspLog.instance
    esplog.set_logger(_esptool_logger(progress))
    try:
        yield
    finally:
        EspLog.instance = previous


def _connect_error(exc: Exception, port: str) -> WorkshopError:
    text = str(exc)
    if "No serial data received" in text:
        return WorkshopError("no_chip", port=port)
    if "Invalid head of packet" in text or "Wrong boot mode" in text or "boot mode" in text:
        return WorkshopError("not_in_bootloader", port=port)
    if "Permission denied" in text or "could not open port" in text:
        from firmware_tools.flashing.ports import check_port_access

        check_port_access(port)  # raises the precise port error
    return WorkshopError("connect_failed", port=port, why=text.splitlines()[0][:160])


def _close(esp: Any) -> None:
    port = getattr(esp, "_port", None)
    if port is not None:
        with contextlib.suppress(Exception):
            port.close()


def detect_board(port: str, connect_attempts: int = 4, before: str = "default-reset") -> Any:
    """Connect to the ROM bootloader and return esptool's loader for the detected chip."""
    import serial
    from esptool.cmds import detect_chip
    from esptool.util import FatalError

    try:
        return detect_chip(port, ROM_BAUD, before, False, connect_attempts)
    except (FatalError, serial.SerialException, OSError) as exc:
        raise _connect_error(exc, port) from None


@dataclass
class FlashReport:
    chip: str
    baud: int
    erased: bool = False
    attempts: list[tuple[int, str]] = field(default_factory=list)  # (baud, why it failed)


def flash_image(
    port: str,
    data: bytes,
    info: ImageInfo,
    address: int,
    name: str = "firmware",
    baud: int = 460800,
    connect_attempts: int = 4,
    before: str = "default-reset",
    progress: ProgressFn | None = None,
    on_retry: Callable[[int, int, str], None] | None = None,
    erase: bool = False,
    keep_config: bool = False,
) -> FlashReport:
    """Write ``data`` at ``address`` and verify it; retry at lower baud rates on link errors.

    ``erase``: erase the whole flash first (old Wi-Fi, page password, settings go). Otherwise,
    on an ESP8266, the airrohr file system is read first and a board that holds a configuration
    is refused unless ``keep_config``.

    Raises WorkshopError: no chip answered, wrong boot mode, image for another chip, a board
    holding a configuration without a choice, or every baud rate failed.
    """
    import serial
    from esptool.cmds import (
        attach_flash,
        erase_flash,
        read_flash,
        reset_chip,
        run_stub,
        verify_flash,
        write_flash,
    )
    from esptool.util import FatalError

    bauds = [baud] + [b for b in FALLBACK_BAUDS if b < baud]
    report = FlashReport(chip="?", baud=baud)
    with _quiet_esptool(progress):
        for k, rate in enumerate(bauds):
            esp = detect_board(port, connect_attempts, before)
            try:
                report.chip = chip_key(esp.CHIP_NAME)
                check_image_matches(info, report.chip, name)
                esp = run_stub(esp)
                if rate != ROM_BAUD:
                    esp.change_baud(rate)
                attach_flash(esp)
                head = None
                if not erase and not keep_config and report.chip == "esp8266":
                    got = read_flash(esp, AIRROHR_FS_OFFSET, FS_PROBE_SIZE, no_progress=True)
                    head = bytes(got or b"")
                if config_action(head, erase, keep_config) == "erase":
                    erase_flash(esp)
                    report.erased = True
                write_flash(esp, [(address, data)])
                verify_flash(esp, [(address, data)])
                reset_chip(esp, "hard-reset")
                report.baud = rate
                return report
            except (FatalError, serial.SerialException, OSError) as exc:
                why = str(exc).splitlines()[0][:160]
                report.attempts.append((rate, why))
                log.debug("flashing at %d baud failed: %s", rate, why)
                if k + 1 < len(bauds) and on_retry is not None:
                    on_retry(rate, bauds[k + 1], why)
            finally:
                _close(esp)
    tried = ", ".join(str(b) for b, _ in report.attempts)
    raise WorkshopError("flash_failed", port=port, tried=tried, why=report.attempts[-1][1])
