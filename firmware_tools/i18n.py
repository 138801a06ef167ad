"""The workshop's messages (command line, labels, printed steps): the ``workshop`` domain of the
project's catalogues (``airq_core/locale``, docs/translations.md). French first, the language
from ``--lang`` or ``AIRQ_LANG``. Every error message says how to fix the problem.
"""

from __future__ import annotations

from airq_core.i18n import lang, message

DOMAIN = "workshop"


def t(key: str, **kw: object) -> str:
    """The message ``key`` in the reader's language (``airq_core.i18n.message``)."""
    return message(DOMAIN, key, **kw)


def number(value: float, decimals: int = 1) -> str:
    """A number in the reader's convention: decimal comma in French."""
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if lang() == "fr" else text
