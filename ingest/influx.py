"""InfluxDB v1 HTTP API writer (``/write`` with line protocol, ``/query`` for set-up).

Errors::

    InfluxWriteError          a write or query failed; ``retry`` says whether trying later helps
    └── InfluxSetupError      the database or a retention policy is missing and this user may
                              not create it: an administrator runs ``statement``, then restart
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx
import msgpack
import orjson

from airq_core.storage import AGG_RP, RAW_RP, TIME_PRECISION

log = logging.getLogger(__name__)


# Shard groups of the aggregates kept forever. InfluxDB's default for an infinite retention is
# 7 days, meant for dense data; aggregates are sparse (24 hourly points per series and day,
# one packed point a day) and read over long periods, and every shard a query touches costs
# it a fixed set-up: reading a year of packed hourly days took 4.3 ms with 7-day shards and
# 2.5 ms with 52-week shards (measured on InfluxDB 1.6, see docs/ingest.md).
AGG_SHARD_DURATION = "52w"


class InfluxWriteError(RuntimeError):
    """A write failed. ``retry`` tells whether trying again later can succeed."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class InfluxSetupError(InfluxWriteError):
    """InfluxDB refused to create the database or a retention policy this program needs (a
    user without admin rights, or a server that refuses InfluxQL administration). Retrying
    cannot help: an administrator must run ``statement`` (named in the message), then the
    program is restarted."""

    def __init__(self, message: str, statement: str) -> None:
        super().__init__(message, retry=False)
        self.statement = statement


def go_duration_s(text: str) -> int:
    """Seconds of a duration as SHOW RETENTION POLICIES prints it (``9600h0m0s``); 0 = INF."""
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(ms|us|µs|ns|h|m|s)", text):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3}.get(unit, 0.0)
    return round(total)


def setting_duration_s(text: str) -> int:
    """Seconds of a retention setting (``INF``, ``400d``, ``52w``, ``24h``); 0 = INF."""
    m = re.fullmatch(r"(\d+)([hdw])", text.strip().lower())
    if not m:
        return 0  # INF (the settings' pattern admits nothing else)
    return int(m.group(1)) * {"h": 3600, "d": 86400, "w": 7 * 86400}[m.group(2)]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """What matters of a retention policy; ``shard_s`` None: any shard duration will do."""

    duration_s: int  # 0: kept forever
    shard_s: int | None
    default: bool

    def matches(self, want: RetentionPolicy) -> bool:
        return (
            self.duration_s == want.duration_s
            and (want.shard_s is None or self.shard_s == want.shard_s)
            and self.default == want.default
        )

    def describe(self) -> str:
        keep = "kept forever" if self.duration_s == 0 else f"duration {self.duration_s} s"
        shard = "" if self.shard_s is None else f", shard groups {self.shard_s} s"
        return f"{keep}{shard}{', default' if self.default else ''}"


@dataclass(frozen=True, slots=True)
class PolicyStatements:
    name: str
    create: str
    alter: str


def setup_statements(
    db: str, raw_retention: str, agg_retention: str
) -> list[tuple[PolicyStatements, RetentionPolicy]]:
    """The CREATE and ALTER statements of the ``raw`` and ``agg`` policies and what each
    should look like (pure: also what the documentation tells an administrator to run)."""
    out = []
    for rp, duration, default in ((RAW_RP, raw_retention, True), (AGG_RP, agg_retention, False)):
        forever = duration.upper() in ("INF", "0", "0S")
        shard = f" SHARD DURATION {AGG_SHARD_DURATION}" if rp == AGG_RP and forever else ""
        dflt = " DEFAULT" if default else ""
        stmts = PolicyStatements(
            rp,
            f'CREATE RETENTION POLICY "{rp}" ON "{db}" '
            f"DURATION {duration} REPLICATION 1{shard}{dflt}",
            f'ALTER RETENTION POLICY "{rp}" ON "{db}" DURATION {duration}{shard}{dflt}',
        )
        want = RetentionPolicy(
            0 if forever else setting_duration_s(duration),
            setting_duration_s(AGG_SHARD_DURATION) if shard else None,
            default,
        )
        out.append((stmts, want))
    return out


class InfluxWriter:
    def __init__(
        self,
        url: str,
        db: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ) -> None:
        auth = (username, password or "") if username else None
        # identity: httpx asks for gzip by default, and influxd then compresses every answer;
        # on the local link that costs more than it saves (a year of packed days: 5.7 ms
        # with gzip, 1.5 ms without; the rebuild's raw chunks likewise)
        self._client = httpx.Client(
            base_url=url, auth=auth, timeout=timeout, headers={"Accept-Encoding": "identity"}
        )
        self.db = db
        self._username = username
        self._retention = ("400d", "INF")

    def close(self) -> None:
        self._client.close()

    def query(
        self, q: str, timeout: float | None = None, binary: bool = False
    ) -> list[dict[str, Any]]:
        """Runs InfluxQL (ms epochs); the list of statement results. Raises InfluxWriteError
        (retry=True when InfluxDB is unreachable or failing, False for a bad query).

        ``binary``: ask for MessagePack instead of JSON (InfluxDB ≥ 1.4): for large results,
        about a quarter less work for influxd than encoding JSON."""
        headers = {"Accept": "application/x-msgpack"} if binary else None
        try:
            r = self._client.post(
                "/query",
                params={"db": self.db, "q": q, "epoch": "ms"},
                headers=headers,
                timeout=timeout or self._client.timeout,
            )
        except httpx.HTTPError as exc:
            raise InfluxWriteError(f"InfluxDB unreachable: {exc}", retry=True) from exc
        if r.status_code != 200:
            raise InfluxWriteError(
                f"InfluxDB /query {r.status_code}: {r.text[:300]}", retry=r.status_code >= 500
            )
        if binary and r.headers.get("content-type", "").startswith("application/x-msgpack"):
            body = msgpack.unpackb(r.content)
        else:
            body = orjson.loads(r.content)
        results: list[dict[str, Any]] = body.get("results", [])
        for res in results:
            if "error" in res:
                raise InfluxWriteError(f"InfluxQL error: {res['error']}", retry=False)
        return results

    def float_fields(self, measurement: str, rp: str = RAW_RP) -> list[str]:
        """Float fields of a measurement (SHOW FIELD KEYS)."""
        res = self.query(f'SHOW FIELD KEYS FROM "{rp}"."{measurement}"')
        return [
            name
            for series in (res[0].get("series", []) if res else [])
            for name, kind in series["values"]
            if kind == "float"
        ]

    def _setup_request(self, q: str) -> tuple[str | None, dict[str, Any]]:
        """Runs one set-up statement; (error text or None, body). Raises
        InfluxWriteError (retry) when InfluxDB is unreachable or failing, and for refused
        credentials (no retry)."""
        try:
            r = self._client.post("/query", params={"q": q})
        except httpx.HTTPError as exc:
            raise InfluxWriteError(f"InfluxDB unreachable: {exc}", retry=True) from exc
        if r.status_code == 401:
            raise InfluxWriteError(
                f"InfluxDB refused the credentials ({r.text[:200]}): "
                "check AIRQ_INFLUX_USERNAME and AIRQ_INFLUX_PASSWORD",
                retry=False,
            )
        if r.status_code >= 500:
            raise InfluxWriteError(f"InfluxDB /query {r.status_code}: {r.text[:300]}", retry=True)
        try:
            body = orjson.loads(r.content)
        except orjson.JSONDecodeError:
            return r.text[:300] or f"HTTP {r.status_code}", {}
        if not isinstance(body, dict):
            return f"unexpected answer {r.text[:200]}", {}
        err = body.get("error") or body.get("message")
        if err is None and r.status_code != 200:
            err = f"HTTP {r.status_code}: {r.text[:200]}"
        if err is None:
            for res in body.get("results", []):
                if isinstance(res, dict) and res.get("error"):
                    err = res["error"]
                    break
        return (str(err) if err is not None else None), body

    def _user_hint(self) -> str:
        return f' TO "{self._username}"' if self._username else ""

    def _execute_setup(self, statement: str, why: str) -> None:
        """Runs a CREATE/ALTER statement; InfluxSetupError naming it when InfluxDB refuses."""
        err, _ = self._setup_request(statement)
        if err is None or "already exists" in err:  # another worker was quicker: checked next
            return
        raise InfluxSetupError(
            f"InfluxDB refused {statement!r} ({err}); {why}. An InfluxDB administrator must run "
            f"it once (or create the equivalent bucket and DBRP mapping on InfluxDB 2.x/3.x), "
            f"then restart",
            statement,
        )

    def read_retention_policies(self) -> dict[str, RetentionPolicy] | None:
        """The database's retention policies (SHOW RETENTION POLICIES, which needs only READ
        on the database); None when the database does not exist. InfluxSetupError when this
        user may not read it."""
        q = f'SHOW RETENTION POLICIES ON "{self.db}"'
        err, body = self._setup_request(q)
        if err is not None:
            if "database not found" in err:
                return None
            user = self._username or "(anonymous)"
            raise InfluxSetupError(
                f"InfluxDB refused {q!r} ({err}): user {user} cannot read database {self.db}. "
                f'An InfluxDB administrator must create it (CREATE DATABASE "{self.db}") and '
                f'give this user READ and WRITE on it (GRANT ALL ON "{self.db}"'
                f"{self._user_hint()}), then restart",
                q,
            )
        out = {}
        for res in body.get("results", []):
            for series in res.get("series", []):
                cols = series.get("columns", [])
                for row in series.get("values", []):
                    rp = dict(zip(cols, row, strict=False))
                    out[str(rp["name"])] = RetentionPolicy(
                        duration_s=go_duration_s(str(rp.get("duration", "0s"))),
                        shard_s=go_duration_s(str(rp.get("shardGroupDuration", "0s"))),
                        default=bool(rp.get("default")),
                    )
        return out

    def ensure_database(self, raw_retention: str = "400d", agg_retention: str = "INF") -> None:
        """Make sure the database and its retention policies exist: raw readings in ``raw``
        (the default policy) for ``raw_retention``, aggregates in ``agg`` (aggregates kept
        forever get shard groups of 52 weeks, ``AGG_SHARD_DURATION``).

        Reads what exists first (SHOW RETENTION POLICIES needs only READ) and runs CREATE or
        ALTER only for what is missing or different, so that a user without admin rights
        works against a database an administrator prepared. Raises InfluxSetupError naming
        the statement to run when the database or a policy is missing and this user may not
        create it; a policy that exists with other settings it may not change is used as it
        is, with a warning naming the ALTER statement."""
        self._retention = (raw_retention, agg_retention)
        existing = self.read_retention_policies()
        if existing is None:
            self._execute_setup(f'CREATE DATABASE "{self.db}"', "the database does not exist")
            existing = self.read_retention_policies() or {}
        for stmts, want in setup_statements(self.db, raw_retention, agg_retention):
            name = stmts.name
            have = existing.get(name)
            if have is None:
                self._execute_setup(stmts.create, f"retention policy {name} does not exist")
                continue
            if have.matches(want):
                continue
            try:
                self._execute_setup(stmts.alter, f"retention policy {name} has other settings")
            except InfluxSetupError as exc:
                log.warning(
                    "retention policy %s on %s is %s, not %s, and this user cannot change it: "
                    "keeping it (%s)",
                    name,
                    self.db,
                    have.describe(),
                    want.describe(),
                    exc,
                )

    def write_lines(self, body: bytes, rp: str = RAW_RP) -> None:
        try:
            r = self._client.post(
                "/write",
                params={"db": self.db, "rp": rp, "precision": TIME_PRECISION},
                content=body,
            )
        except httpx.HTTPError as exc:
            raise InfluxWriteError(f"InfluxDB unreachable: {exc}", retry=True) from exc
        if r.status_code == 204:
            return
        text = r.text[:300]
        # database (404) or retention policy (500) missing, e.g. dropped while we run: set
        # them up again, or say what an administrator must run. Still retried: the batch is
        # good, and the readings stay with the broker meanwhile.
        if r.status_code in (404, 500) and "not found" in r.text:
            try:
                self.ensure_database(*self._retention)
            except InfluxSetupError as exc:
                text += f" ({exc})"
            except (httpx.HTTPError, InfluxWriteError):
                pass
        # 4xx: the batch itself is bad (should not happen after validation); 5xx: retry.
        raise InfluxWriteError(
            f"InfluxDB /write {r.status_code}: {text}",
            retry=r.status_code >= 500 or r.status_code == 404,
        )
