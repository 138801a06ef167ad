"""A PostgreSQL server for the registry tests, found or started, never required.

Order: ``AIRQ_TEST_POSTGRES_URL`` (a server URL whose user may create databases), then a
server on 127.0.0.1:5432 (trust auth, user ``postgres``), then a throwaway cluster started
with ``initdb``/``pg_ctl`` (Debian package ``postgresql``: /usr/lib/postgresql/*/bin; as root
it runs as the ``postgres`` user). ``AIRQ_TEST_POSTGRES=throwaway`` skips the first two.
Each test gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from airq.services import free_port

LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class NoPostgres(Exception):
    """No server reachable and none could be started; the message says why."""


def reachable(url: str) -> bool:
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # any failure means "not usable"
        return False


def _bin_dir() -> Path | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(d, "initdb").exists() and Path(d, "pg_ctl").exists():
            return Path(d)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


@dataclass
class Throwaway:
    datadir: Path
    bindir: Path
    port: int
    user: str | None  # run as this user (when we are root)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        full = list(cmd)
        if self.user:
            full = ["runuser", "-u", self.user, "--", *full]
        subprocess.run(full, check=True, capture_output=True, timeout=120)

    def start(self) -> Throwaway:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.datadir / "log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.datadir} -c fsync=off",
            "start",
        )
        return self

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)


def find_or_start() -> tuple[str, Throwaway | None]:
    """(server URL, throwaway server to stop or None). Raises NoPostgres with the reason."""
    mode = os.environ.get("AIRQ_TEST_POSTGRES", "")
    if mode != "throwaway":
        url = os.environ.get("AIRQ_TEST_POSTGRES_URL")
        if url:
            if reachable(url):
                return url, None
            raise NoPostgres(f"AIRQ_TEST_POSTGRES_URL={url} is not reachable")
        if reachable(LOCAL_URL):
            return LOCAL_URL, None
    bindir = _bin_dir()
    if bindir is None:
        raise NoPostgres(
            "no PostgreSQL on 127.0.0.1:5432 and no initdb/pg_ctl to start one "
            "(install the Debian package 'postgresql')"
        )
    user = None
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise NoPostgres("running as root and no 'postgres' user to run initdb") from None
        user = "postgres"
    datadir = Path(tempfile.mkdtemp(prefix="airq-pg-"))
    if user:
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
    server = Throwaway(datadir, bindir, free_port(), user)
    try:
        server.start()
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(datadir, ignore_errors=True)
        raise NoPostgres(f"could not start a throwaway PostgreSQL: {exc}") from None
    return server.url, server


def create_database(server_url: str, name: str) -> str:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return str(sa.make_url(server_url).set(database=name).render_as_string(hide_password=False))


def drop_database(server_url: str, name: str) -> None:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
