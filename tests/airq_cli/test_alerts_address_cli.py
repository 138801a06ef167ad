"""``airq alerts subscribe --notify lina@example.org``: the workshop path, a plain e-mail address
sent through the platform's mail relay (``AIRQ_ALERTS_SMTP_URL``); refused, saying what to use,
when the platform has none."""

from __future__ import annotations

import json

RELAY = "mailtos://relais-airq:relay-pw-5Kq9Zt@smtp.relay-airq.example?from=alertes@airq.example"


def test_a_plain_address_needs_the_relay_and_is_stored_without_it(airq) -> None:
    assert airq("station", "add", "lens-01", "--lat", "50.43", "--lon", "2.83").returncode == 0
    rule = ["alerts", "subscribe", "--station", "lens-01", "--quantity", "pm2_5", "--above", "50",
            "--for", "10m", "--notify", "lina@example.org"]  # fmt: skip
    r = airq(*rule, env={"AIRQ_ALERTS_SMTP_URL": ""})
    assert r.returncode == 1, r.stdout
    assert "cette plateforme n'a pas de relais e-mail" in r.stderr and "ntfy://" in r.stderr
    r = airq("--lang", "en", *rule, env={"AIRQ_ALERTS_SMTP_URL": ""})
    assert r.returncode == 1 and "this platform has no mail relay" in r.stderr

    r = airq(*rule, env={"AIRQ_ALERTS_SMTP_URL": RELAY})
    assert r.returncode == 0, r.stderr
    assert "abonnement 1 créé" in r.stdout and "envoi : mailto:…@example.org" in r.stdout
    listed = json.loads(airq("alerts", "list", "--json").stdout)
    assert [s["target"] for s in listed] == ["mailto:…@example.org"]
    assert "relay-pw" not in r.stdout + json.dumps(listed)
