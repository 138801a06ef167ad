"""Where a subscription's messages go, and what a station's token may choose (docs/alerts.md,
"Targets").

A target is an Apprise URL, or a plain e-mail address (``lina@example.org``,
``mailto:lina@example.org``) sent through the platform's mail relay (``AIRQ_ALERTS_SMTP_URL``,
an Apprise ``mailto://`` URL with the operator's SMTP host and credentials). The address is
stored as such; the relay's URL, with the address as its recipient, is built at delivery time
(:func:`relay_url`), so the relay's credentials are never in the registry nor in an answer.

A station's token (a resident) may only choose targets the server cannot be pointed with at a
host of their choosing (:func:`resident_target_problem`): a plain address (through the relay),
an ntfy topic on ntfy.sh or on a host of ``AIRQ_ALERTS_NTFY_HOSTS``, or a service whose Apprise
plugin posts to a fixed public API (:data:`PUBLIC_API_SCHEMES`). Everything else (an SMTP host,
gotify, matrix, mqtt, webhooks…) needs the admin token. The check applies when subscribing:
a target stored before stays delivered.

Messages for people are French first, then English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

__all__ = [
    "NTFY_SCHEMES",
    "PUBLIC_API_SCHEMES",
    "check_relay_url",
    "no_relay_message",
    "plain_address",
    "redact_address",
    "relay_url",
    "resident_target_problem",
]

NTFY_SCHEMES = frozenset({"ntfy", "ntfys"})

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
# server), gotify, matrix (but for t2bot), mqtt, rocketchat, mattermost, ntfy with its own host
# (allowed on AIRQ_ALERTS_NTFY_HOSTS only), json/xml/form, apprise_api, signal_api, …

_LOCAL = r"[A-Za-z0-9._+-]{1,64}"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_ADDRESS_RE = re.compile(rf"({_LOCAL})@({_DOMAIN})")
"""A plain address: no quoting, comments, IP literals, commas or spaces (the address goes into
the relay's URL as its only recipient; Apprise would read a comma or a space as a second one)."""


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


def check_relay_url(url: str) -> str:
    """``url`` when it can be the platform's mail relay (``AIRQ_ALERTS_SMTP_URL``): an Apprise
    ``mailto://`` or ``mailtos://`` URL Apprise accepts, without recipients of its own (the
    subscription gives it). ValueError saying what to change otherwise."""
    import apprise

    parts = urlsplit(url)
    if parts.scheme.lower() not in ("mailto", "mailtos"):
        raise ValueError(
            "AIRQ_ALERTS_SMTP_URL: an Apprise mailto:// or mailtos:// URL, e.g. "
            "mailtos://user:password@smtp.example.org?from=alertes@example.org"
        )
    query_keys = {k.lower() for k, _, _ in (p.partition("=") for p in parts.query.split("&"))}
    if parts.path.strip("/") or "to" in query_keys or parts.fragment:
        raise ValueError(
            "AIRQ_ALERTS_SMTP_URL: no recipient in the relay's URL (no path, no to=): each "
            "subscription gives its own"
        )
    ap = apprise.Apprise()
    if not ap.add(url) or len(ap) != 1:
        raise ValueError(
            "AIRQ_ALERTS_SMTP_URL: Apprise does not accept this mail URL (the SMTP host, "
            "from=…, mode=ssl|starttls|insecure: see Apprise's e-mail page)"
        )
    return url


def relay_url(relay: str, address: str) -> str:
    """The Apprise URL sending to ``address`` (a :func:`plain_address`) through the relay."""
    return f"{relay}{'&' if '?' in relay else '?'}to={quote(address, safe='@')}"


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


def _resident_choices(ntfy_hosts: Iterable[str], mail: bool) -> tuple[str, str]:
    hosts = sorted(ntfy_hosts)
    public = ", ".join(f"{s}://" for s in sorted(PUBLIC_API_SCHEMES))
    on = "".join(f", ntfy://{h}/sujet" for h in hosts)
    on_en = "".join(f", ntfy://{h}/topic" for h in hosts)
    return (
        ("une adresse e-mail (lina@example.org), " if mail else "")
        + f"un sujet ntfy (ntfy://sujet{on}) ou {public}",
        ("an e-mail address (lina@example.org), " if mail else "")
        + f"an ntfy topic (ntfy://topic{on_en}) or {public}",
    )


def resident_target_problem(notify: str, ntfy_hosts: Iterable[str], mail_relay: bool) -> str | None:
    """None when a station's token may send to ``notify``; else why not and what it may use
    (French, then English: a 403's detail).

    A plain address and anything Apprise cannot read at all (refused later as a 400) pass here.
    An Apprise URL must be one service (Apprise reads ``a://… b://…`` as two), of a scheme of
    :data:`NTFY_SCHEMES` or :data:`PUBLIC_API_SCHEMES` that its plugin is registered for; an
    ntfy URL goes to ntfy.sh (Apprise's cloud mode) or to a host of ``ntfy_hosts`` on its
    default port."""
    if plain_address(notify) is not None or "://" not in notify:
        return None
    allowed_hosts = {h.strip().lower().rstrip(".") for h in ntfy_hosts if h.strip()}
    fr, en = _resident_choices(allowed_hosts, mail_relay)
    refused = (
        f"avec le jeton d'une station, les alertes peuvent aller à {fr} ; les autres cibles "
        "(mailto://, gotify://, matrix://, mqtt://, json://…) demandent le jeton admin. / "
        f"with a station's token, alerts may go to {en}; other targets (mailto://, gotify://, "
        "matrix://, mqtt://, json://…) need the admin token."
    )
    scheme = notify.strip().partition("://")[0].lower()
    if scheme not in NTFY_SCHEMES | PUBLIC_API_SCHEMES:
        return refused

    import apprise

    ap = apprise.Apprise()
    if not ap.add(notify):
        return None  # not a target at all: the store's check says so (400)
    if len(ap) != 1:
        return refused
    server = ap[0]
    declared: set[str] = set()
    for attr in ("protocol", "secure_protocol"):
        value = getattr(type(server), attr, None)
        declared.update([value] if isinstance(value, str) else list(value or ()))
    if scheme not in {d.lower() for d in declared}:
        return refused
    if scheme in NTFY_SCHEMES and getattr(server, "mode", None) != "cloud":
        host = (server.host or "").lower().rstrip(".")
        default_port = 443 if scheme == "ntfys" else 80
        if host not in allowed_hosts or server.port not in (None, default_port):
            return refused
    return None
