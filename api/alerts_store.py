"""Alert subscriptions in the registry database (SQLite or PostgreSQL), table
``alert_subscriptions`` (:data:`airq_core.storage.ALERT_SUBSCRIPTIONS_TABLE`): written here (the
API and ``airq alerts``), read by the alerts service, which never imports this module.

A subscription is one rule (:mod:`airq_core.alerts`) on one station or a set of stations (a QPV,
the fleet), and one Apprise URL to notify. Its ``unsubscribe_key`` (random, shown in every
message's link) lets the recipient end it without a token.

Errors: :class:`AlertStoreError` (a ``ValueError``) says what is wrong with a subscription.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from airq_core.alerts import AlertRuleError, parse_quiet_hours, validate_rule
from airq_core.storage import ALERT_SUBSCRIPTIONS_TABLE
from airq_core.wire import STATION_ID_RE

__all__ = ["AlertStore", "AlertStoreError", "Subscription", "check_apprise_url"]

metadata = sa.MetaData()

subscriptions_t = sa.Table(
    ALERT_SUBSCRIPTIONS_TABLE,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    # who subscribed: "station" (with the station's token: station_id is theirs) or "admin"
    sa.Column("owner", sa.String(20), nullable=False),
    sa.Column("station_id", sa.String(64), nullable=True, index=True),
    sa.Column("qpv", sa.String(40), nullable=True),
    # the stations the rule watches, comma-joined (one for a resident's subscription)
    sa.Column("stations", sa.Text, nullable=False),
    sa.Column("min_stations", sa.Integer, nullable=False, server_default="1"),
    sa.Column("quantity", sa.String(40), nullable=True),
    sa.Column("above", sa.Float, nullable=True),
    sa.Column("clear", sa.Float, nullable=True),
    sa.Column("for_s", sa.Float, nullable=False, server_default="0"),
    sa.Column("clear_for_s", sa.Float, nullable=True),
    sa.Column("silent_after_s", sa.Float, nullable=True),
    sa.Column("repeat_s", sa.Float, nullable=False, server_default="0"),
    sa.Column("quiet", sa.String(10), nullable=True),
    sa.Column("mode", sa.String(10), nullable=False, server_default="all"),
    sa.Column("stuck_readings", sa.Integer, nullable=True),
    # drift rule: neighbours within radius_km, at least min_neighbours, apart by a ratio and/or
    # an absolute difference of the neighbours' median
    sa.Column("drift_ratio", sa.Float, nullable=True),
    sa.Column("drift_diff", sa.Float, nullable=True),
    sa.Column("radius_km", sa.Float, nullable=True),
    sa.Column("min_neighbours", sa.Integer, nullable=True),
    # a named threshold the messages name: "who_24h", "atmo:degrade"
    sa.Column("level", sa.String(40), nullable=True),
    # an area given as a box: "west,south,east,north" (the stations inside it when subscribing)
    sa.Column("bbox", sa.String(100), nullable=True),
    # at most one message per this period (0: no cap)
    sa.Column("cap_s", sa.Float, nullable=True),
    # an area starts when its stations' mean crosses (instead of min_stations agreeing)
    sa.Column("area_mean", sa.Boolean, nullable=True),
    sa.Column("lang", sa.String(2), nullable=False, server_default="fr"),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("unsubscribe_key", sa.String(64), nullable=False),
)

MAX_STATIONS = 5000


class AlertStoreError(ValueError):
    """A subscription was refused; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    created_at: datetime
    kind: str
    owner: str
    station_id: str | None
    qpv: str | None
    stations: tuple[str, ...]
    min_stations: int
    quantity: str | None
    above: float | None
    clear: float | None
    for_s: float
    clear_for_s: float | None
    silent_after_s: float | None
    repeat_s: float
    quiet: str | None
    mode: str
    lang: str
    target: str
    unsubscribe_key: str
    stuck_readings: int | None = None
    drift_ratio: float | None = None
    drift_diff: float | None = None
    radius_km: float | None = None
    min_neighbours: int | None = None
    level: str | None = None
    bbox: str | None = None
    cap_s: float | None = None
    area_mean: bool = False

    def public(self) -> dict[str, Any]:
        """Everything but the secret parts (the target's credentials, the key)."""
        out = asdict(self)
        out.pop("unsubscribe_key")
        out["target"] = redact_target(self.target)
        out["stations"] = list(self.stations)
        return out


def redact_target(url: str) -> str:
    """An Apprise URL for listings: its scheme and host, no credentials nor query."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/…" if rest else scheme


def check_apprise_url(url: str) -> None:
    """AlertStoreError unless Apprise knows how to notify ``url`` (mailto://, json://, ntfy://,
    tgram://, …)."""
    import apprise

    if not url or len(url) > 2000 or not apprise.Apprise().add(url):
        raise AlertStoreError(
            "notify: not an Apprise URL Apprise can use (e.g. mailto://user:pass@example.org, "
            "ntfy://topic, json://host/path)"
        )


def _row(r: sa.Row) -> Subscription:  # type: ignore[type-arg]
    created = r.created_at
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    return Subscription(
        r.id,
        created,
        r.kind,
        r.owner,
        r.station_id,
        r.qpv,
        tuple(s for s in r.stations.split(",") if s),
        r.min_stations,
        r.quantity,
        r.above,
        r.clear,
        r.for_s,
        r.clear_for_s,
        r.silent_after_s,
        r.repeat_s,
        r.quiet,
        r.mode,
        r.lang,
        r.target,
        r.unsubscribe_key,
        r.stuck_readings,
        r.drift_ratio,
        r.drift_diff,
        r.radius_km,
        r.min_neighbours,
        r.level,
        r.bbox,
        r.cap_s,
        bool(r.area_mean),
    )


class AlertStore:
    """The subscriptions of a registry database (``engine``: the registry's)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """A table made by an earlier version gets the newer (nullable) columns."""
        have = {c["name"] for c in sa.inspect(self.engine).get_columns(subscriptions_t.name)}
        missing = [c for c in subscriptions_t.columns if c.name not in have]
        if not missing:
            return
        with self.engine.begin() as conn:
            for c in missing:
                kind = c.type.compile(dialect=self.engine.dialect)
                conn.execute(
                    sa.text(f"ALTER TABLE {subscriptions_t.name} ADD COLUMN {c.name} {kind}")
                )

    def add(
        self,
        *,
        kind: str,
        owner: str,
        stations: list[str] | tuple[str, ...],
        target: str,
        station_id: str | None = None,
        qpv: str | None = None,
        min_stations: int = 1,
        quantity: str | None = None,
        above: float | None = None,
        clear: float | None = None,
        for_s: float = 0.0,
        clear_for_s: float | None = None,
        silent_after_s: float | None = None,
        repeat_s: float = 0.0,
        quiet: str | None = None,
        mode: str = "all",
        lang: str = "fr",
        stuck_readings: int | None = None,
        drift_ratio: float | None = None,
        drift_diff: float | None = None,
        radius_km: float | None = None,
        min_neighbours: int | None = None,
        level: str | None = None,
        bbox: str | None = None,
        cap_s: float | None = None,
        area_mean: bool = False,
        check_target: bool = True,
    ) -> Subscription:
        """Store one subscription; AlertStoreError (naming the field) when refused."""
        try:
            validate_rule(
                kind, quantity, above, clear, for_s, silent_after_s, mode, stuck_readings,
                drift_ratio=drift_ratio, drift_diff=drift_diff, radius_km=radius_km,
                min_neighbours=min_neighbours,
            )  # fmt: skip
            parse_quiet_hours(quiet)
            if cap_s is not None and not 0 <= cap_s <= 7 * 86400:
                raise AlertRuleError("cap: at most one message per period of up to 7 days")
        except AlertRuleError as exc:
            raise AlertStoreError(str(exc)) from None
        ids = list(dict.fromkeys(stations))
        if not ids:
            raise AlertStoreError("stations: name at least one station")
        if len(ids) > MAX_STATIONS:
            raise AlertStoreError(f"stations: at most {MAX_STATIONS}")
        bad = [s for s in ids if not STATION_ID_RE.fullmatch(s)]
        if bad:
            raise AlertStoreError(f"stations: invalid station id {bad[0][:64]!r}")
        if not 1 <= min_stations <= len(ids):
            raise AlertStoreError(
                f"min_stations: between 1 and the number of stations ({len(ids)})"
            )
        if lang not in ("fr", "en"):
            raise AlertStoreError("lang: fr or en")
        if owner not in ("station", "admin"):
            raise AlertStoreError("owner: station or admin")
        if check_target:
            check_apprise_url(target)
        values = {
            "created_at": datetime.now(UTC),
            "kind": kind,
            "owner": owner,
            "station_id": station_id,
            "qpv": qpv,
            "stations": ",".join(ids),
            "min_stations": min_stations,
            "quantity": quantity if kind != "silent" else None,
            "above": above if kind == "threshold" else None,
            "clear": clear if kind == "threshold" else None,
            "for_s": for_s,
            "clear_for_s": clear_for_s,
            "silent_after_s": silent_after_s if kind == "silent" else None,
            "repeat_s": repeat_s,
            "quiet": quiet or None,
            "mode": mode,
            "lang": lang,
            "stuck_readings": stuck_readings if kind == "stuck" else None,
            "drift_ratio": drift_ratio if kind == "drift" else None,
            "drift_diff": drift_diff if kind == "drift" else None,
            "radius_km": radius_km if kind == "drift" else None,
            "min_neighbours": min_neighbours if kind == "drift" else None,
            "level": level if kind == "threshold" else None,
            "bbox": bbox,
            "cap_s": cap_s or None,
            "area_mean": bool(area_mean and kind == "threshold" and len(ids) > 1),
            "target": target,
            "unsubscribe_key": secrets.token_urlsafe(24),
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(subscriptions_t.insert().values(**values)).inserted_primary_key
        sub = self.get(int(new_id[0])) if new_id else None
        assert sub is not None
        return sub

    def get(self, sub_id: int) -> Subscription | None:
        with self.engine.connect() as conn:
            r = conn.execute(subscriptions_t.select().where(subscriptions_t.c.id == sub_id)).first()
        return _row(r) if r is not None else None

    def list(self, station_id: str | None = None) -> list[Subscription]:
        """Every subscription, or those a station's owner made (``station_id``)."""
        q = subscriptions_t.select().order_by(subscriptions_t.c.id)
        if station_id is not None:
            q = q.where(subscriptions_t.c.station_id == station_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def remove(self, sub_id: int) -> bool:
        """Ends a subscription; False when there was none."""
        with self.engine.begin() as conn:
            n = conn.execute(subscriptions_t.delete().where(subscriptions_t.c.id == sub_id))
        return bool(n.rowcount)

    def remove_with_key(self, sub_id: int, key: str) -> bool:
        """Ends a subscription when ``key`` is its unsubscribe key."""
        sub = self.get(sub_id)
        if sub is None or not secrets.compare_digest(sub.unsubscribe_key, key):
            return False
        return self.remove(sub_id)
