"""The account registry on a real PostgreSQL server: the bots of one account publish their
shares of each symbol, a replacement on a shared symbol is proven against the sum over the bots,
decisions on one symbol are serialized by an advisory lock, and a registry that cannot be
reached never stops the bot (it falls back to `shared_symbol`).

The other bot is played by a second registry client with its own tag (as its guard would
publish) and by orders placed on the simulated account with its tag.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from freqtrade.exceptions import ConfigurationError
from freqtrade.persistence import Trade

from ghostguard import identity, registry
from ghostguard.config import parse_guard_config
from tests.conftest import PAIR, loop, orders_of


OTHER_TAG = identity.bot_tag("id|bot-b")


def _other(url: str, bot: object) -> registry.AccountRegistry:
    """The other bot's registry client: same account (same venue and key), its own tag."""
    mine = bot.strategy.ghost_guard.ctx.registry  # type: ignore[attr-defined]
    other = registry.AccountRegistry(url, mine.account, OTHER_TAG, "bot-b")
    other.open()
    return other


def _other_id(n: int) -> str:
    return f"{identity.own_prefix(OTHER_TAG)}{'ab' * 6}e{n}"


# --- the registry itself ----------------------------------------------------------------------


def test_shares_are_published_read_and_kept_per_bot(pg_url: str) -> None:
    a = registry.AccountRegistry(pg_url, "acct", "aaaa", "bot-a")
    b = registry.AccountRegistry(pg_url, "acct", "bbbb", "bot-b")
    elsewhere = registry.AccountRegistry(pg_url, "other-acct", "cccc", "bot-c")
    for client in (a, b, elsewhere):
        client.open()
    assert a.publish("BTC/USDT:USDT", 0.002, ["11", "12"], now=100.0)
    assert b.publish("BTC/USDT:USDT", -0.001, ["21"], now=100.0)
    assert elsewhere.publish("BTC/USDT:USDT", 5.0, ["31"], now=100.0)
    seen_by_a = a.facts("BTC/USDT:USDT")
    assert seen_by_a.position == pytest.approx(-0.001) and seen_by_a.orders == {"21"}
    seen_by_b = b.facts("BTC/USDT:USDT")
    assert seen_by_b.position == pytest.approx(0.002) and seen_by_b.orders == {"11", "12"}
    assert a.facts("ETH/USDT:USDT") == registry.SharedFacts()
    # A bot that stopped keeps its share: nothing expires its row.
    b.close()
    assert a.facts("BTC/USDT:USDT").position == pytest.approx(-0.001)
    for client in (a, elsewhere):
        client.close()


def test_two_running_bots_with_one_tag_are_named(pg_url: str, events) -> None:
    """Each writes the share it wrote before: the second write finds the other's."""
    first = registry.AccountRegistry(pg_url, "acct", "aaaa", "btc-maker")
    second = registry.AccountRegistry(pg_url, "acct", "aaaa", "btc-maker-copy")
    for client in (first, second):
        client.open()
    first.publish("BTC", 0.0, [], now=1.0)
    second.publish("BTC", 0.0, ["9"], now=1.0)  # its first write: a restart looks alike
    assert not any("uses this bot's tag" in line for line in events.lines)
    first.publish("BTC", 0.0, ["1"], now=2.0)
    assert any(
        "another running bot of this account (btc-maker-copy) uses this bot's tag aaaa" in line
        for line in events.lines
    )
    assert first.tag_shared_with == "btc-maker-copy"
    first.close()
    second.close()


def test_an_unchanged_share_is_written_again_only_for_its_heartbeat(pg_url: str) -> None:
    a = registry.AccountRegistry(pg_url, "acct", "aaaa", "bot-a")
    a.open()
    engine = sa.create_engine(pg_url)

    def heartbeat() -> float:
        with engine.connect() as connection:
            return float(connection.execute(
                sa.text("select heartbeat from ghostguard_registry")
            ).scalar_one())

    a.publish("BTC", 1.0, ["1"], now=100.0)
    a.publish("BTC", 1.0, ["1"], now=100.0 + registry.HEARTBEAT_S / 2)
    assert heartbeat() == 100.0
    a.publish("BTC", 1.0, ["1"], now=100.0 + registry.HEARTBEAT_S)
    assert heartbeat() == 100.0 + registry.HEARTBEAT_S
    a.publish("BTC", 2.0, ["1"], now=100.0 + registry.HEARTBEAT_S + 1)
    assert heartbeat() == 101.0 + registry.HEARTBEAT_S
    a.close()
    engine.dispose()


def test_decisions_on_one_symbol_are_serialized(pg_url: str) -> None:
    a = registry.AccountRegistry(pg_url, "acct", "aaaa", "bot-a")
    b = registry.AccountRegistry(pg_url, "acct", "bbbb", "bot-b")
    a.open()
    b.open()
    with a.serialized("BTC/USDT:USDT") as got_a:
        assert got_a
        with b.serialized("BTC/USDT:USDT", wait_s=0.2) as got_b:
            assert not got_b  # bot b waits a bounded time, then gives up
        with b.serialized("ETH/USDT:USDT", wait_s=0.2) as other_symbol:
            assert other_symbol
    with b.serialized("BTC/USDT:USDT", wait_s=0.2) as got_b:
        assert got_b  # released
    a.close()
    b.close()


def test_an_unreachable_registry_is_a_fact_never_an_exception(tmp_path) -> None:
    url = f"postgresql+psycopg://postgres:@/nothing?host={tmp_path}&connect_timeout=1"
    dead = registry.AccountRegistry(url, "acct", "aaaa", "bot-a")
    dead.open()
    assert dead.last_error is not None
    assert not dead.publish("BTC", 1.0, [], now=1.0)
    assert dead.facts("BTC").error is not None
    with dead.serialized("BTC", wait_s=0.1) as got:
        assert not got


@pytest.mark.parametrize("bad", ["sqlite:///x.sqlite", "mysql://h/db", 5])
def test_a_registry_that_is_not_postgresql_stops_start_up_naming_the_key(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="ghost_guard.account_registry"):
        parse_guard_config({"account_registry": bad})


# --- a bot with the registry ------------------------------------------------------------------


def test_the_bot_publishes_its_share_every_loop(bot_on_sim, pg_url: str) -> None:
    with bot_on_sim(extra={"ghost_guard": {"account_registry": pg_url, "bot_id": "bot-a"}}) as (
        sim, bot,
    ):
        loop(bot, 2)  # published as the next loop starts
        other = _other(pg_url, bot)
        [first] = orders_of(sim)
        share = other.facts(PAIR)
        assert share.orders == {str(first.order_id)} and share.position == 0.0
        assert share.bots == (f"bot-a ({bot.strategy.ghost_guard.ctx.own_prefix[2:]})",)
        sim.fill_order(first.order_id)
        loop(bot, 2)
        [trade] = Trade.get_open_trades()
        assert other.facts(PAIR).position == pytest.approx(trade.amount)
        other.close()


def test_with_the_registry_a_replacement_beside_another_bots_position_is_proven(
    bot_on_sim, events, pg_url: str
) -> None:
    """The other bot holds 0.002 on the symbol and rests an exit: the exchange position equals
    this bot's trades plus the other bot's registered share, and its resting order is its own:
    the ghost entry is re-placed (without the registry: blocked, `shared_symbol`)."""
    with bot_on_sim(extra={"ghost_guard": {"account_registry": pg_url}}) as (sim, bot):
        loop(bot)
        other = _other(pg_url, bot)
        [first] = orders_of(sim, reduce_only=False)
        bid, ask = sim.best_bid_ask(PAIR)
        their_entry = sim.place_order(
            PAIR, "BUY", first.orig_qty, bid - 100, client_order_id=_other_id(1)
        )
        sim.fill_order(their_entry.order_id)
        their_exit = sim.place_order(
            PAIR, "SELL", first.orig_qty, ask + 500, reduce_only=True, client_order_id=_other_id(2)
        )
        sim.hold_order(their_exit.order_id)
        other.publish(PAIR, first.orig_qty, [str(their_exit.order_id)], now=1.0)
        sim.expire_order(first.order_id)
        loop(bot)
        assert events.named("REPLACEMENT_BLOCKED") == []
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1
        assert their_exit.is_open
        # The replacement is registered before the lock goes: the other bot sees it.
        replacement = orders_of(sim, reduce_only=False)[-1]
        assert str(replacement.order_id) in _other(pg_url, bot).facts(PAIR).orders
        other.close()


def test_a_position_nobody_registered_still_blocks(bot_on_sim, events, pg_url: str) -> None:
    """The registry explains only what the bots registered: a position beyond it (a bot without
    the registry, a hand trade) blocks the replacement as before."""
    with bot_on_sim(extra={"ghost_guard": {"account_registry": pg_url}}) as (sim, bot):
        loop(bot)
        other = _other(pg_url, bot)
        [first] = orders_of(sim, reduce_only=False)
        bid, _ = sim.best_bid_ask(PAIR)
        theirs = sim.place_order(PAIR, "BUY", first.orig_qty, bid - 100)
        sim.fill_order(theirs.order_id)
        other.publish(PAIR, first.orig_qty / 2, [], now=1.0)  # registers only half of it
        sim.expire_order(first.order_id)
        loop(bot)
        [blocked] = events.named("REPLACEMENT_BLOCKED")
        assert "position_mismatch(exchange=0.002 database=0.001)" in blocked
        assert events.named("GHOST_ORDER_REPLACED") == []
        other.close()


def test_while_another_bot_decides_on_the_symbol_a_replacement_waits_bounded(
    bot_on_sim, events, pg_url: str
) -> None:
    with bot_on_sim(extra={"ghost_guard": {"account_registry": pg_url}}) as (sim, bot):
        loop(bot)
        other = _other(pg_url, bot)
        [first] = orders_of(sim, reduce_only=False)
        sim.expire_order(first.order_id)
        with other.serialized(PAIR) as held:
            assert held
            loop(bot)
        [blocked] = events.named("REPLACEMENT_BLOCKED")
        assert "shared_symbol" in blocked and "registry lock busy" in blocked
        loop(bot)  # the other bot is done: the next loop re-places
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1
        other.close()


def test_an_unreachable_registry_never_stops_the_bot(bot_on_sim, events, tmp_path) -> None:
    url = f"postgresql+psycopg://postgres:@/nothing?host={tmp_path}&connect_timeout=1"
    with bot_on_sim(extra={"ghost_guard": {"account_registry": url}}) as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        sim.expire_order(first.order_id)
        errors = loop(bot, 2)
        assert errors == []
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1  # alone, it proves it


def test_bots_starting_at_once_on_a_new_registry_all_open_it(pg_url: str) -> None:
    """Three bots started together on a registry database nobody used yet: PostgreSQL's
    `CREATE TABLE IF NOT EXISTS` is not safe against itself (one creator fails on
    `pg_type_typname_nsp_index`), and that bot ran without its registry for 30 s (the spot e2e
    once left a bot's ghost blocked for it). The creation is serialized: every bot opens it."""
    import threading

    bots = [registry.AccountRegistry(pg_url, "acct", f"b{i:03d}", f"bot-{i}") for i in range(8)]
    start = threading.Barrier(len(bots))

    def open_it(bot: registry.AccountRegistry) -> None:
        start.wait()
        bot.open()

    threads = [threading.Thread(target=open_it, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [bot.last_error for bot in bots] == [None] * len(bots)
