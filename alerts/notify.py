"""Delivery through Apprise: a subscription's target is an Apprise URL (mailto://, json://,
ntfy://, tgram://, matrix://, …)."""

from __future__ import annotations

import logging

import apprise

__all__ = ["send"]

log = logging.getLogger(__name__)


def send(target: str, title: str, body: str) -> str | None:
    """Sends one message; None when delivered, else why not (the URL is never in it)."""
    ap = apprise.Apprise()
    if not ap.add(target):
        return "the target is not an Apprise URL Apprise can use"
    try:
        ok = ap.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    except Exception as exc:  # a plugin's own failure: counted as a failed attempt
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None if ok else "the notification service refused or could not be reached"
