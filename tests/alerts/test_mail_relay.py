"""A resident's plain e-mail address, delivered through the platform's mail relay
(``AIRQ_ALERTS_SMTP_URL``): a real SMTP server (aiosmtpd) that asks for the operator's login
receives the alert for the resident's address; the registry holds the address only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa

from airq.services import free_port
from alerts.notify import send
from alerts.settings import AlertsSettings
from api.alerts_store import AlertStore
from api.registry import Registry
from tests.alerts.conftest import Publisher
from tests.helpers import wait_until

RELAY_USER = "relais-airq"
RELAY_PASSWORD = "relay-pw-5Kq9Zt"
MIN = 60.0


class Relay:
    """An SMTP server that accepts mail after AUTH with the operator's login only (aiosmtpd)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.mails: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.logins: list[str] = []
        self.port = free_port()
        box = self

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                         data: Any) -> AuthResult:  # fmt: skip
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                RELAY_USER.encode(), RELAY_PASSWORD.encode(),
            )  # fmt: skip
            if ok:
                box.logins.append(data.login.decode())
            return AuthResult(success=ok)

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if not session.authenticated:
                    return "530 Authentication required"
                box.recipients.append(list(envelope.rcpt_tos))
                box.mails.append(
                    message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
                )
                return "250 OK"

        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=False,
        )
        self._controller.start()

    def url(self) -> str:
        """The operator's relay setting: host, login, sender; no recipient."""
        return (
            f"mailto://{RELAY_USER}:{RELAY_PASSWORD}@127.0.0.1:{self.port}"
            "?from=alertes@airq.test&mode=insecure"
        )

    def close(self) -> None:
        self._controller.stop()


@pytest.fixture
def relay() -> Iterator[Relay]:
    r = Relay()
    yield r
    r.close()


@pytest.mark.services
def test_a_residents_plain_address_gets_the_alert_through_the_relay(
    registry: Registry, store: AlertStore, relay: Relay, publisher: Publisher, start_service,
) -> None:  # fmt: skip
    registry.add("lens-01", 50.43, 2.83, name="École Jean Jaurès")
    sub = store.add(kind="threshold", owner="station", station_id="lens-01",
                    stations=["lens-01"], quantity="pm2_5", above=50, for_s=0,
                    target="mailto:lina@example.org")  # fmt: skip
    assert sub.target == "lina@example.org"
    assert sub.public()["target"] == "mailto:…@example.org"
    start_service(alerts_smtp_url=relay.url())
    publisher.publish("lens-01", time.time() - 1 * MIN, {"pm2_5": 80.0})
    wait_until(lambda: len(relay.mails) == 1, timeout=15, what="the alert through the relay")
    assert relay.logins == [RELAY_USER]
    assert relay.recipients == [["lina@example.org"]]
    mail = relay.mails[0]
    assert mail["To"] == "lina@example.org" and "alertes@airq.test" in str(mail["From"])
    assert str(mail["Subject"]).startswith("Alerte Particules fines PM2,5")
    # the registry holds the address, never the relay's URL nor its login
    with registry.engine.connect() as conn:
        rows = [
            tuple(map(str, r))
            for table in ("alert_subscriptions", "alert_outbox")
            for r in conn.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608
        ]
    dump = repr(rows)
    assert "lina@example.org" in dump
    assert RELAY_PASSWORD not in dump and RELAY_USER not in dump


def test_a_plain_address_without_a_relay_is_not_sent_and_says_why() -> None:
    error = send("lina@example.org", "t", "b", relay=None)
    assert error is not None and "AIRQ_ALERTS_SMTP_URL" in error and "lina" not in error


def test_the_relay_setting_holds_no_recipient_and_its_errors_hide_the_password() -> None:
    with pytest.raises(ValueError) as exc:
        AlertsSettings(alerts_smtp_url=f"mailtos://u:{RELAY_PASSWORD}@smtp.example.org?to=x@y.org")
    assert "AIRQ_ALERTS_SMTP_URL" in str(exc.value) and RELAY_PASSWORD not in str(exc.value)
    with pytest.raises(ValueError):
        AlertsSettings(alerts_smtp_url="json://127.0.0.1:9/hook")
    assert AlertsSettings(alerts_smtp_url="").relay is None
    assert AlertsSettings(alerts_ntfy_hosts=" ntfy.sh, Ntfy.Example.org. ").alerts_ntfy_hosts == (
        "ntfy.sh", "ntfy.example.org",
    )  # fmt: skip
