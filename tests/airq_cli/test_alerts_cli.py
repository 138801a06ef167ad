"""``airq alerts``: the issue's contract (subscribe --station --quantity --above --for --notify,
list, unsubscribe) on the default registry, what the alerts service reads from it, errors in
French first and English with --lang en."""

from __future__ import annotations

import json
from pathlib import Path

from airq.commands.common import registry_url
from alerts.store import AlertDb


def test_subscribe_list_unsubscribe(airq, data_dir: Path) -> None:
    assert airq("station", "add", "lens-01", "--lat", "50.43", "--lon", "2.83").returncode == 0
    r = airq("alerts", "subscribe", "--station", "lens-01", "--quantity", "pm2_5", "--above",
             "50", "--for", "10m", "--notify", "mailto://moi:secret@example.org")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "abonnement 1 créé : pm2_5 au-dessus de 50 pendant 10 min" in r.stdout
    assert "/v1/alerts/unsubscribe/1?key=" in r.stdout and "secret" not in r.stdout
    r = airq("--lang", "en", "alerts", "subscribe", "--fleet", "--silent-after", "30m",
             "--notify", "json://127.0.0.1:9/hook")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "subscription 2 created: station silent for more than 30 min" in r.stdout
    r = airq("alerts", "subscribe", "--station", "lens-01", "--quantity", "pm2_5",
             "--stuck-after", "20", "--notify", "ntfy://lens-01-capteur")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "abonnement 3 créé : pm2_5 figé 20 mesures de suite" in r.stdout

    db = AlertDb(registry_url(data_dir))
    try:
        subs = db.read_subscriptions()
    finally:
        db.close()
    assert subs is not None
    assert (subs[1].rule.quantity, subs[1].rule.above, subs[1].rule.for_s) == ("pm2_5", 50, 600)
    assert (subs[2].rule.kind, subs[2].rule.stations, subs[2].lang) == (
        "silent", ("lens-01",), "en",
    )  # fmt: skip

    listed = json.loads(airq("alerts", "list", "--json").stdout)
    assert [s["id"] for s in listed] == [1, 2, 3]
    assert listed[2]["kind"] == "stuck" and listed[2]["stuck_readings"] == 20
    assert listed[0]["target"] == "mailto://example.org/…"
    assert airq("alerts", "unsubscribe", "2").stdout.strip() == "abonnement 2 supprimé"
    r = airq("alerts", "unsubscribe", "2")
    assert r.returncode == 1 and "pas d'abonnement 2" in r.stderr


def test_refusals_name_the_fix(airq) -> None:
    assert airq("station", "add", "lens-01", "--lat", "50.43", "--lon", "2.83").returncode == 0
    base = ["alerts", "subscribe", "--quantity", "pm2_5", "--above", "50"]
    r = airq(*base, "--station", "nope-01", "--notify", "json://x/y")
    assert r.returncode == 1 and "station inconnue : nope-01" in r.stderr
    r = airq(*base, "--station", "lens-01", "--for", "dix minutes", "--notify", "json://x/y")
    assert r.returncode == 2 and "write 90s, 10m, 2h or 7d" in r.stderr
    r = airq(*base, "--station", "lens-01", "--notify", "pas-une-url")
    assert r.returncode == 1 and "abonnement refusé" in r.stderr and "Apprise" in r.stderr
    r = airq("--lang", "en", *base, "--notify", "json://x/y")
    assert r.returncode == 2 and "give one target" in r.stderr


def test_drift_named_thresholds_bbox_and_cap(airq, data_dir: Path) -> None:
    for sid, lat, lon in (("lens-01", 50.43, 2.83), ("lens-02", 50.44, 2.84),
                          ("lille-01", 50.62, 3.06)):  # fmt: skip
        assert airq("station", "add", sid, "--lat", str(lat), "--lon", str(lon)).returncode == 0
    r = airq("alerts", "subscribe", "--station", "lens-01", "--quantity", "pm2_5",
             "--drift-for", "3h", "--notify", "ntfy://lens-01")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert ("pm2_5 loin de la médiane de ses voisines à moins de 2 km (2 fois plus ou moins) "
            "pendant 3 h") in r.stdout  # fmt: skip
    r = airq("--lang", "en", "alerts", "subscribe", "--fleet", "--quantity", "pm10",
             "--drift-diff", "15", "--radius", "1500m", "--min-neighbours", "4",
             "--notify", "ntfy://fleet")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "far from its neighbours' median within 1.5 km (15 apart) for 3 h" in r.stdout
    r = airq("alerts", "subscribe", "--station", "lens-01", "--quantity", "pm2_5",
             "--above", "who-24h", "--notify", "ntfy://lens-01")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "pm2_5 au-dessus de 15 (valeur guide OMS 24 h) en moyenne sur 24 h" in r.stdout
    r = airq("alerts", "subscribe", "--station", "lens-01", "--quantity", "pm10", "--above-class",
             "degrade", "--at-most-every", "2h", "--notify", "ntfy://x")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert ("pm10 au-dessus de 40 (indice ATMO « Dégradé » ou pire) en moyenne sur 24 h, "
            "au plus un message par 2 h") in r.stdout  # fmt: skip
    r = airq("alerts", "subscribe", "--bbox", "2.8,50.4,2.9,50.5", "--quantity", "pm10",
             "--above", "80", "--notify", "ntfy://zone")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "stations : lens-01, lens-02\n" in r.stdout

    r = airq("alerts", "subscribe", "--bbox", "2.8,50.4,3.1,50.7", "--area-mean", "--quantity",
             "pm10", "--above", "80", "--notify", "ntfy://zone")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "pm10 au-dessus de 80 pendant 0 s (moyenne des stations)" in r.stdout

    db = AlertDb(registry_url(data_dir))
    try:
        subs = db.read_subscriptions()
    finally:
        db.close()
    assert subs is not None
    d = subs[1].rule
    assert (d.kind, d.for_s, d.drift_ratio, d.radius_km, d.min_neighbours) == (
        "drift", 10800, 2.0, 2.0, 3,
    )  # fmt: skip
    assert (subs[2].rule.drift_diff, subs[2].rule.drift_ratio, subs[2].rule.radius_km) == (
        15, None, 1.5,
    )  # fmt: skip
    assert subs[4].rule.cap_s == 7200 and subs[4].rule.level == "atmo:degrade"
    assert subs[5].rule.min_stations == 2 and subs[5].bbox == "2.8,50.4,2.9,50.5"
    assert (subs[6].rule.area_mean, subs[6].rule.min_stations) == (True, 3)
    assert not subs[5].rule.area_mean

    r = airq("alerts", "subscribe", "--station", "lens-01", "--quantity", "co2", "--above",
             "who-24h", "--notify", "ntfy://x")  # fmt: skip
    assert r.returncode == 2 and "WHO 24-h guideline exists for" in r.stderr
    r = airq("alerts", "subscribe", "--bbox", "2.8,50.4", "--quantity", "pm10", "--above",
             "80", "--notify", "ntfy://x")  # fmt: skip
    assert r.returncode == 2 and "lon1,lat1,lon2,lat2" in r.stderr
    r = airq("alerts", "subscribe", "--station", "lens-01", "--quantity", "pm2_5",
             "--drift-for", "3h", "--radius", "loin", "--notify", "ntfy://x")  # fmt: skip
    assert r.returncode == 2 and "500m" in r.stderr
