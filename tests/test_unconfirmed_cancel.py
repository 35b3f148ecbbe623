"""A cancel the exchange does not confirm (the cancel answers "unknown order" and the re-fetch
"does not exist") raises nothing out of `process()`: on the timeout path, on an exit, and (in
tests/test_scenarios.py, scenario 10) on a re-price.

Freqtrade would make up "canceled, filled 0". The guard used to raise `TemporaryError`
instead, which left `process()` from `manage_open_orders`: no exit ran that loop for any pair,
and the worker slept its 30 s `RETRY_TIMEOUT`. Now an entry's cancel is answered "open" (the
order as the database holds it) and an exit's is refused the way `handle_cancel_exit` catches;
the breaker resolves the order over the next loops.
"""

from __future__ import annotations

import pytest
from freqtrade.persistence import Trade

from ghostsim import SimExchange
from tests.conftest import PAIR, loop, order_row, orders_of, reprice_next_candle
from tests.harness import assert_unconfirmed_entry_cancel_ends, fault_unconfirmed_cancel
from tests.strategies.ScriptedMakerStrategy import CHAOS_STAKE


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_an_entry_timeout_whose_cancel_is_unconfirmed_stalls_nothing(bot_on_sim, guard):
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        sim.age_order(first.order_id, 11 * 60)  # past the 10-minute unfilled timeout
        fault_unconfirmed_cancel(sim, first.order_id)
        caught = loop(bot)
        if guard:
            assert caught == []  # nothing left process(): no worker sleep, the exits ran
            assert order_row(first.order_id).ft_is_open  # the order stays open for the breaker
        # Guarded the fill is booked; Freqtrade alone took its own made-up answer and lost it.
        assert_unconfirmed_entry_cancel_ends(sim, bot, first, guard)


def test_an_exit_whose_cancel_is_unconfirmed_stalls_nothing(bot_on_sim, script):
    with bot_on_sim(guard=True) as (sim, bot):
        loop(bot)
        [entry] = orders_of(sim, reduce_only=False)
        sim.fill_order(entry.order_id)
        loop(bot)
        script.update(enter_long=0, exit_long=1)
        loop(bot)
        [exit_order] = [o for o in orders_of(sim, reduce_only=True) if o.is_open]
        sim.age_order(exit_order.order_id, 11 * 60)
        fault_unconfirmed_cancel(sim, exit_order.order_id)
        caught = loop(bot)
        assert caught == []  # handle_cancel_exit caught the guard's refusal
        assert order_row(exit_order.order_id).ft_is_open
        for _ in range(8):
            loop(bot)
            if not Trade.get_open_trades():
                break
        assert Trade.get_open_trades() == []  # the exit's fill was booked: the trade closed
        assert sim.position(PAIR) == pytest.approx(0.0)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_reprice_refetch_whose_fills_are_unreadable_stalls_nothing(bot_on_sim, script, guard):
    """OKX answers a cancel with the order id only, so the order is fetched again: first it
    still shows open (the view lags the cancel), then Freqtrade's own re-fetch (the re-price
    path, 0.5 s later) shows it cancelled while the trade list cannot be read. Freqtrade's
    `handle_cancel_enter` catches nothing around that re-fetch: the guard's `TemporaryError`
    ("fills unreadable") used to leave `process()` (no exits that loop, the worker's 30 s).
    Now the exchange's own answer is taken (nothing is held back), the order's trades are
    watched, and the re-price goes out as a checked replacement."""
    okx = SimExchange(symbols=(PAIR,), venue="okx")
    stake = {"stake_amount": CHAOS_STAKE}
    with bot_on_sim(guard, "ChaosMakerStrategy", stake, sim=okx) as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        real_handle = sim.handle
        seen = {"cancelled": False, "fetches": 0}

        def lagging_then_unreadable(method, path, *args, **kwargs):
            if method == "DELETE" and path == "/fapi/v1/order":
                seen["cancelled"] = True
            elif seen["cancelled"] and method == "GET" and path == "/fapi/v1/order":
                seen["fetches"] += 1
                if seen["fetches"] == 1:  # the view has not seen the cancel yet
                    return 200, {**first.to_binance(), "status": "NEW"}
            elif seen["cancelled"] and path == "/fapi/v1/userTrades":
                return 503, {"code": -1001, "msg": "Internal error"}
            return real_handle(method, path, *args, **kwargs)

        sim.handle = lagging_then_unreadable  # type: ignore[method-assign]
        reprice_next_candle(sim, script, first)
        caught = loop(bot)
        assert first.status == "CANCELED" and seen["fetches"] >= 2
        if guard:
            assert caught == []  # nothing left process()
            [trade] = Trade.get_open_trades()  # the re-price went out, checked
            [second] = [o for o in orders_of(sim, reduce_only=False) if o is not first]
            assert [o.order_id for o in trade.open_orders] == [str(second.order_id)]
            record = bot.strategy.ghost_guard.store.order(str(first.order_id))
            assert record is not None and record.watch is not None  # its trades are watched
            sim.handle = real_handle  # type: ignore[method-assign]
            script["reprice"] = False
            loop(bot, 2)
            assert sim.position(PAIR) == pytest.approx(0.0)  # nothing filled, nothing doubled
        else:
            assert caught == []  # Freqtrade alone takes the cancelled answer as it is
