"""The command line's messages: the ``cli`` domain of the project's catalogues
(``airq_core/locale``, docs/translations.md). French first; the language comes from ``--lang``
or ``AIRQ_LANG``."""

from __future__ import annotations

from airq_core.i18n import has_message, message

DOMAIN = "cli"


def t(key: str, **kw: object) -> str:
    """The message ``key`` in the reader's language (``airq_core.i18n.message``)."""
    return message(DOMAIN, key, **kw)


def known(key: str) -> bool:
    return has_message(DOMAIN, key)
