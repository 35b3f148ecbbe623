"""The guard's store: its own transaction in Freqtrade's database file, and state written by
the previous release honoured after an upgrade."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from freqtrade.persistence import Trade

from ghostguard.records import OrderRecord, Phase, SignalCounter
from ghostguard.store import GuardStore
from tests.conftest import PAIR, loop, orders_of
from tests.harness import restart_bot


def _rows(db: Path | str, sql: str, *args: object) -> list[tuple]:
    """Rows as another connection to the database sees them (a file: sqlite3; a URL:
    SQLAlchemy, with `?` placeholders)."""
    if isinstance(db, str):
        engine = sa.create_engine(db)
        try:
            with engine.connect() as connection:
                for index in range(len(args)):
                    sql = sql.replace("?", f":p{index}", 1)
                found = connection.execute(
                    sa.text(sql), {f"p{i}": a for i, a in enumerate(args)}
                )
                return [tuple(row) for row in found]
        finally:
            engine.dispose()
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def test_a_guard_write_commits_nothing_of_freqtrades_pending_changes(bot_on_sim, database):
    db_url, db = database
    with bot_on_sim(db_url=db_url) as (sim, bot):
        loop(bot)
        sim.fill_order(orders_of(sim)[0].order_id)
        loop(bot)
        [trade] = Trade.get_open_trades()
        [(booked,)] = _rows(db, "select amount from trades where id = ?", trade.id)
        # Freqtrade is in the middle of an operation: a change in its session, not committed
        # (its session does not autoflush: Freqtrade writes only when it commits).
        trade.amount = booked * 3
        guard = bot.strategy.ghost_guard
        guard.store.put(SignalCounter(PAIR, "entry", "entry|written-mid-operation", 1))
        # The guard's row is in the file; Freqtrade's pending change is not.
        assert _rows(db, "select key from ghostguard_state where key = ?",
                     f"sig:{PAIR}:entry") == [(f"sig:{PAIR}:entry",)]
        assert _rows(db, "select amount from trades where id = ?", trade.id) == [(booked,)]
        Trade.session.rollback()
        assert Trade.get_open_trades()[0].amount == pytest.approx(booked)
        # ... and the guard's write survived Freqtrade's rollback.
        reopened = GuardStore()
        reopened.open(Trade.session.get_bind())
        counter = reopened.of_pair_role(SignalCounter, PAIR, "entry")
        assert counter is not None and counter.signal == "entry|written-mid-operation"
        reopened.close()


def test_a_database_of_the_previous_release_is_honoured(bot_on_sim, events, tmp_path):
    """A restart onto a database whose guard rows were written by release 0.1.0 (no phases,
    flags instead): a suspect it left tripped is resolved by this release on the first loop,
    and its verified fill is booked."""
    db = tmp_path / "gg.sqlite"
    legacy = json.loads(
        (Path(__file__).parent / "fixtures" / "state_v0_1_0.json").read_text()
    )["suspected"]["ord:1000002"]
    with bot_on_sim(db_url=f"sqlite:///{db}") as (sim, bot):
        loop(bot)
        [first] = orders_of(sim)
        sim.fill_order(first.order_id, first.orig_qty / 2)
        sim.fault_not_found(first.order_id, None)
        loop(bot)
        # Replace this release's row by the one release 0.1.0 wrote for a tripped breaker.
        doc = {**legacy, "placed_at": legacy["placed_at"], "pair": PAIR}
        with sqlite3.connect(db) as connection:
            connection.execute(
                "update ghostguard_state set value = ? where key = ?",
                (json.dumps(doc), f"ord:{first.order_id}"),
            )
        bot = restart_bot(bot)
        record = bot.strategy.ghost_guard.store.order(str(first.order_id))
        assert isinstance(record, OrderRecord) and record.phase == Phase.SUSPECTED
        loop(bot)
        detected = events.named("GHOST_ORDER_DETECTED")
        assert any("detection=circuit_breaker" in line for line in detected)
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(first.orig_qty / 2)
        record = bot.strategy.ghost_guard.store.order(str(first.order_id))
        assert record is not None and record.phase == Phase.WATCHING and record.resolved
