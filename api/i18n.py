"""Translations of the public pages: gettext catalogues, French as the source.

The pages' scripts write every message as ``_("French text")``; ``pybabel extract`` (with
``babel.cfg`` and :func:`extract_html`) gathers them into ``airq_core/locale/pages.pot`` and a
translator fills ``airq_core/locale/<lang>/LC_MESSAGES/pages.po`` (docs/translations.md). The
server reads the ``.po`` files (no compile step), picks the language of a request
(:func:`pick_language`) for ``<html lang dir>`` and puts the messages of every offered
language in a JSON block of the page (:func:`messages_json`): the page's script applies the
same rule in the browser (``?lang=``, ``navigator.languages``, the served ``lang``), so one
document serves every language (the map page is served ready whatever its query,
api/map_layers.py). French needs no catalogue.

A catalogue is read once and kept while its file does not change."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from babel.messages.extract import extract_javascript
from babel.messages.pofile import read_po

from airq_core.i18n import LOCALE_DIR

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "fr"
DOMAIN = "pages"
# languages the pages offer: code -> (name in the language, writing direction)
LANGUAGES: dict[str, tuple[str, str]] = {
    "fr": ("Français", "ltr"),
    "en": ("English", "ltr"),
    "ar": ("العربية", "rtl"),
}
_SCRIPT_BODY_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@dataclass(frozen=True, slots=True)
class _Kept:
    stamp: tuple[int, int]
    messages: dict[str, str]


_kept: dict[Path, _Kept] = {}


def read_messages(lang: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """French message -> its translation in ``lang``, fuzzy and empty entries left out (the
    page then shows the French); empty for French or a language without a catalogue."""
    if lang == SOURCE_LANGUAGE:
        return {}
    path = po_path(lang, locale_dir)
    try:
        st = path.stat()
    except OSError:
        log.warning("no catalogue for %r at %s: the pages stay in French", lang, path)
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    kept = _kept.get(path)
    if kept is None or kept.stamp != stamp:
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang, domain=DOMAIN)
        messages: dict[str, str] = {}
        for m in catalog:
            ok = isinstance(m.id, str) and isinstance(m.string, str) and not m.fuzzy
            if ok and m.id and m.string:
                messages[str(m.id)] = str(m.string)
        kept = _kept[path] = _Kept(stamp, messages)
    return kept.messages


def messages_json(locale_dir: Path = LOCALE_DIR) -> str:
    """The pages' i18n block: the offered languages (code -> [name, direction]) and the
    messages of each translated one, as JSON safe inside ``<script type="application/json">``
    (``<``, ``>``, ``&`` escaped: a translator's ``</script>`` or ``<!--`` cannot end it)."""
    doc = {
        "languages": LANGUAGES,
        "messages": {
            lang: read_messages(lang, locale_dir) for lang in LANGUAGES if lang != SOURCE_LANGUAGE
        },
    }
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _accept_language(header: str) -> Iterator[str]:
    """The primary language subtags of an ``Accept-Language`` header, best first (q=0 left
    out, a malformed weight counts as 0)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary and q > 0:
            ranked.append((-q, i, primary))
    for _q, _i, primary in sorted(ranked):
        yield primary


def pick_language(query: str | None, accept_language: str | None, default: str) -> str:
    """The page's language: ``?lang=`` if offered, else the browser's first offered language,
    else ``default`` (``AIRQ_LANG``), else French."""
    if query and query.lower() in LANGUAGES:
        return query.lower()
    for primary in _accept_language(accept_language or ""):
        if primary in LANGUAGES:
            return primary
    return default if default in LANGUAGES else SOURCE_LANGUAGE


def extract_html(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[Any, ...]]:
    """Babel extractor of the pages: the ``_("…")`` calls of each inline ``<script>``, with
    their line in the HTML file (``babel.cfg`` maps ``api/static/*.html`` to it)."""
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for m in _SCRIPT_BODY_RE.finditer(text):
        offset = text.count("\n", 0, m.start(1))
        body = m.group(1).encode("utf-8")
        found = extract_javascript(io.BytesIO(body), keywords, comment_tags, options)
        for lineno, funcname, message, comments in found:
            yield lineno + offset, funcname, message, comments
