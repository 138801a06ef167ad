"""The deployment's HTTPS front (deploy/caddy/Caddyfile) on this machine: Debian's ``caddy``
binary running the project's Caddyfile unchanged, in its test mode (Caddy's internal CA) on
loopback ports, in front of a real API; and a client that reaches it as a browser, a
researcher or a board on the Internet would (by name, with SNI, from its own address)."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from airq.services import free_port

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
DOMAIN = "airq.test"  # reserved for tests (RFC 6761): never a real certificate


def caddy_binary() -> str:
    """Debian's caddy, or skip (fail in CI) with the command that installs it."""
    exe = shutil.which("caddy")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("caddy is missing: apt-get install caddy (scripts/setup --dev)")
        pytest.skip("caddy not installed (apt-get install caddy)")
    return exe


@dataclass
class Caddy:
    """``caddy run`` with deploy/caddy/Caddyfile: only the listen address, the ports and the
    upstream differ from the deployment (environment variables the file reads)."""

    workdir: Path
    upstream: str  # host:port of the API
    domain: str = DOMAIN
    http_port: int = 0
    https_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def root_cert(self) -> Path:
        """The root of Caddy's internal CA, in its data folder (`tls internal`)."""
        return self.workdir / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    @property
    def log(self) -> Path:
        return self.workdir / "caddy.log"

    def environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),  # nothing written to the real home
            "XDG_DATA_HOME": str(self.workdir / "data"),
            "XDG_CONFIG_HOME": str(self.workdir / "config"),
            # what an operator's .env sets, in its test mode
            "AIRQ_DOMAIN": self.domain,
            "AIRQ_TLS": "internal",
            # where: loopback and free ports, the API of the test
            "AIRQ_CADDY_BIND": "127.0.0.1",
            "AIRQ_CADDY_HTTP_PORT": str(self.http_port),
            "AIRQ_CADDY_HTTPS_PORT": str(self.https_port),
            "AIRQ_CADDY_UPSTREAM": self.upstream,
        }

    def start(self, timeout: float = 30) -> Caddy:
        exe = caddy_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.http_port = self.http_port or free_port()
        self.https_port = self.https_port or free_port()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [exe, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                env=self.environment(),
                stdout=out,
                stderr=out,
                cwd=self.workdir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._serves_https():
            if self.proc.poll() is not None:
                pytest.fail(f"caddy exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"caddy did not serve HTTPS within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def _serves_https(self) -> bool:
        if not self.root_cert.exists():
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.https_port), timeout=2) as raw:
                ctx = ssl.create_default_context(cafile=str(self.root_cert))
                with ctx.wrap_socket(raw, server_hostname=self.domain):
                    return True
        except (OSError, ssl.SSLError):
            return False

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


_sources = itertools.count()


def next_source() -> str:
    """A loopback address of its own (127.0.0.2, .3, …) for one simulated client: the API's
    rate limit keys on the client address, and 127.0.0.1 is the proxy's (trusted) one."""
    n = next(_sources)
    return f"127.0.{n // 250}.{n % 250 + 2}"


@dataclass
class Front:
    """The front door as clients on the Internet see it."""

    caddy: Caddy
    api: httpx.Client  # the API itself, bypassing the proxy
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def https_base(self) -> str:
        return f"https://{self.caddy.domain}:{self.caddy.https_port}"

    def tls_context(self) -> ssl.SSLContext:
        """A client that trusts Caddy's internal CA and nothing else."""
        return ssl.create_default_context(cafile=str(self.caddy.root_cert))

    def client(self, source: str | None = None, verify: Any = None) -> httpx.Client:
        """A client connecting from ``source`` (a fresh loopback address by default)."""
        transport = httpx.HTTPTransport(
            local_address=source or next_source(),
            verify=self.tls_context() if verify is None else verify,
        )
        c = httpx.Client(transport=transport, timeout=30, follow_redirects=False)
        self.clients.append(c)
        return c

    def https(
        self, method: str, path: str, client: httpx.Client | None = None, **kw: Any
    ) -> httpx.Response:
        """``method path`` over HTTPS by name (Host and SNI ``airq.test``), to 127.0.0.1."""
        c = client or self.client()
        headers = {"Host": f"{self.caddy.domain}:{self.caddy.https_port}", **kw.pop("headers", {})}
        return c.request(
            method,
            f"https://127.0.0.1:{self.caddy.https_port}{path}",
            headers=headers,
            extensions={"sni_hostname": self.caddy.domain},
            **kw,
        )

    def http(
        self, method: str, path: str, client: httpx.Client | None = None, **kw: Any
    ) -> httpx.Response:
        """``method path`` over plain HTTP by name."""
        c = client or self.client()
        headers = {"Host": f"{self.caddy.domain}:{self.caddy.http_port}", **kw.pop("headers", {})}
        return c.request(
            method, f"http://127.0.0.1:{self.caddy.http_port}{path}", headers=headers, **kw
        )

    def close(self) -> None:
        for c in self.clients:
            c.close()
