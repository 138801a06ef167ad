"""Install or update the dashboards in an existing Grafana through its HTTP API (grafana-client).

``push`` creates the folder if needed, optionally creates or updates the InfluxDB datasource
(uid ``airq-influxdb``), then saves every dashboard with ``overwrite`` so that running it again
updates them in place (same uids).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

FOLDER_UID = "airquartiers"
FOLDER_TITLE = "AirQuartiers"


class PushError(RuntimeError):
    """Grafana refused or could not be reached; the message says what to check."""


@dataclass(frozen=True)
class InfluxSource:
    url: str
    database: str
    uid: str
    name: str = "AirQuartiers InfluxDB"

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "name": self.name,
            "type": "influxdb",
            "access": "proxy",
            "url": self.url,
            "jsonData": {"version": "InfluxQL", "dbName": self.database, "httpMode": "POST"},
        }


def push(
    url: str,
    token: str,
    dashboards: list[dict[str, Any]],
    datasource: InfluxSource | None = None,
    folder_uid: str = FOLDER_UID,
    folder_title: str = FOLDER_TITLE,
    timeout: float = 15,
) -> list[str]:
    """Returns the URLs of the saved dashboards."""
    from grafana_client.api import GrafanaApi
    from grafana_client.client import (
        GrafanaClientError,
        GrafanaException,
        GrafanaUnauthorizedError,
    )

    api = GrafanaApi.from_url(url=url, credential=token, timeout=timeout)
    try:
        try:
            api.folder.get_folder(folder_uid)
        except GrafanaClientError as exc:
            if getattr(exc, "status_code", None) != 404:
                raise
            api.folder.create_folder(folder_title, uid=folder_uid)
            log.info("created folder %s", folder_title)
        if datasource is not None:
            body = datasource.to_json()
            try:
                api.datasource.get_datasource_by_uid(datasource.uid)
                api.datasource.update_datasource_by_uid(datasource.uid, body)
            except GrafanaClientError as exc:
                if getattr(exc, "status_code", None) != 404:
                    raise
                api.datasource.create_datasource(body)
        saved = []
        for dash in dashboards:
            d = {k: v for k, v in dash.items() if k not in ("id", "version")}
            res = api.dashboard.update_dashboard(
                {
                    "dashboard": d,
                    "folderUid": folder_uid,
                    "overwrite": True,
                    "message": "airq dashboards push",
                }
            )
            saved.append(url.rstrip("/") + str(res.get("url", f"/d/{d['uid']}")))
        return saved
    except GrafanaUnauthorizedError as exc:
        raise PushError(
            f"Grafana at {url} refused the token ({exc}); create a service account token with "
            "the Editor role (Administration → Service accounts)"
        ) from None
    except GrafanaException as exc:
        raise PushError(f"Grafana at {url} answered an error: {exc}") from None
    except Exception as exc:  # network errors come from niquests/urllib3-future
        raise PushError(f"cannot reach Grafana at {url}: {exc}") from None
