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
from freqtrade.persistence import Order, Trade

from tests.conftest import PAIR, loop, orders_of
from tests.harness import assert_unconfirmed_entry_cancel_ends, fault_unconfirmed_cancel


def _row(order_id: int) -> Order:
    return Order.session.query(Order).filter(Order.order_id == str(order_id)).one()


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
            assert _row(first.order_id).ft_is_open  # the order stays open for the breaker
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
        assert _row(exit_order.order_id).ft_is_open
        for _ in range(8):
            loop(bot)
            if not Trade.get_open_trades():
                break
        assert Trade.get_open_trades() == []  # the exit's fill was booked: the trade closed
        assert sim.position(PAIR) == pytest.approx(0.0)
