"""The one error type of the workshop tools.

``WorkshopError`` carries a message key and its arguments; ``str(error)`` is the message in the
language of ``AIRQ_LANG`` (French by default), and always says how to fix the problem. The
command line prints it without a traceback.
"""

from __future__ import annotations

from firmware_tools.i18n import t


class WorkshopError(Exception):
    """A workshop step failed; the message says what to do. Show it to the facilitator."""

    def __init__(self, key: str, **kw: object) -> None:
        self.key = key
        self.kw = kw
        super().__init__(key)

    def __str__(self) -> str:
        return t(self.key, **self.kw)
