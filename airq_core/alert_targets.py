"""Where an alert subscription's messages go, and what a station's token may choose (pure,
stdlib; shared by the API and the CLI, which write subscriptions, and the alerts service, which
delivers them). docs/alerts.md, "Targets".

A target is an Apprise URL, or a plain e-mail address (``lina@example.org``,
``mailto:lina@example.org``) sent through the platform's mail relay (``AIRQ_ALERTS_SMTP_URL``,
an Apprise ``mailto://`` URL with the operator's SMTP host and credentials, no recipient). The
address is stored as such; the relay's URL with the address as its recipient is built at
delivery time (:func:`relay_url`), so the relay's credentials are never in the registry nor in
an answer.

A station's token (a resident) may only choose targets the server cannot be pointed with at a
host of their choosing: a plain address (through the relay), an ntfy topic on ntfy.sh or on a
host of ``AIRQ_ALERTS_NTFY_HOSTS`` (its default port), or a service whose Apprise plugin posts
to a fixed public API (:data:`PUBLIC_API_SCHEMES`). Everything else (an SMTP host, gotify,
matrix, mqtt, webhooks…) needs the admin token. The API applies it when subscribing (with
Apprise reading the URL as the service will): a target stored before stays delivered.

Messages for people are French first, then English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

__all__ = [
    "DEFAULT_NTFY_HOSTS",
    "NTFY_SCHEMES",
    "PUBLIC_API_SCHEMES",
    "no_relay_message",
    "ntfy_hosts",
    "plain_address",
    "redact_address",
    "relay_url",
    "relay_url_problem",
    "resident_refusal",
    "resident_scheme",
]

NTFY_SCHEMES = frozenset({"ntfy", "ntfys"})
DEFAULT_NTFY_HOSTS = ("ntfy.sh",)

# Apprise schemes whose plugin (apprise 2.3, apprise/plugins/<file>) sends to a fixed public
# API whatever the URL holds: the URL only carries tokens and ids, no host, and no query
# argument changes where the request goes (checked in each plugin's parse_url and send):
PUBLIC_API_SCHEMES = frozenset(
    {
        "tgram",  # telegram.py: https://api.telegram.org/bot<token>/…
        "discord",  # discord.py: https://discord.com/api/webhooks/<id>/<token>
        "slack",  # slack.py: hooks.slack.com, hooks.slack-gov.com, slack.com/api
        "pover",  # pushover.py: https://api.pushover.net/1/messages.json
        "pbul",  # pushbullet.py: https://api.pushbullet.com/v2/…
    }
)
# Not here, as they take a host (or a whole URL) from the subscriber: mailto/mailtos (an SMTP
# server), gotify, matrix, mqtt, rocketchat, mattermost, ntfy with its own host (allowed on
# AIRQ_ALERTS_NTFY_HOSTS only), json/xml/form, apprise_api, signal_api, native https:// URLs…

_LOCAL = r"[A-Za-z0-9._+-]{1,64}"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_ADDRESS_RE = re.compile(rf"({_LOCAL})@({_DOMAIN})")
"""A plain address: no quoting, comments, IP literals, commas or spaces (the address goes into
the relay's URL as its only recipient; Apprise would read a comma or a space as a second one)."""
_HOST_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")


def plain_address(notify: str) -> str | None:
    """The e-mail address of a plain target (``lina@example.org``, ``mailto:lina@example.org``),
    its domain in lower case; None when ``notify`` is not one (an Apprise URL, a typo)."""
    text = notify.strip()
    if text[:7].lower() == "mailto:" and not text[7:].startswith("/"):
        text = text[7:]
    m = _ADDRESS_RE.fullmatch(text)
    if m is None or len(text) > 254:
        return None
    return f"{m.group(1)}@{m.group(2).lower()}"


def redact_address(address: str) -> str:
    """A plain address for listings: ``mailto:…@example.org`` (as Apprise URLs show their host
    and not their user)."""
    return f"mailto:…@{address.rpartition('@')[2]}"


def relay_url_problem(url: str) -> str | None:
    """None when ``url`` can be the mail relay (an Apprise ``mailto://`` or ``mailtos://`` URL
    without recipients of its own: each subscription gives it); else what to change. Whether
    Apprise accepts it is the caller's check."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("mailto", "mailtos"):
        return (
            "AIRQ_ALERTS_SMTP_URL: an Apprise mailto:// or mailtos:// URL, e.g. "
            "mailtos://user:password@smtp.example.org?from=alertes@example.org"
        )
    query_keys = {k.lower() for k, _, _ in (p.partition("=") for p in parts.query.split("&"))}
    if parts.path.strip("/") or "to" in query_keys or parts.fragment:
        return (
            "AIRQ_ALERTS_SMTP_URL: no recipient in the relay's URL (no path, no to=): each "
            "subscription gives its own"
        )
    return None


def relay_url(relay: str, address: str) -> str:
    """The Apprise URL sending to ``address`` (a :func:`plain_address`) through the relay."""
    return f"{relay}{'&' if '?' in relay else '?'}to={quote(address, safe='@')}"


def ntfy_hosts(value: str | Iterable[str]) -> tuple[str, ...]:
    """``AIRQ_ALERTS_NTFY_HOSTS`` (comma-separated, or a list) as lower-case host names; empty:
    :data:`DEFAULT_NTFY_HOSTS`. ValueError for anything but host names."""
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else list(value)
    hosts = tuple(dict.fromkeys(str(h).strip().lower().rstrip(".") for h in items))
    hosts = tuple(h for h in hosts if h) or DEFAULT_NTFY_HOSTS
    bad = [h for h in hosts if not _HOST_RE.fullmatch(h)]
    if bad:
        raise ValueError(
            "AIRQ_ALERTS_NTFY_HOSTS: host names, comma-separated (ntfy.sh,ntfy.example.org), "
            f"not {bad[0][:60]!r}"
        )
    return hosts


def resident_scheme(notify: str) -> str | None:
    """The scheme of an Apprise URL a station's token may use (lower case), given that Apprise
    reads it as one service of that scheme (and, for ntfy, on an allowed host: the caller's
    checks); None when no station token may use it (or ``notify`` is no URL)."""
    scheme, sep, _ = notify.strip().partition("://")
    scheme = scheme.lower()
    return scheme if sep and scheme in NTFY_SCHEMES | PUBLIC_API_SCHEMES else None


def resident_refusal(hosts: Iterable[str], mail_relay: bool) -> str:
    """The 403's detail when a station's token names another target: what it may use."""
    on = "".join(f", ntfy://{h}/sujet" for h in sorted(hosts))
    on_en = "".join(f", ntfy://{h}/topic" for h in sorted(hosts))
    public = ", ".join(f"{s}://" for s in sorted(PUBLIC_API_SCHEMES))
    mail = "une adresse e-mail (lina@example.org), " if mail_relay else ""
    mail_en = "an e-mail address (lina@example.org), " if mail_relay else ""
    return (
        f"avec le jeton d'une station, les alertes peuvent aller à {mail}un sujet ntfy "
        f"(ntfy://sujet{on}) ou {public} ; les autres cibles (mailto://, gotify://, matrix://, "
        f"mqtt://, json://…) demandent le jeton admin. / with a station's token, alerts may go "
        f"to {mail_en}an ntfy topic (ntfy://topic{on_en}) or {public}; other targets "
        "(mailto://, gotify://, matrix://, mqtt://, json://…) need the admin token."
    )


def no_relay_message() -> str:
    """Why a plain address is refused on a platform without a mail relay, and what to use."""
    return (
        "cette plateforme n'a pas de relais e-mail : une adresse e-mail seule ne peut pas "
        "recevoir les alertes. Utilisez un sujet ntfy (par exemple ntfy://ma-station, à suivre "
        "dans l'application ntfy) ou demandez à l'équipe qui gère la plateforme. / this "
        "platform has no mail relay (AIRQ_ALERTS_SMTP_URL): a plain e-mail address cannot "
        "receive alerts. Use an ntfy topic (e.g. ntfy://my-station, followed in the ntfy app) "
        "or ask the platform's operators."
    )
