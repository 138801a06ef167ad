"""Helpers shared by the subcommands: clean shutdowns and where local data lives."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    from pydantic import BaseModel

    from api.broker_accounts import BrokerAccounts
    from api.registry import Registry
    from api.settings import ApiSettings
    from ingest.influx import InfluxWriter
    from ingest.settings import IngestSettings

DATA_DIR_ENV = "AIRQ_DATA_DIR"
"""Overrides the data folder of the local stack (and of the default registry)."""


def stop_event() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, for clean shutdowns."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def project_root() -> Path | None:
    """The checkout this package runs from (source tree or editable install), else None."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "scripts" / "demo").is_file():
        return root
    return None


def default_data_dir() -> Path:
    """The data folder of the local stack (``scripts/demo``, ``airq stack``), which also holds
    the registry every ``airq`` command uses when ``AIRQ_DATABASE_URL`` is unset.

    ``AIRQ_DATA_DIR`` when set; else ``.airq-data/`` at the root of the checkout (ignored by
    git); else, for an installed package, the per-user data folder
    (``$XDG_DATA_HOME/airquartiers``, by default ``~/.local/share/airquartiers``).
    """
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser().resolve()
    root = project_root()
    if root is not None:
        return root / ".airq-data"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "airquartiers"


def registry_path(data: Path) -> Path:
    """The SQLite registry of a data folder."""
    return data / "registry.sqlite"


def registry_url(data: Path) -> str:
    return f"sqlite:///{registry_path(data)}"


S = TypeVar("S", bound="BaseModel")


def with_default_registry(settings: S) -> S:
    """``settings`` (ApiSettings, IngestSettings) whose ``database_url`` is the default registry
    (:func:`default_data_dir`) unless ``AIRQ_DATABASE_URL`` (environment or ``.env``) sets it.
    Creates the data folder when the default is used."""
    if "database_url" in settings.model_fields_set:
        return settings
    data = default_data_dir()
    data.mkdir(parents=True, exist_ok=True)
    return settings.model_copy(update={"database_url": registry_url(data)})


def describe_url(url: str) -> str:
    """A registry URL for messages: the file of a SQLite URL, the URL without password else."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :] or url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is named as it is, cut short
        return url[:80]


def registry_settings() -> ApiSettings:
    """The API settings, with the default registry when ``AIRQ_DATABASE_URL`` is unset."""
    from pydantic import ValidationError

    from airq.errors import CliError
    from airq.i18n import t
    from api.settings import ApiSettings

    try:
        return with_default_registry(ApiSettings())
    except ValidationError as exc:
        raise CliError(t("settings_invalid", why=exc)) from None


def ingest_settings() -> IngestSettings:
    """The ingest's settings (InfluxDB, retention, quality control) for the import commands,
    with the default registry when ``AIRQ_DATABASE_URL`` is unset; bad settings are a
    :class:`CliError` quoting pydantic's message."""
    from pydantic import ValidationError

    from airq.errors import CliError
    from airq.i18n import t
    from ingest.settings import IngestSettings

    try:
        return with_default_registry(IngestSettings())
    except ValidationError as exc:
        raise CliError(t("config_error", why=exc)) from None


def existing_files(names: Iterable[str]) -> list[Path]:
    """The files named on the command line, in order; the first that is not a file is a
    :class:`CliError` naming it."""
    from airq.errors import CliError
    from airq.i18n import t

    paths = [Path(n) for n in names]
    for p in paths:
        if not p.is_file():
            raise CliError(t("import_no_file", path=p))
    return paths


def import_writer(settings: IngestSettings) -> InfluxWriter:
    """An InfluxDB writer for a bulk import: the ingest's server and credentials, and a long
    timeout (600 s) for the large batches an import writes."""
    from ingest.influx import InfluxWriter

    return InfluxWriter(
        settings.influx_url,
        settings.influx_db,
        settings.influx_username,
        settings.influx_password,
        timeout=600,
    )


def _warn_old_registry(url: str) -> None:
    """Stations added before the default moved to the data folder are in ./airquartiers.sqlite
    (the old default): say so, and how to keep using it."""
    import sys

    from airq.i18n import t

    old = Path("airquartiers.sqlite")
    if old.is_file() and url == registry_url(default_data_dir()):
        print(
            t("registry_old_file", old=old, old_abs=old.resolve(), registry=describe_url(url)),
            file=sys.stderr,
        )


def open_registry() -> Registry:
    """The station registry the ``airq`` commands share (see :func:`default_data_dir`); a
    registry that cannot be opened is a :class:`CliError` naming ``AIRQ_DATABASE_URL``."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from airq.errors import CliError
    from airq.i18n import t
    from api.registry import Registry

    settings = registry_settings()
    url = settings.database_url
    _warn_old_registry(url)
    accounts = broker_accounts()
    try:
        # placements opened here (add, update) take the deployment's public precision
        reg = Registry(url, settings.public_location_decimals)
    except (SQLAlchemyError, ArgumentError, ValueError, OSError) as exc:
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0][:160]
        raise CliError(t("registry_unavailable", registry=describe_url(url), why=why)) from None
    reg.accounts = accounts  # station add, rotation, retirement change the broker too
    return reg


def broker_admin_url_file(data: Path) -> Path:
    """Where the running local stack leaves its broker's admin URL (mode 0600)."""
    return data / "mosquitto" / "admin-url"


def broker_accounts() -> BrokerAccounts | None:
    """The broker accounts the registry keeps: ``AIRQ_BROKER_ADMIN_URL``, else, for the local
    stack's registry while the stack runs, its broker; None otherwise. Bad settings are a
    :class:`CliError` naming the setting."""
    from pydantic import ValidationError

    from airq.errors import CliError
    from airq.i18n import t
    from api.broker_accounts import BrokerAccounts, BrokerAdminSettings

    try:
        settings = BrokerAdminSettings()
        accounts = settings.accounts()
    except ValidationError as exc:
        raise CliError(t("settings_invalid", why=exc)) from None
    if accounts is not None:
        return accounts
    data = default_data_dir()
    demo = broker_admin_url_file(data)
    if registry_settings().database_url == registry_url(data) and demo.is_file():
        try:
            return BrokerAccounts.from_url(demo.read_text().strip())
        except (OSError, ValueError):
            return None
    return None


def describe_registry(reg: Registry) -> str:
    """The registry's file (SQLite) or URL without its password, for messages."""
    return describe_url(reg.engine.url.render_as_string(hide_password=False))
