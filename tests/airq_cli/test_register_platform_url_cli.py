"""``airq station register`` on a laptop whose ``AIRQ_WORKSHOP_PLATFORM_URL`` is left at its
loopback default: refused before anything is created (the labels would send residents' phones
to themselves), in French first, English with --lang en; ``--allow-local`` for a local trial."""

from __future__ import annotations

import json
from pathlib import Path


def _ids(airq) -> list[str]:  # type: ignore[no-untyped-def]
    r = airq("station", "list", "--json")
    assert r.returncode == 0, r.stderr
    return [s["id"] for s in json.loads(r.stdout)]


def test_default_platform_url_is_refused_with_the_setting_to_set(airq, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    roster = tmp_path / "participants.csv"
    roster.write_text("id;lat;lon\nlens-01;50.45;2.84\n", encoding="utf-8")
    out = tmp_path / "out"
    r = airq("station", "register", "--csv", str(roster), "--out", str(out))
    err = " ".join(r.stderr.split())
    assert r.returncode == 1, r.stdout
    assert "AIRQ_WORKSHOP_PLATFORM_URL vaut http://127.0.0.1:8000" in err
    assert "ex. https://airquartiers.fr" in err and "Aucune station n'a été créée" in err
    assert "Traceback" not in err and not out.exists()

    r = airq("--lang", "en", "station", "register", "--csv", str(roster), "--out", str(out))
    assert r.returncode == 1
    assert "Set AIRQ_WORKSHOP_PLATFORM_URL to the site's public address" in r.stderr
    assert "lens-01" not in _ids(airq)

    r = airq("station", "register", "--csv", str(roster), "--out", str(out), "--allow-local")
    assert r.returncode == 0, r.stderr
    assert "ne les distribuez pas" in r.stderr
    assert _ids(airq) == ["lens-01"]
