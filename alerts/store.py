"""The alerts service's side of the registry database: it reads the subscriptions (owned by the
API) and the station names, and owns the rules' states and the outbox.

``alert_state``: one row per subscription, the state as JSON and a ``version``; a replica
changes a state only from the version it read (:meth:`AlertDb.write_state`, compare-and-set),
so two replicas that saw readings of the same station cannot both send its start message.
``alert_outbox``: messages decided with the state change that caused them (same transaction),
claimed by one replica before delivery, marked sent after it: a message decided before a
restart is delivered after it, a message delivered is never decided again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from airq_core.storage import (
    ALERT_OUTBOX_TABLE,
    ALERT_STATE_TABLE,
    ALERT_SUBSCRIPTIONS_TABLE,
    STATIONS_TABLE,
)
from alerts.rules import Rule, State, cap_message

__all__ = ["AlertDb", "Outgoing", "SubscriptionInfo"]

log = logging.getLogger(__name__)

metadata = sa.MetaData()

state_t = sa.Table(
    ALERT_STATE_TABLE,
    metadata,
    sa.Column("subscription_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

outbox_t = sa.Table(
    ALERT_OUTBOX_TABLE,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.Integer, nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("due_at", sa.Float, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("claimed_by", sa.String(100), nullable=True),
    sa.Column("claimed_at", sa.Float, nullable=True),
    sa.Column("sent_at", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """A subscription as the service needs it: its rule and how to tell."""

    rule: Rule
    target: str
    lang: str
    qpv: str | None
    unsubscribe_key: str
    bbox: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    subscription_id: int
    title: str
    body: str
    attempts: int
    due_at: float = 0.0


def _rule(r: Any) -> Rule:
    from airq_core.alerts import parse_quiet_hours

    try:
        quiet = parse_quiet_hours(r.quiet)
    except ValueError:
        quiet = None
    created = r.created_at
    if isinstance(created, str):  # SQLite read without the column type
        from datetime import datetime

        created = datetime.fromisoformat(created)
    if created.tzinfo is None:
        from datetime import UTC

        created = created.replace(tzinfo=UTC)
    return Rule(
        id=r.id,
        kind=r.kind,
        stations=tuple(s for s in r.stations.split(",") if s),
        quantity=r.quantity,
        above=r.above,
        clear=r.clear,
        for_s=r.for_s or 0.0,
        clear_for_s=r.clear_for_s,
        silent_after_s=r.silent_after_s,
        min_stations=r.min_stations or 1,
        repeat_s=r.repeat_s or 0.0,
        quiet=quiet,
        mode=r.mode or "all",
        created_at=created.timestamp(),
        stuck_readings=r.stuck_readings,
        drift_ratio=r.drift_ratio,
        drift_diff=r.drift_diff,
        radius_km=r.radius_km,
        min_neighbours=r.min_neighbours,
        level=r.level,
        cap_s=r.cap_s or 0.0,
        area_mean=bool(r.area_mean),
    )


class AlertDb:
    """The service's tables in the registry database (created when missing)."""

    def __init__(self, database_url: str) -> None:
        url = sa.engine.make_url(database_url)
        embedded = url.get_backend_name() == "sqlite"
        self.engine = sa.create_engine(database_url, pool_pre_ping=not embedded)
        if embedded:  # replicas and the API write the same file: wait for their locks
            sa.event.listen(
                self.engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout = 10000")
            )
        metadata.create_all(self.engine)
        self._subs = sa.table(
            ALERT_SUBSCRIPTIONS_TABLE,
            *(
                sa.column(c)
                for c in (
                    "id", "created_at", "kind", "stations", "min_stations", "quantity",
                    "above", "clear", "for_s", "clear_for_s", "silent_after_s", "repeat_s",
                    "quiet", "mode", "lang", "target", "qpv", "unsubscribe_key",
                    "stuck_readings", "drift_ratio", "drift_diff", "radius_km",
                    "min_neighbours", "level", "bbox", "cap_s", "area_mean",
                )
            ),
        )  # fmt: skip

    def close(self) -> None:
        self.engine.dispose()

    # -- what the API owns ----------------------------------------------------------------
    def read_subscriptions(self) -> dict[int, SubscriptionInfo] | None:
        """Every subscription, each read on its own (a bad row is logged and left out);
        None when the table cannot be read (no subscription was ever made, database down)."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(self._subs)).all()
        except sa.exc.SQLAlchemyError as exc:
            log.debug("subscriptions not readable: %s", str(exc).splitlines()[0])
            return None
        out: dict[int, SubscriptionInfo] = {}
        for r in rows:
            try:
                out[r.id] = SubscriptionInfo(
                    _rule(r), r.target, r.lang or "fr", r.qpv, r.unsubscribe_key, r.bbox
                )
            except Exception as exc:  # one bad row never stops the others
                log.warning("subscription %s left out: %s", r.id, exc)
        return out

    def read_station_names(self) -> dict[str, str]:
        return {sid: name for sid, (name, _, _) in self.read_stations().items()}

    def read_stations(self) -> dict[str, tuple[str, float, float] | tuple[str, None, None]]:
        """Station id -> (name, lat, lon); an indoor or retired station has no coordinates
        here (it is nobody's neighbour in a drift rule)."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(f"SELECT id, name, lat, lon, indoor, retired_at FROM {STATIONS_TABLE}")
                ).all()
        except sa.exc.SQLAlchemyError:
            return {}
        out: dict[str, tuple[str, float, float] | tuple[str, None, None]] = {}
        for r in rows:
            try:
                if r[4] or r[5] is not None or r[2] is None or r[3] is None:
                    out[r[0]] = (r[1] or r[0], None, None)
                else:
                    out[r[0]] = (r[1] or r[0], float(r[2]), float(r[3]))
            except (TypeError, ValueError):
                out[r[0]] = (str(r[1] or r[0]), None, None)
        return out

    # -- states ---------------------------------------------------------------------------
    def read_states(self, ids: list[int] | None = None) -> dict[int, tuple[int, State]]:
        q = sa.select(state_t.c.subscription_id, state_t.c.version, state_t.c.state)
        if ids is not None:
            q = q.where(state_t.c.subscription_id.in_(ids))
        out: dict[int, tuple[int, State]] = {}
        with self.engine.connect() as conn:
            for sid, version, text in conn.execute(q):
                try:
                    out[sid] = (version, State.from_json(json.loads(text)))
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("state of subscription %s unreadable (%s): starts again", sid, exc)
                    out[sid] = (version, State())
        return out

    def ensure_states(self, ids: list[int], now: float) -> None:
        """A version-0 row for each subscription that has none."""
        if not ids:
            return
        with self.engine.connect() as conn:
            have = {
                r[0]
                for r in conn.execute(
                    sa.select(state_t.c.subscription_id).where(state_t.c.subscription_id.in_(ids))
                )
            }
        empty = json.dumps(State().to_json())
        rows = [
            {"subscription_id": i, "version": 0, "state": empty, "updated_at": now}
            for i in ids
            if i not in have
        ]
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(state_t.insert(), rows)
            return
        except sa.exc.IntegrityError:  # another replica inserted some first: one by one
            pass
        for row in rows:
            try:
                with self.engine.begin() as conn:
                    conn.execute(state_t.insert().values(**row))
            except sa.exc.IntegrityError:
                continue

    def drop_states(self, gone: list[int]) -> None:
        """Forget the states of ended subscriptions (their undelivered messages are dropped
        at delivery)."""
        if gone:
            with self.engine.begin() as conn:
                conn.execute(state_t.delete().where(state_t.c.subscription_id.in_(gone)))

    def write_state(
        self,
        sub_id: int,
        version: int,
        state: State,
        now: float,
        messages: list[tuple[str, float, str, str]] = (),  # type: ignore[assignment]
        cap_s: float = 0.0,
        release: Callable[[float], float] = lambda t: t,
        merge: bool = True,
    ) -> bool:
        """Writes ``state`` if the row is still at ``version`` (then at version + 1), with its
        messages ``(kind, due_at, title, body)``, in one transaction; False on a conflict.
        With ``cap_s``, at most one message per period (:func:`alerts.rules.cap_message`;
        ``release`` moves a due time out of the quiet hours; without ``merge`` held messages are
        only spaced, never cancelled: a drift rule's messages are about different stations)."""
        with self.engine.begin() as conn:
            n = conn.execute(
                state_t.update()
                .where(state_t.c.subscription_id == sub_id, state_t.c.version == version)
                .values(version=version + 1, state=json.dumps(state.to_json()), updated_at=now)
            ).rowcount
            if n != 1:
                return False
            if messages and cap_s > 0:
                messages = self._cap(conn, sub_id, now, messages, cap_s, release, merge)
            if messages:
                conn.execute(
                    outbox_t.insert(),
                    [
                        {
                            "subscription_id": sub_id,
                            "kind": kind,
                            "created_at": now,
                            "due_at": due,
                            "title": title,
                            "body": body,
                        }
                        for kind, due, title, body in messages
                    ],
                )
        return True

    @staticmethod
    def _cap(
        conn: sa.Connection,
        sub_id: int,
        now: float,
        messages: list[tuple[str, float, str, str]],
        cap_s: float,
        release: Callable[[float], float],
        merge: bool = True,
    ) -> list[tuple[str, float, str, str]]:
        """The messages to queue under the cap, the held ones cancelled or replaced (marked
        sent with an error starting ``dropped``, so they never count as a message)."""
        kept: list[tuple[str, float, str, str]] = []
        for kind, due, title, body in messages:
            live = outbox_t.c.error.is_(None) | ~outbox_t.c.error.startswith("dropped")
            held = conn.execute(
                sa.select(outbox_t.c.id, outbox_t.c.kind, outbox_t.c.due_at)
                .where(
                    outbox_t.c.subscription_id == sub_id,
                    outbox_t.c.sent_at.is_(None),
                    outbox_t.c.claimed_at.is_(None),
                    live,
                )
                .order_by(outbox_t.c.id.desc())
                .limit(1)
            ).first()
            last = conn.execute(
                sa.select(sa.func.max(outbox_t.c.due_at)).where(
                    outbox_t.c.subscription_id == sub_id, live
                )
            ).scalar()
            held_kind = held.kind if held is not None and merge else None
            action, at = cap_message(kind, due, held_kind, last, cap_s)
            if action == "add":
                kept.append((kind, release(at), title, body))
                continue
            if action == "drop":
                continue
            assert held is not None
            conn.execute(
                outbox_t.update()
                .where(outbox_t.c.id == held.id)
                .values(sent_at=now, error=f"dropped: {action} by a {kind} (cap)")
            )
            if action == "replace":
                conn.execute(
                    outbox_t.insert().values(
                        subscription_id=sub_id, kind=kind, created_at=now,
                        due_at=held.due_at, title=title, body=body,
                    )
                )  # fmt: skip
        return kept

    def write_states(self, items: list[tuple[int, int, State]], now: float) -> set[int]:
        """:meth:`write_state` for many states (no messages) in one transaction; returns the
        subscriptions whose row had moved on (not written)."""
        failed: set[int] = set()
        if not items:
            return failed
        with self.engine.begin() as conn:
            for sub_id, version, state in items:
                n = conn.execute(
                    state_t.update()
                    .where(state_t.c.subscription_id == sub_id, state_t.c.version == version)
                    .values(version=version + 1, state=json.dumps(state.to_json()), updated_at=now)
                ).rowcount
                if n != 1:
                    failed.add(sub_id)
        return failed

    # -- outbox ---------------------------------------------------------------------------
    def claim_due(self, worker: str, now: float, claim_s: float, limit: int = 50) -> list[Outgoing]:
        """Messages due and unclaimed (or claimed by a replica that died), now this worker's."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(outbox_t)
                .where(
                    outbox_t.c.sent_at.is_(None),
                    outbox_t.c.due_at <= now,
                    sa.or_(outbox_t.c.claimed_at.is_(None), outbox_t.c.claimed_at < now - claim_s),
                )
                .order_by(outbox_t.c.id)
                .limit(limit)
            ).all()
            mine = []
            for r in rows:
                n = conn.execute(
                    outbox_t.update()
                    .where(
                        outbox_t.c.id == r.id,
                        outbox_t.c.sent_at.is_(None),
                        sa.or_(
                            outbox_t.c.claimed_at.is_(None),
                            outbox_t.c.claimed_at < now - claim_s,
                        ),
                    )
                    .values(claimed_by=worker, claimed_at=now)
                ).rowcount
                if n == 1:
                    mine.append(
                        Outgoing(r.id, r.subscription_id, r.title, r.body, r.attempts, r.due_at)
                    )
        return mine

    def mark_sent(self, msg_id: int, now: float, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                outbox_t.update()
                .where(outbox_t.c.id == msg_id)
                .values(sent_at=now, error=error, attempts=outbox_t.c.attempts + 1)
            )

    def mark_failed(self, msg_id: int, retry_at: float, error: str) -> None:
        """A failed attempt: released for another try at ``retry_at``."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox_t.update()
                .where(outbox_t.c.id == msg_id)
                .values(
                    claimed_by=None,
                    claimed_at=None,
                    due_at=retry_at,
                    error=error[:500],
                    attempts=outbox_t.c.attempts + 1,
                )
            )

    def outbox(self) -> list[dict[str, Any]]:
        """Every message of the outbox (tests, ``airq alerts list --outbox``)."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(outbox_t))]
