"""Messages that residents, facilitators and local authorities read: one lookup for the whole
project over gettext catalogues, French first (docs/translations.md).

The command line (domain ``cli``), the workshop tools, labels and printed steps (domain
``workshop``), the dashboards' titles (domain ``dashboards``), the alert e-mails (domain
``alerts``), ``airq gateway status`` (domain ``gateway``) and the API's sentences (domain ``api``)
keep their messages in ``airq_core/locale`` (beside the pages' ``pages`` domain, api/i18n.py):
``<domain>.pot`` holds every message as ``msgctxt`` (its key, what the code names) and ``msgid``
(its French text, the source of truth), and ``<lang>/LC_MESSAGES/<domain>.po`` its translations. The
key as context keeps apart two messages that read the same in French but not in another language.
The files are read as ``.po`` (a small stdlib parser, no compile step and no Babel at run time),
once per process.

:func:`message` is the lookup; an app binds its domain once (``airq.i18n.t``,
``firmware_tools.i18n.t``). A key the template lacks raises :class:`UnknownMessageError` (a bug
in the code, caught by the tests); a message a catalogue lacks, leaves empty or marks fuzzy is
given in French. The language is ``AIRQ_LANG`` (set by ``--lang``), French by default."""

from __future__ import annotations

import ast
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

__all__ = [
    "DOMAINS",
    "LANGUAGES",
    "LOCALE_DIR",
    "SOURCE_LANGUAGE",
    "Entry",
    "UnknownMessageError",
    "has_message",
    "lang",
    "message",
    "message_in",
    "read_po",
]

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "fr"
# languages a reader may ask for (other code formats durations and numbers for these);
# a message a catalogue lacks falls back to French
LANGUAGES = ("fr", "en")
DOMAINS = ("cli", "workshop", "dashboards", "alerts", "gateway", "api")
LOCALE_DIR = Path(str(files("airq_core") / "locale"))


class UnknownMessageError(KeyError):
    """The code asked for a message key its domain's template does not hold: add the message to
    ``airq_core/locale/<domain>.pot`` and its catalogues (docs/translations.md), or fix the key."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One message of a ``.po``/``.pot`` file."""

    context: str | None
    msgid: str
    msgstr: str
    fuzzy: bool


def _unquote(text: str, path: Path, lineno: int) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, str) or not text.startswith('"'):
        raise ValueError(f"{path}:{lineno}: not a quoted PO string: {text[:40]!r}")
    return value


def read_po(path: Path) -> list[Entry]:
    """The messages of a ``.po`` or ``.pot`` file (the header and obsolete ``#~`` entries left
    out; plural forms are not used by the project and give their first form). A malformed line
    raises ``ValueError`` naming the file and line."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    current: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal fields, current, fuzzy
        if fields.get("msgid"):
            entries.append(
                Entry(
                    fields.get("msgctxt"),
                    fields["msgid"],
                    fields.get("msgstr", fields.get("msgstr[0]", "")),
                    fuzzy,
                )
            )
        fields, current, fuzzy = {}, None, False

    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if current is not None and current.startswith("msgstr"):
                flush()
            if line.startswith("#,") and "fuzzy" in line[2:].replace(",", " ").split():
                fuzzy = True
            continue
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"{path}:{lineno}: a string outside an entry")
            fields[current] += _unquote(line, path, lineno)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword not in ("msgctxt", "msgid", "msgid_plural") and not keyword.startswith("msgstr"):
            raise ValueError(f"{path}:{lineno}: unknown PO keyword {keyword[:20]!r}")
        if keyword in ("msgctxt", "msgid") and current is not None and current.startswith("msgstr"):
            flush()
        current = keyword
        fields[keyword] = _unquote(rest.strip(), path, lineno)
    flush()
    return entries


def _template_path(domain: str, locale_dir: Path) -> Path:
    return locale_dir / f"{domain}.pot"


def _catalogue_path(domain: str, language: str, locale_dir: Path) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=32)
def _french(domain: str, locale_dir: Path) -> dict[str, str]:
    """Key -> French text of a domain's template."""
    return {e.context: e.msgid for e in read_po(_template_path(domain, locale_dir)) if e.context}


@lru_cache(maxsize=64)
def _translated(domain: str, language: str, locale_dir: Path) -> dict[str, str]:
    """Key -> translation in ``language`` (empty and fuzzy entries left out); empty when the
    language has no catalogue for the domain."""
    path = _catalogue_path(domain, language, locale_dir)
    if not path.exists():
        return {}
    french = _french(domain, locale_dir)
    kept: dict[str, str] = {}
    for e in read_po(path):
        # an entry whose French changed in the template is stale until the translator sees it
        if e.context and e.msgstr and not e.fuzzy and french.get(e.context) == e.msgid:
            kept[e.context] = e.msgstr
    return kept


def lang() -> str:
    """The reader's language: ``AIRQ_LANG`` when it is an offered language, French otherwise."""
    value = os.environ.get("AIRQ_LANG", SOURCE_LANGUAGE).lower()[:2]
    return value if value in LANGUAGES else SOURCE_LANGUAGE


def has_message(domain: str, key: str, locale_dir: Path = LOCALE_DIR) -> bool:
    return key in _french(domain, locale_dir)


def message(domain: str, key: str, locale_dir: Path = LOCALE_DIR, /, **kw: object) -> str:
    """The message ``key`` of ``domain`` in the reader's language (French when its catalogue
    lacks it), formatted with ``kw``. Raises :class:`UnknownMessageError` for an unknown key."""
    return message_in(lang(), domain, key, locale_dir, **kw)


def message_in(
    language: str, domain: str, key: str, locale_dir: Path = LOCALE_DIR, /, **kw: object
) -> str:
    """:func:`message` in a given language rather than the reader's (the dashboards are built
    in French whatever ``AIRQ_LANG`` says, as they are committed)."""
    french = _french(domain, locale_dir)
    try:
        text = french[key]
    except KeyError:
        raise UnknownMessageError(f"no message {key!r} in the {domain!r} catalogues") from None
    if language != SOURCE_LANGUAGE:
        text = _translated(domain, language, locale_dir).get(key, text)
    return text.format(**kw)
