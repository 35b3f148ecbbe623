"""Nothing the guard does stops the bot (rule 3): a transient error on a read made for Freqtrade,
a failing write to the guard's own store, a venue whose `fetch_order` takes no retry count, a
force exit over an unconfirmed cancel. A real FreqtradeBot on the simulator, guard on and off.

Each guard-on test failed on the code of commit 1d630a1 (before this work): a `TemporaryError`
left `process()` (the worker sleeps 30 s, that loop's exits never ran), a SQLite error ended
the bot, a not-found slept 35 s a loop, the force exit answered "Failed to exit trade".
"""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import Trade
from sqlalchemy import text

from ghostguard import adapters
from ghostsim import SimExchange
from tests import harness
from tests.conftest import PAIR, loop, order_row, orders_of
from tests.harness import run_loop
from tests.strategies.ScriptedMakerStrategy import CHAOS_STAKE


def fail_once_after_cancel(sim: SimExchange, order_id: int) -> None:
    """The first status query of the order after its cancel answers 503 (a transient error)."""
    real_handle = sim.handle
    armed = {"on": False, "spent": False}

    def handle(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        params = args[0] if args and isinstance(args[0], dict) else {}
        ours = str(params.get("orderId")) == str(order_id)
        if method == "DELETE" and path == "/fapi/v1/order" and ours:
            armed["on"] = True
        elif armed["on"] and not armed["spent"] and method == "GET" and path == "/fapi/v1/order":
            armed["spent"] = True
            return 503, {"code": -1001, "msg": "Internal error; unable to process your request."}
        return real_handle(method, path, *args, **kwargs)

    sim.handle = handle  # type: ignore[method-assign]


@pytest.mark.parametrize("venue", ["binance", "okx"])
@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_one_transient_error_after_a_cancel_stops_nothing(bot_on_sim, guard, venue):
    """Issue 16, item 3. Binance: an entry's unfilled timeout; the cancel fills it first and
    answers -2011, the re-fetch meets one 503. OKX: every cancel is re-fetched (its answer has
    the id only); the re-fetch meets one 503. Freqtrade alone retries the read and books the
    fill; the guard's one-attempt read raised `TemporaryError` out of `process()`. Now it
    retries a transient error as Freqtrade would (not a not-found)."""
    sim = SimExchange(symbols=(PAIR,), venue=venue)
    with bot_on_sim(guard, "ChaosMakerStrategy", {"stake_amount": CHAOS_STAKE}, sim=sim) as (
        sim, bot
    ):
        loop(bot)
        [entry] = orders_of(sim, reduce_only=False)
        sim.age_order(entry.order_id, 11 * 60)  # past the 10-minute unfilled timeout
        if venue == "binance":
            sim.fault_fill_during_cancel(entry.order_id)
        else:
            sim.fill_order(entry.order_id, round(entry.orig_qty / 2, 3))
        fail_once_after_cancel(sim, entry.order_id)
        caught = loop(bot)
        assert caught == []  # nothing left process(): no 30 s worker sleep, the exits ran
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(entry.executed_qty)  # the fill is booked
        assert not order_row(entry.order_id).ft_is_open


STORE_FAILS = (
    "CREATE TRIGGER gg_test_fail_{name} BEFORE {verb} ON ghostguard_state BEGIN "
    "SELECT RAISE(ABORT, 'database or disk is full'); END"
)


def store_writes_fail(bot: Any, fail: bool) -> None:
    """Every write to the guard's table fails with a real SQLite error (or works again)."""
    engine = bot.strategy.ghost_guard.store._engine
    with engine.begin() as connection:
        for name, verb in (("i", "INSERT"), ("u", "UPDATE"), ("d", "DELETE")):
            connection.execute(text(f"DROP TRIGGER IF EXISTS gg_test_fail_{name}"))
            if fail:
                connection.execute(text(STORE_FAILS.format(name=name, verb=verb)))


def test_a_failing_store_blocks_replacements_never_the_bot_or_an_exit(bot_on_sim, script, events):
    """Issue 16, item 4: the guard's store cannot write (a locked database, a full disk). A
    ghost replacement is blocked with `guard_error` and nothing leaves `process()` (before, the
    attempt counter's write raised a SQLAlchemy error out of `create_order`, which no caller
    catches: "Fatal exception!"). A stop-loss goes out meanwhile. Once the store writes again,
    what was kept in memory is written and the replacement goes out."""
    extra = {"stake_amount": CHAOS_STAKE, "stoploss": -0.02}
    with bot_on_sim(True, "ChaosMakerStrategy", extra) as (sim, bot):
        guard = bot.strategy.ghost_guard
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        store_writes_fail(bot, True)
        sim.expire_order(first.order_id)  # a ghost: the next entry is a ghost replacement
        caught = loop(bot)
        assert caught == []
        assert [e for e in events.named("REPLACEMENT_BLOCKED") if "guard_error" in e]
        assert guard.store.degraded
        assert len(orders_of(sim, reduce_only=False)) == 1  # nothing re-placed unrecorded
        store_writes_fail(bot, False)
        loop(bot)
        assert not guard.store.degraded  # the pending writes are in the table now
        [_, second] = orders_of(sim, reduce_only=False)
        sim.fill_order(second.order_id)
        loop(bot)
        store_writes_fail(bot, True)  # the store fails again: the stop-loss still goes out
        entry = sim.positions[sim.spec(PAIR).id].entry_price
        sim.set_price(PAIR, entry * 0.95)
        caught = loop(bot)
        assert caught == []
        assert sim.position(PAIR) == pytest.approx(0.0)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_venue_whose_fetch_order_takes_no_count_sleeps_nothing(monkeypatch, guard):
    """Issue 16, item 5: Freqtrade's Bybit class without the guard's adapter stands for every
    venue whose `fetch_order` override takes no retry `count` and calls the retrier itself
    (Freqtrade's Hyperliquid class has the same shape). A tracked order's not-found slept the
    retrier's 35 s every loop; now it costs one request and no sleep."""
    monkeypatch.delitem(adapters.ADAPTERS, ("bybit", True))
    config = {"ghost_guard": {"unproven_venue": "venue_neutral", "replacement_cooldown_s": 0.0}
              if guard else {"enabled": False}, "exchange": {"pair_whitelist": [PAIR]}}
    sim = SimExchange(symbols=(PAIR,), venue="bybit")
    with harness.sim_bot(sim=sim, strategy="ScriptedMakerStrategy", extra_config=config) as (
        sim, bot
    ):
        run_loop(bot)
        [order] = sim.open_orders(PAIR)
        sim.fault_not_found(order.order_id, None)
        per_loop = []
        for _ in range(4):
            harness.SLEEPS.clear()
            run_loop(bot)
            per_loop.append(sum(harness.SLEEPS))
        assert per_loop == ([0.0] * 4 if guard else [35.0] * 4)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_force_exit_over_a_missing_exit_order_goes_out(bot_on_sim, script, guard):
    """Issue 16, item 6: the trade's exit order is gone on the exchange, which answers "does
    not exist" for it to every query and cancel; the user force-exits the trade (Telegram
    /forceexit, the REST API). Before, the guard refused the exit's unconfirmed cancel
    (`InvalidOrderException`): the order stayed open and Freqtrade answered "Failed to exit
    trade". Now, inside a force exit, the order is shown as the database holds it, its
    unconfirmed cancel is answered "cancelled" (as Freqtrade would) and watched, and the force
    exit goes out at once. Freqtrade alone cannot even query the order: the force exit fails
    after its retrier's 35 s."""
    with bot_on_sim(guard, "ChaosMakerStrategy", {"stake_amount": CHAOS_STAKE}) as (sim, bot):
        loop(bot)
        [entry] = orders_of(sim, reduce_only=False)
        sim.fill_order(entry.order_id)
        loop(bot)
        script.update(enter_long=0, exit_long=1)
        loop(bot)
        [exit_order] = [o for o in orders_of(sim, reduce_only=True) if o.is_open]
        sim.cancel_on_exchange(exit_order.order_id)
        sim.fault_not_found(exit_order.order_id, None, on_cancel=True)
        [trade] = Trade.get_open_trades()
        since = len(sim.requests)
        if not guard:
            with pytest.raises(Exception, match="Order not found"):
                bot.rpc._rpc._rpc_force_exit(str(trade.id))
            return
        bot.rpc._rpc._rpc_force_exit(str(trade.id))
        exits = [r for r in sim.requests[since:] if r.method == "POST"
                 and str(r.params.get("reduceOnly", "")).lower() == "true"]
        assert len(exits) == 1
        assert float(exits[0].params["quantity"]) == pytest.approx(entry.executed_qty)
        loop(bot, 2)
        for order in sim.open_orders(PAIR):
            sim.fill_order(order.order_id)  # the force exit's limit order fills
        loop(bot, 2)
        assert sim.position(PAIR) == pytest.approx(0.0)
        assert Trade.get_open_trades() == []
