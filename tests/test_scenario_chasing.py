"""Acceptance scenario 14, chasing the book: re-prices are checked, not rationed.

The strategy re-prices with Freqtrade's `adjust_entry_price` (the callback Freqtrade refused
while the mixin defined `adjust_order_price` on the class). With the guard's real defaults
(3 replacements per signal, 1 s cooldown), twenty consecutive re-prices all go out; a re-price
whose cancelled order had in fact filled is blocked, and without the guard it doubles the
position.
"""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import Trade

from tests.conftest import PAIR, hide_trades, loop, orders_of


DEFAULTS: dict[str, Any] = {
    "ghost_guard": {"max_replacements_per_signal": 3, "replacement_cooldown_s": 1.0}
}


def _working_entries(sim: Any) -> list[Any]:
    return [o for o in orders_of(sim, reduce_only=False) if o.is_open]


def _next_candle_higher(sim: Any, order: Any) -> None:
    """The book moves up and a new candle closes since the order was placed: Freqtrade asks
    the strategy whether to re-price it."""
    sim.set_price(PAIR, sim.price(PAIR) + 20)
    sim.age_order(order.order_id, 70)


def test_s14_twenty_consecutive_reprices_all_go_out(bot_on_sim, events, script) -> None:
    with bot_on_sim(strategy="ChasingMakerStrategy", extra=dict(DEFAULTS)) as (sim, bot):
        loop(bot)
        [first] = _working_entries(sim)
        script["reprice"] = True
        prices = [first.price]
        for candle in range(20):
            [working] = _working_entries(sim)
            _next_candle_higher(sim, working)
            loop(bot)
            [moved] = _working_entries(sim)
            assert moved.order_id != working.order_id, f"re-price {candle + 1} did not go out"
            assert moved.price > working.price
            prices.append(moved.price)
        entries = orders_of(sim, reduce_only=False)
        assert len(entries) == 21
        assert [o.status for o in entries[:-1]] == ["CANCELED"] * 20
        assert prices == sorted(prices) and len(set(prices)) == 21
        assert sim.position(PAIR) == 0.0
        assert events.named("REPLACEMENT_BLOCKED") == []
        assert events.named("MAX_REPLACEMENT_ATTEMPTS_REACHED") == []
        # Re-prices are the strategy's own decision: no ghost, no attempt used up.
        assert events.named("GHOST_ORDER_RECOVERY_APPROVED") == []
        assert bot.strategy.ghost_guard.stats["reprices_approved"] == 20
        [trade] = Trade.get_open_trades()
        assert trade.get_custom_data("ghostguard") is None


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s14_reprice_of_an_order_that_had_filled(bot_on_sim, events, script, guard) -> None:
    """After five re-prices, the sixth order fills while Freqtrade cancels it to re-price: the
    cancel answers "unknown order", the status query a stale "cancelled, nothing filled", the
    trade history lags. The guard blocks the new order (the exchange holds a position the
    database does not) and not for a rationing reason; without the guard it doubles."""
    extra = dict(DEFAULTS) if guard else {}
    with bot_on_sim(guard=guard, strategy="ChasingMakerStrategy", extra=extra) as (sim, bot):
        loop(bot)
        script["reprice"] = True
        for _ in range(5):
            [working] = _working_entries(sim)
            _next_candle_higher(sim, working)
            loop(bot)
        [working] = _working_entries(sim)
        sim.fill_order(working.order_id)
        sim.fault_stale_status(working.order_id, "CANCELED")
        hide_trades(sim, working.order_id)
        sim.set_price(PAIR, sim.price(PAIR) + 20)
        working.time -= 70_000  # a new candle: Freqtrade re-prices the (filled) order
        loop(bot)
        one_order = working.orig_qty
        later = [o for o in orders_of(sim, reduce_only=False) if o.order_id > working.order_id]
        if guard:
            assert later == []
            [blocked] = events.named("REPLACEMENT_BLOCKED")
            assert "position_already_exists" in blocked
            assert "max_replacement_attempts" not in blocked
            assert "cooldown_active" not in blocked
            assert sim.max_abs_position(PAIR) == pytest.approx(one_order)
        else:
            [second] = later
            sim.fill_order(second.order_id)
            assert sim.position(PAIR) == pytest.approx(2 * one_order)
