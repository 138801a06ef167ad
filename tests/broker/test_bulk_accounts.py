"""Bulk registration against the real Mosquitto: the accounts of many stations sent in
batches, every station logs in with its token at once, and a failure midway leaves neither
registry rows nor broker accounts (removed at once, or by the next sync when the broker is
down)."""

from __future__ import annotations

from typing import Any

import pytest

import api.broker_accounts as broker_accounts
from api.broker_accounts import BrokerAccounts, BrokerError, DynsecClient
from api.registry import NewStation, Registry
from tests.broker.test_broker_accounts import login

pytestmark = pytest.mark.services


def _fleet(n: int, prefix: str = "sc") -> list[NewStation]:
    return [NewStation(f"{prefix}-{i:04d}", 50.4 + i / 1e4, 2.8, f"n{i}") for i in range(n)]


class FailingAfter(DynsecClient):
    """The real client; before its ``n``-th call, ``before`` runs (stop the broker, change it
    behind the registry's back)."""

    def __init__(self, base: DynsecClient, n: int, before: Any) -> None:
        super().__init__("mqtt://u:p@127.0.0.1:1", timeout=base.timeout)
        self.url = base.url
        self.calls = 0
        self.n = n
        self.before = before

    def run(self, commands: list[dict[str, Any]], timeout: float | None = None) -> Any:
        self.calls += 1
        if self.calls == self.n:
            self.before()
        return super().run(commands, timeout)


def _station_accounts(accounts: BrokerAccounts) -> set[str]:
    return {
        c["username"]
        for c in accounts.list_clients()
        if any(g.get("groupname") == "airq-stations" for g in c.get("groups", []))
    }


def test_bulk_accounts_go_in_batches_and_every_station_logs_in(
    registry: Registry, mosquitto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker_accounts, "BATCH_STATIONS", 4)
    counting = FailingAfter(mosquitto.accounts.client, 0, lambda: None)
    registry.accounts = BrokerAccounts(counting)
    registry.accounts.create_station("sc-0003", "left-by-an-earlier-attempt-0123")
    fleet = _fleet(10)
    tokens = registry.add_many(fleet)
    # one publish for the group, then ceil(10 / 4) batches; the account left earlier
    # (already exists) gets the new token in a few more calls
    assert 4 <= counting.calls <= 8, counting.calls
    assert _station_accounts(registry.accounts) == {s.id for s in fleet}
    for st, token in zip(fleet, tokens, strict=True):
        assert login(mosquitto.port, st.id, token, st.id) == "Success", st.id
        assert registry.verify_token(st.id, token)
    assert login(mosquitto.port, "sc-0003", "left-by-an-earlier-attempt-0123", "sc-0003") != (
        "Success"
    )


def test_a_batch_refused_midway_removes_the_accounts_already_made(
    registry: Registry, mosquitto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker_accounts, "BATCH_STATIONS", 3)
    registry.add("lens-01", 50.4, 2.8)
    admin = mosquitto.accounts.client

    def break_the_group() -> None:  # the next createClient names a group the broker lacks
        admin.run([{"command": "deleteGroup", "groupname": "airq-stations"}])

    # calls: 1 the group, 2 the first batch, 3 the second batch (refused)
    registry.accounts = BrokerAccounts(FailingAfter(admin, 3, break_the_group))
    with pytest.raises(BrokerError, match="Group not found"):
        registry.add_many(_fleet(8))
    assert [s.id for s in registry.list()] == ["lens-01"]
    assert registry.placements("sc-0000") == []
    names = {c["username"] for c in mosquitto.accounts.list_clients()}
    assert not {s.id for s in _fleet(8)} & names, names


def test_a_broker_lost_midway_leaves_its_accounts_to_the_next_sync(
    registry: Registry, mosquitto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker_accounts, "BATCH_STATIONS", 3)
    admin = mosquitto.accounts.client
    registry.accounts = BrokerAccounts(FailingAfter(admin, 3, mosquitto.stop))
    fleet = _fleet(8)
    try:
        with pytest.raises(BrokerError, match="not reachable"):
            registry.add_many(fleet)
    finally:
        mosquitto.start()
    assert registry.list() == []
    accounts = mosquitto.accounts
    # the first batch reached the broker and could not be taken back while it was down
    assert _station_accounts(accounts) == {"sc-0000", "sc-0001", "sc-0002"}
    report = accounts.sync(registry.publishing_ids())
    assert report.removed == ["sc-0000", "sc-0001", "sc-0002"]
    assert _station_accounts(accounts) == set()
