"""Several bots on one exchange account: every client id carries the bot's tag, and an order of
another bot (another tag) is never swept, cancelled, claimed, booked or counted as this bot's.
On a symbol another bot trades too, a position check proves nothing: the replacement is blocked
with `shared_symbol` and nothing is reconciled into a lock.

The other bot is played by orders placed on the simulated account with its tag, as its guard
would send them.
"""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.exceptions import ConfigurationError

from ghostguard import identity
from ghostguard.config import parse_guard_config
from ghostguard.reconcile import RECONCILE_ATTEMPTS, Adopt, Shared, UnownedFill, plan
from tests.conftest import PAIR, guard_locks, loop, orders_of


OTHER_TAG = identity.bot_tag("id|bot-b")


def other_bots_id(n: int = 1) -> str:
    return f"{identity.own_prefix(OTHER_TAG)}{'ab' * 6}e{n}"


def their_entry(sim: Any, first: Any, n: int = 1) -> Any:
    """The other bot's entry on the symbol, below the book, the size of the bot's first."""
    bid, _ = sim.best_bid_ask(PAIR)
    return sim.place_order(
        PAIR, "BUY", first.orig_qty, bid - 100, client_order_id=other_bots_id(n)
    )




# --- the tag --------------------------------------------------------------------------------


def test_bots_of_one_account_send_different_client_ids() -> None:
    config = {"bot_name": "freqtrade", "db_url": "sqlite:///tradesv3.sqlite"}
    tags = {
        identity.bot_tag(identity.bot_identity("", config, "StrategyA")),
        identity.bot_tag(identity.bot_identity("", config, "StrategyB")),
        identity.bot_tag(identity.bot_identity("", {**config, "bot_name": "b"}, "StrategyA")),
        identity.bot_tag(identity.bot_identity("bot-a", config, "StrategyA")),
        identity.bot_tag(identity.bot_identity("bot-b", config, "StrategyA")),
    }
    assert len(tags) == 5
    same = identity.bot_tag(identity.bot_identity("bot-a", {}, "Other"))
    assert same in tags  # bot_id alone decides when it is set: stable over renames


def test_owner_of_a_client_id() -> None:
    mine = identity.own_prefix(identity.bot_tag("id|bot-a"))
    assert identity.owner(f"{mine}{'0' * 12}e12", mine) == "own"
    assert identity.owner(other_bots_id(), mine) == "guard_bot"
    assert identity.owner("gg5eafac0bc4a4e0", mine) == "other"  # before tags: nobody's
    assert identity.owner("web_1234", mine) == "other"
    assert identity.owner(None, mine) == "other"


def test_client_ids_fit_every_venues_limit(bot_on_sim) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim)
        client_id = first.client_order_id
        prefix = bot.strategy.ghost_guard.ctx.own_prefix
        assert client_id.startswith(prefix) and len(prefix) == 6
        assert client_id.isalnum() and len(client_id) <= 32  # OKX: 32 alphanumerics
        assert identity.owner(client_id, prefix) == "own"


@pytest.mark.parametrize("bad", ["two words", "x" * 65, 7])
def test_a_bad_bot_id_stops_start_up_naming_the_key(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="ghost_guard.bot_id"):
        parse_guard_config({"bot_id": bad})
    with pytest.raises(ConfigurationError, match="pairs"):
        parse_guard_config({"pairs": {PAIR: {"bot_id": "b"}}})


# --- nothing of another bot's is touched ------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_another_bots_order_is_never_swept(bot_on_sim, events, guard: bool) -> None:
    """Another bot's entry on the same symbol shows after the checks ran: the sweep after the
    replacement leaves it (before tags, the guard cancelled it: any unknown working order)."""
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        theirs = their_entry(sim, first)
        theirs.visible_at = sim.now_ms + 3_600_000
        sim.hold_order(theirs.order_id)

        def show() -> None:
            theirs.visible_at = sim.now_ms

        if guard:
            bot.strategy.ghost_guard.before_send = show
        else:
            show()
        sim.expire_order(first.order_id)
        loop(bot, 3)
        assert theirs.is_open
        assert events.named("DUPLICATE_CANCELLED") == []
        mine = [o for o in orders_of(sim, reduce_only=False) if o is not theirs]
        assert len(mine) == 2 and mine[-1].is_open  # the replacement went out


def test_another_bots_working_order_is_not_a_duplicate_of_this_bots(bot_on_sim, events) -> None:
    """Check 3 counts the bot's own and unknown orders, not another guard's: the replacement
    goes out beside the other bot's resting entry, which stays."""
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        theirs = their_entry(sim, first)
        sim.hold_order(theirs.order_id)
        sim.expire_order(first.order_id)
        loop(bot)
        assert not any("duplicate_working_order" in b for b in events.named("REPLACEMENT_BLOCKED"))
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1
        assert theirs.is_open


def test_another_bots_position_blocks_a_replacement_as_shared_and_never_locks(
    bot_on_sim, events
) -> None:
    """The other bot holds a position on the symbol and rests its exit: the bot's ghost entry
    cannot be proven single, so it is blocked with `shared_symbol`, naming the other bot's
    order; no reconciliation, no lock, nothing of the other bot's cancelled."""
    with bot_on_sim() as (sim, bot):
        guard = bot.strategy.ghost_guard
        now = [1_000.0]
        guard.clock = lambda: now[0]
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        sim.fill_order(their_entry(sim, first).order_id)
        _, ask = sim.best_bid_ask(PAIR)
        their_exit = sim.place_order(
            PAIR, "SELL", first.orig_qty, ask + 500, reduce_only=True,
            client_order_id=identity.own_prefix(OTHER_TAG) + "cd" * 6 + "x1",
        )
        sim.hold_order(their_exit.order_id)
        sim.expire_order(first.order_id)
        for _ in range(RECONCILE_ATTEMPTS + 3):
            now[0] += 61
            loop(bot)
        blocked = events.named("REPLACEMENT_BLOCKED")
        assert blocked and all("shared_symbol" in b for b in blocked)
        assert str(their_exit.order_id) in blocked[0]
        assert guard_locks() == []
        assert their_exit.is_open
        assert events.named("DUPLICATE_CANCELLED") == []
        assert len(orders_of(sim, reduce_only=False)) == 2  # the bot's first and the other's


def test_another_bots_fill_is_its_share_never_booked_nor_locked(bot_on_sim, events) -> None:
    """The other bot's position, with no order of it resting: the position check fails and
    the pair is reconciled; the account's fills show the other bot's order (its tag): that is
    its share. Nothing is booked into this bot's trades, and the pair is not locked."""
    with bot_on_sim() as (sim, bot):
        guard = bot.strategy.ghost_guard
        now = [1_000.0]
        guard.clock = lambda: now[0]
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        theirs = their_entry(sim, first)
        sim.fill_order(theirs.order_id)
        sim.expire_order(first.order_id)
        for _ in range(RECONCILE_ATTEMPTS + 3):
            now[0] += 61
            loop(bot)
        assert any("position_already_exists" in b for b in events.named("REPLACEMENT_BLOCKED"))
        assert events.named("SHARED_SYMBOL")
        assert events.named("LATE_FILL_ADOPTED") == []
        assert guard_locks() == []


# --- the plan ---------------------------------------------------------------------------------


def test_plan_other_bots_fills_are_their_share() -> None:
    theirs = UnownedFill("9", 0.002, ours=False, booked_row=False, other_bot=True)
    assert isinstance(plan(0.002, 0.0, 1e-4, [theirs], "adopt", 0), Shared)
    mine = UnownedFill("8", 0.001, ours=True, booked_row=False)
    decided = plan(0.003, 0.0, 1e-4, [theirs, mine], "adopt", 0)
    assert decided == Adopt((mine,))
    nobody = UnownedFill("7", 0.002, ours=False, booked_row=False)
    assert not isinstance(plan(0.002, 0.0, 1e-4, [nobody], "adopt", 0), Shared | Adopt)


def test_plan_another_bots_fill_never_hides_an_own_fill_that_nets_it_to_nothing() -> None:
    """Seed 682 with the other bot (Bybit): the bot's lost force exit sold 0.02 while the other
    bot had bought 0.02, so the position still read what the bot's trade held; the two fills
    netted to nothing and the plan agreed, leaving the exit unbooked (the trade held 0.02 the
    account no longer held for it)."""
    theirs = UnownedFill("1000684", 0.02, ours=False, booked_row=False, other_bot=True)
    exit_fill = UnownedFill("1000685", -0.02, ours=True, booked_row=False)
    assert plan(0.02, 0.02, 1e-4, [theirs, exit_fill], "adopt", 0) == Adopt((exit_fill,))
