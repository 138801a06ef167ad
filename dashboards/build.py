"""Write the dashboards as JSON files for Grafana's file provisioning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboards.boards import DEFAULT_MIN_WINDOW_COVERAGE, build_boards
from dashboards.grafana import DATASOURCE_UID
from dashboards.territory import Territory

PACKAGE_DIR = Path(__file__).resolve().parent
JSON_DIR = PACKAGE_DIR / "json"
PROVISIONING_DIR = PACKAGE_DIR / "provisioning"


def dashboards_json(
    territory: Territory | None = None,
    api_url: str = "http://localhost:8000",
    datasource_uid: str = DATASOURCE_UID,
    min_window_coverage: float = DEFAULT_MIN_WINDOW_COVERAGE,
    lang: str = "fr",
) -> dict[str, dict[str, Any]]:
    """file name -> dashboard JSON (``min_window_coverage``, ``lang``: see ``build_boards``)."""
    boards = build_boards(territory, api_url, datasource_uid, min_window_coverage, lang)
    return {f"{b.uid}.json": b.to_json() for b in boards}


def dump(dashboard: dict[str, Any]) -> str:
    return json.dumps(dashboard, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def write_all(out_dir: Path = JSON_DIR, **kw: Any) -> list[Path]:
    """Write every dashboard to ``out_dir`` (removing stale ``airq-*.json`` files)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = dashboards_json(**kw)
    for stale in out_dir.glob("airq-*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, dash in files.items():
        path = out_dir / name
        path.write_text(dump(dash), encoding="utf-8")
        written.append(path)
    return written
