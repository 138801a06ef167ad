"""Language choice for texts that residents and local authorities read: French first,
English available (``AIRQ_LANG=en`` or a ``--lang en`` option that sets it). Each app keeps its
own message table; this module only picks the language and formats (pure, stdlib)."""

from __future__ import annotations

import os

LANGUAGES = ("fr", "en")


def lang() -> str:
    """The reader's language: ``AIRQ_LANG`` when it is ``fr`` or ``en``, French otherwise."""
    value = os.environ.get("AIRQ_LANG", "fr").lower()[:2]
    return value if value in LANGUAGES else "fr"


def translate(messages: dict[str, dict[str, str]], key: str, **kw: object) -> str:
    """``messages[key]`` in the reader's language (French when a translation is missing),
    formatted with ``kw``; an unknown key is returned as it is."""
    entry = messages.get(key)
    if entry is None:
        return key
    return entry.get(lang(), entry["fr"]).format(**kw)
