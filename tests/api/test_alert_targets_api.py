"""Where a station's token may send alerts (``POST /v1/alerts/subscriptions``, alerts/targets.py):
a plain e-mail address through the platform's relay (``AIRQ_ALERTS_SMTP_URL``), an ntfy topic on
ntfy.sh or on ``AIRQ_ALERTS_NTFY_HOSTS``, a fixed public service; anything that makes the
server connect to a host of the resident's choosing is refused (403) and stays the admin's.
The relay's URL never reaches the registry nor an answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.api.api_server import ADMIN_TOKEN

pytestmark = pytest.mark.services

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
RELAY_USER = "relais-airq"
RELAY_PASSWORD = "relay-pw-5Kq9Zt"
RELAY = f"mailtos://{RELAY_USER}:{RELAY_PASSWORD}@smtp.relay-airq.example?from=alertes@airq.example"
SUBS = "/v1/alerts/subscriptions"
TGRAM = "tgram://123456789:abcdefg_hijklmnop/12315544"

# targets that point the server at a host the subscriber chooses
HOSTS_OF_THEIR_CHOOSING = [
    "mailto://u:p@127.0.0.1:25",
    "mailtos://moi:motdepasse@smtp.example.org",
    "ntfys://intranet.local/x",
    "ntfy://127.0.0.1/x",
    "ntfy://ntfy.sh:6379/x",  # an allowed host on another port
    "ntfy://x?mode=private",  # "x" as the host
    "gotify://intranet.local/AbCdEfGhIjKlMnO",
    "json://127.0.0.1:9/hook",
    "https://ntfy.sh/x",  # native URLs: the resident writes ntfy://
    "mqtt://10.0.0.5:1883/topic",
    "matrix://user:pw@matrix.intranet.local/#room",
    "ntfy://topic json://127.0.0.1:9/hook",  # Apprise reads two targets
]

ADMIN_KEEPS = [
    "mailtos://moi:motdepasse@smtp.example.org",
    "ntfys://intranet.local/x",
    "gotify://intranet.local/AbCdEfGhIjKlMnO",
    "json://127.0.0.1:9/hook",
]


def _station(api, sid: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = api.post("/v1/admin/stations", json={"id": sid, "lat": 50.43, "lon": 2.83}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _rule(notify: str, station: str = "lens-01") -> dict[str, object]:
    return {"station": station, "quantity": "pm2_5", "above": 50, "window": "10m",
            "notify": notify}  # fmt: skip


def test_a_station_token_sends_to_an_address_a_topic_or_a_public_service_only(
    make_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_ALERTS_SMTP_URL", RELAY)
    monkeypatch.delenv("AIRQ_ALERTS_NTFY_HOSTS", raising=False)
    db = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    with make_client(database_url=db) as api:
        own = _station(api, "lens-01")
        answers = []
        for target in HOSTS_OF_THEIR_CHOOSING:
            r = api.post(SUBS, json=_rule(target), headers=own)
            assert r.status_code == 403, (target, r.text)
            detail = r.json()["detail"]
            assert detail.startswith("avec le jeton d'une station, les alertes peuvent aller à")
            assert "lina@example.org" in detail and "ntfy://" in detail and "jeton admin" in detail
        for target, shown in (
            ("lina@example.org", "mailto:…@example.org"),
            ("mailto:Lina.Dupont+air@Example.ORG", "mailto:…@example.org"),
            ("ntfy://lens-01-alertes", "ntfy://lens-01-alertes/…"),
            ("ntfy://ntfy.sh/lens-01-alertes", "ntfy://ntfy.sh/…"),
            ("ntfys://ntfy.sh/lens-01-alertes", "ntfys://ntfy.sh/…"),
            (TGRAM, "tgram://123456789:abcdefg_hijklmnop/…"),
        ):
            r = api.post(SUBS, json=_rule(target), headers=own)
            assert r.status_code == 201, (target, r.text)
            assert r.json()["target"] == shown
            answers.append(r.text)

        # the admin keeps every Apprise target
        for target in ADMIN_KEEPS:
            r = api.post(SUBS, json=_rule(target), headers=ADMIN)
            assert r.status_code == 201, (target, r.text)
            answers.append(r.text)

        answers.append(api.get(SUBS, headers=ADMIN).text)
        answers.append(api.get(f"{SUBS}?station=lens-01", headers=own).text)
        mine = api.get(f"{SUBS}?station=lens-01", headers=own).json()
        assert [s["target"] for s in mine][:2] == ["mailto:…@example.org"] * 2
    for text in answers:
        assert RELAY_PASSWORD not in text and RELAY_USER not in text
        assert "relay-airq" not in text and "lina" not in text.lower()

    # the registry holds the addresses as given (mailto: dropped), not the relay
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            targets = [
                t for (t,) in conn.execute(sa.text("SELECT target FROM alert_subscriptions"))
            ]
    finally:
        engine.dispose()
    assert targets[:2] == ["lina@example.org", "Lina.Dupont+air@example.org"]
    assert not any(RELAY_PASSWORD in t or RELAY_USER in t for t in targets)


def test_without_a_relay_a_plain_address_is_refused_saying_what_to_use(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_ALERTS_SMTP_URL", "")  # as docker-compose passes an unset one
    with make_client() as api:
        own = _station(api, "lens-01")
        for headers in (own, ADMIN):
            for target in ("lina@example.org", "mailto:lina@example.org"):
                r = api.post(SUBS, json=_rule(target), headers=headers)
                assert r.status_code == 400, r.text
                detail = r.json()["detail"]
                assert detail.startswith("cette plateforme n'a pas de relais e-mail")
                assert "ntfy://" in detail and "no mail relay" in detail
        # the refusal of a host lists no e-mail address then
        r = api.post(SUBS, json=_rule("mailto://u:p@127.0.0.1:25"), headers=own)
        assert r.status_code == 403 and "lina@example.org" not in r.json()["detail"]
        assert api.post(SUBS, json=_rule("ntfy://lens-01"), headers=own).status_code == 201


def test_the_operators_ntfy_server_is_allowed_by_setting(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_ALERTS_NTFY_HOSTS", "ntfy.sh,ntfy.airq.example")
    with make_client() as api:
        own = _station(api, "lens-01")
        r = api.post(SUBS, json=_rule("ntfys://ntfy.airq.example/lens-01"), headers=own)
        assert r.status_code == 201, r.text
        r = api.post(SUBS, json=_rule("ntfys://intranet.local/lens-01"), headers=own)
        assert r.status_code == 403 and "ntfy://ntfy.airq.example/sujet" in r.json()["detail"]


def test_an_invalid_relay_setting_is_a_503_that_does_not_show_it(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRQ_ALERTS_SMTP_URL", RELAY + "&to=someone@example.org")
    with make_client() as api:
        own = _station(api, "lens-01")
        r = api.post(SUBS, json=_rule("ntfy://lens-01"), headers=own)
        assert r.status_code == 503, r.text
        assert "AIRQ_ALERTS_SMTP_URL" in r.text and RELAY_PASSWORD not in r.text
