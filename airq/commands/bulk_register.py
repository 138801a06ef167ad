"""``airq station register --api URL``: a participants file registered through the API's bulk
route (``POST /v1/admin/stations/bulk``), all or nothing, instead of the local registry.

The file is read and checked here first (:func:`firmware_tools.roster.parse_roster`, with the
ids the API already holds, so that generated ids are free); only id, name, lat, lon and the
indoor flag are sent (the participant's name, contact and address stay on the facilitator's
machine). The API answers one entry per row; each is printed with the line of the
facilitator's file, and the tokens go into the workshop's recap file (shown once).

Errors: :class:`airq.errors.CliError` (API unreachable, admin token refused, broker down), with
a message in the reader's language; a file with refused lines registers nothing.
"""

from __future__ import annotations

import csv
import io
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airq.errors import CliError, UsageError
from airq.i18n import t

if TYPE_CHECKING:  # imported where used: `airq` starts without the apps' dependencies
    import httpx

    from firmware_tools.roster import Registered, RowProblem, Station

BULK = "/v1/admin/stations/bulk"
PAGE = 10_000


class ApiRegistrar:
    """The API's registry, as the admin sees it (a context manager: the HTTP client)."""

    def __init__(self, url: str, admin_token: str | None = None) -> None:
        import httpx

        token = admin_token or os.environ.get("AIRQ_ADMIN_TOKEN")
        if not token:
            raise UsageError(t("bulk_need_token"))
        self.url = url.rstrip("/")
        # a large fleet with the broker's accounts may take minutes (docs/api.md)
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0, read=1800.0),
        )

    def __enter__(self) -> ApiRegistrar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        import httpx

        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise CliError(t("bulk_api_unreachable", url=self.url, why=exc)) from None
        if r.status_code in (401, 403):
            raise CliError(t("bulk_admin_refused", url=self.url, why=_detail(r)))
        if r.status_code == 503:
            raise CliError(t("broker_refused", why=_detail(r)))
        return r

    def existing_ids(self) -> list[str]:
        """Every id the API's registry holds (retired stations included), page by page."""
        ids: list[str] = []
        url: str | None = f"/v1/admin/stations?limit={PAGE}"
        while url is not None:
            r = self._send("GET", url)
            if r.status_code != 200:
                raise CliError(t("bulk_api_error", status=r.status_code, why=_detail(r)))
            ids += [s["id"] for s in r.json()]
            url = r.links.get("next", {}).get("url")
        return ids

    def register(
        self, stations: list[Station], dry_run: bool = False
    ) -> tuple[list[Registered], list[RowProblem]]:
        """Send the stations in one request; print one line per row; (created, refused)."""
        from firmware_tools.roster import Registered, RowProblem

        if not stations:
            return [], []
        by_row = {i + 2: s for i, s in enumerate(stations)}  # line 1 is the header
        r = self._send(
            "POST",
            BULK,
            content=_csv_body(stations),
            headers={"Content-Type": "text/csv"},
            params={"dry_run": "true"} if dry_run else None,
        )
        if r.status_code == 422 and isinstance(r.json().get("rows"), list):
            failed = []
            for row in r.json()["rows"]:
                st = by_row.get(row.get("row"))
                if st is not None and not row.get("ok"):
                    failed.append(RowProblem(st.line, (_reason(row),)))
            return [], failed
        if r.status_code not in (200, 201):
            raise CliError(t("bulk_api_error", status=r.status_code, why=_detail(r)))
        done = []
        for row in r.json()["rows"]:
            st = by_row[row["row"]]
            key = "bulk_row_checked" if dry_run else "bulk_row_created"
            print(t(key, line=st.line, id=st.id))
            if not dry_run:
                done.append(Registered(st, row["token"]))
        if dry_run:
            print(t("bulk_dry_run", n=len(stations)))
        return done, []


def _csv_body(stations: list[Station]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "lat", "lon", "name", "indoor", "precision"])
    for s in stations:
        indoor = "true" if s.indoor else "false"
        precision = "" if s.precision is None else str(s.precision)
        w.writerow([s.id, repr(s.lat), repr(s.lon), s.name, indoor, precision])
    return buf.getvalue().encode()


def _reason(row: dict[str, Any]) -> str:
    """A refused row in the reader's language when its code is known, else the API's words."""
    sid = str(row.get("id") or "")
    code = row.get("code")
    if code == "exists":
        return t("bulk_row_exists", id=sid)
    if code == "duplicate":
        return t("bulk_row_duplicate", id=sid)
    return str(row.get("reason") or code or "?")


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", ""))[:300] or f"HTTP {r.status_code}"
    except ValueError:
        return f"HTTP {r.status_code}: {r.text[:200]}"
