"""``airq station update`` moves a station (a new placement from --moved-at) and
``airq station placements`` lists where it has been; messages in French first, English with
--lang en."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta


def test_update_moves_and_placements_lists_the_history(airq) -> None:
    assert airq("station", "add", "lens-01", "--lat", "50.449", "--lon", "2.839").returncode == 0
    r = airq("station", "update", "lens-01", "--name", "École")
    assert r.returncode == 0 and "mise à jour" in r.stdout, r.stderr
    moved = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    future = datetime.now(UTC) + timedelta(hours=1)
    r = airq("station", "update", "lens-01", "--lat", "50.5", "--moved-at", future.isoformat())
    assert r.returncode == 2 and "dans le futur" in r.stderr
    r = airq("--lang", "en", "station", "update", "lens-01", "--lat", "50.5", "--moved-at", "hier")
    assert r.returncode == 2 and "invalid time" in r.stderr
    r = airq("station", "update", "lens-01", "--lat", "50.5", "--outdoor")
    assert r.returncode == 0 and "déplacée" in r.stdout, r.stderr
    r = airq(
        "station",
        "update",
        "lens-01",
        "--indoor",
        "--moved-at",
        (moved + timedelta(days=-30)).isoformat(),
    )
    assert r.returncode == 1 and "précède le début de l'emplacement actuel" in r.stderr
    r = airq("station", "placements", "lens-01", "--json")
    assert r.returncode == 0, r.stderr
    first, second = json.loads(r.stdout)
    assert (first["lat"], second["lat"], second["valid_to"]) == (50.449, 50.5, None)
    assert first["valid_to"] == second["valid_from"] and not second["indoor"]
    r = airq("station", "placements", "lens-01")
    assert r.returncode == 0 and r.stdout.count("\n") == 2 and "actuel" in r.stdout
    r = airq("station", "placements", "nowhere-1")
    assert r.returncode == 1 and "inconnue" in r.stderr
    r = airq("station", "update", "lens-01")
    assert r.returncode == 2 and "rien à changer" in r.stderr


def test_placements_show_the_public_location_at_the_deployments_precision(airq) -> None:
    """Placements opened by ``airq station`` take AIRQ_PUBLIC_LOCATION_DECIMALS; the listing
    gives the exact location (the operator's) and the one the public API shows."""
    env = {"AIRQ_PUBLIC_LOCATION_DECIMALS": "2"}
    r = airq("station", "add", "lens-01", "--lat", "50.44912", "--lon", "2.83906", env=env)
    assert r.returncode == 0, r.stderr
    r = airq("station", "update", "lens-01", "--lat", "50.4567", env=env)
    assert r.returncode == 0, r.stderr
    r = airq("station", "placements", "lens-01", "--json", env=env)
    assert [p["precision"] for p in json.loads(r.stdout)] == [2, 2]
    r = airq("station", "placements", "lens-01", env=env)
    first, second = r.stdout.splitlines()
    assert "50.44912\t2.83906" in first and first.endswith("publié 50.45, 2.84")
    assert second.endswith("publié 50.46, 2.84"), second
    r = airq("--lang", "en", "station", "placements", "lens-01", env=env)
    assert r.stdout.splitlines()[0].endswith("published 50.45, 2.84")
