"""Delivery through Apprise: a subscription's target is an Apprise URL (mailto://, json://,
ntfy://, tgram://, matrix://, …) or a plain e-mail address, sent through the platform's mail
relay (``AIRQ_ALERTS_SMTP_URL``, alerts/targets.py)."""

from __future__ import annotations

import logging

import apprise

from alerts.targets import plain_address, relay_url

__all__ = ["send"]

log = logging.getLogger(__name__)


def send(target: str, title: str, body: str, relay: str | None = None) -> str | None:
    """Sends one message; None when delivered, else why not (the URL is never in it). A plain
    address goes through ``relay`` (the relay's Apprise URL, with the address as recipient)."""
    address = plain_address(target)
    if address is not None:
        if relay is None:
            return "a plain e-mail address, and no mail relay is set (AIRQ_ALERTS_SMTP_URL)"
        target = relay_url(relay, address)
    ap = apprise.Apprise()
    if not ap.add(target):
        return "the target is not an Apprise URL Apprise can use"
    try:
        ok = ap.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    except Exception as exc:  # a plugin's own failure: counted as a failed attempt
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None if ok else "the notification service refused or could not be reached"
