"""A stand-in for a board on the sensor.community (airrohr) firmware, for tests and rehearsals.

It answers on a local port as the firmware's web server does in its set-up mode, with the
behaviour that matters to the workshop tools (``airrohr-firmware.ino``, NRZ-2024-135):

* ``POST /config`` stores every configuration key present in the form as the firmware does
  (booleans true only for ``"1"``; strings cut to their byte size, ``strncpy``; an empty
  password keeps the old one, a password is cut to 64 bytes), then answers ``200`` with the
  start of the page (its header carries ``ID: <chip id> (<mac>)`` and "Le détecteur est en train
  de redémarrer."), and restarts **without finishing the reply**: the connection is cut and
  the port stops answering for ``restart_s`` seconds (``sensor_restart``: Wi-Fi off, restart);
* after the restart it answers again on the same port, standing for the board on the home
  Wi-Fi (when a Wi-Fi name is stored) or for its set-up Wi-Fi reopened (when none is);
* ``GET /`` and ``GET /config`` answer a short page with the same header.

The set-up access point is named ``airRohr-<chip id>`` and protected by ``airrohrcfg``
(:attr:`AirrohrBoard.ap_ssid`, :attr:`AirrohrBoard.ap_password`).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

__all__ = ["FIRMWARE_LENGTHS", "AirrohrBoard"]

# byte sizes the firmware keeps (sizeof(cfg::key) - 1, defines.h) for the keys we set
FIRMWARE_LENGTHS = {
    "wlanssid": 34,
    "wlanpwd": 64,
    "host_custom": 99,
    "url_custom": 99,
    "user_custom": 64,
    "pwd_custom": 64,
}
_PASSWORDS = {"wlanpwd", "pwd_custom", "www_password", "fs_pwd", "pwd_influx"}
_BOOLEANS_SUFFIXES = ("_read", "send2dusti", "send2madavi", "send2custom", "ssl_custom")


def _cut(value: str, size: int) -> str:
    """What the firmware keeps of ``value`` in a buffer of ``size`` bytes (may split a
    character, as ``strncpy`` does)."""
    return value.encode()[:size].decode(errors="replace")


@dataclass
class AirrohrBoard:
    """A running stand-in board; use as a context manager or call :meth:`start`/:meth:`stop`."""

    chip_id: str = "3122405"
    mac: str = "5ccf7f123456"
    restart_s: float = 1.0
    config: dict[str, str] = field(default_factory=dict)
    saved: list[dict[str, str]] = field(default_factory=list)  # each accepted form
    restarts: int = 0
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _up: threading.Event = field(default_factory=threading.Event)
    _down: ThreadingHTTPServer | None = None

    @property
    def ap_ssid(self) -> str:
        return f"airRohr-{self.chip_id}"

    ap_password = "airrohrcfg"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def on_home_wifi(self) -> bool:
        """After a restart: on its station Wi-Fi when one is stored, else its set-up AP again."""
        return bool(self.config.get("wlanssid"))

    def __enter__(self) -> AirrohrBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        board = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _header(self) -> bytes:
                return (
                    "<html><head><title>airRohr</title></head><body>"
                    f"<small>ID: {board.chip_id} ({board.mac})<br/>Firmware: NRZ-2024-135/FR"
                    "</small><h3>Configuration</h3>"
                ).encode()

            def do_GET(self) -> None:
                body = self._header() + b"</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode(errors="replace")
                if self.path != "/config":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                board._store(parse_qsl(form, keep_blank_values=True))
                # start_html_page: 200 with chunked transfer, the page header first
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                for part in (self._header(), "Le détecteur est en train de redémarrer.".encode()):
                    self.wfile.write(f"{len(part):X}\r\n".encode() + part + b"\r\n")
                self.wfile.flush()
                # sensor_restart: Wi-Fi off before the last chunk; the connection is cut
                board._go_down()
                self.close_connection = True
                sock = self.connection
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                threading.Thread(target=board._come_back, daemon=True).start()

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._up.set()

    def _store(self, form: list[tuple[str, str]]) -> None:
        seen: dict[str, str] = {}
        for key, value in form:
            seen.setdefault(key, value)  # server.arg: the first value of a key
        with self._lock:
            for key, value in seen.items():
                if key in _PASSWORDS:
                    if value:
                        self.config[key] = _cut(value, 64)
                elif key.endswith(_BOOLEANS_SUFFIXES):
                    self.config[key] = "1" if value == "1" else "0"
                elif key in FIRMWARE_LENGTHS:
                    self.config[key] = _cut(value, FIRMWARE_LENGTHS[key])
                else:
                    self.config[key] = value
            self.saved.append(seen)

    def _go_down(self) -> None:
        """Stop answering (called from a request thread, never from ``serve_forever``'s)."""
        self._up.clear()
        server = self._server
        if server is not None:
            server.shutdown()
            server.server_close()
        self._down = server
        self.restarts += 1

    def _come_back(self) -> None:
        time.sleep(self.restart_s)
        if self._server is not None and self._server is self._down:  # not stopped meanwhile
            self.start()

    def join(self, ssid: str, password: str) -> bool:
        """Whether a phone joining the set-up Wi-Fi ``ssid`` with ``password`` gets in (WPA2:
        the board's access point accepts only its own name and password)."""
        return ssid == self.ap_ssid and password == self.ap_password

    def push(self, values: dict[str, float], timeout: float = 10.0) -> int:
        """Send one measurement cycle to the "own API" its stored configuration names, as the
        firmware does (``firmware_request``); returns the HTTP status."""
        import httpx

        from firmware_tools.airrohr import firmware_request

        with self._lock:
            config = dict(self.config)
        if config.get("send2custom") != "1":
            raise RuntimeError("the board is not configured to send to its own API")
        url, headers, body = firmware_request(config, values, chip_id=self.chip_id)
        return httpx.post(url, headers=headers, content=body, timeout=timeout).status_code

    def wait_up(self, timeout: float = 10.0) -> bool:
        """Whether the board answers again within ``timeout`` seconds."""
        return self._up.wait(timeout)

    def stop(self) -> None:
        server, self._server = self._server, None
        self._up.clear()
        if server is not None:
            server.shutdown()
            server.server_close()
