"""A fill the database booked is never lost (campaign invariant j).

An order's fill never falls, but an answer can show less than the database already booked: a
lagging view shows the order as it was before the fill, a stale cancel answer says "filled 0",
and the trade list may not list the fill yet either. Freqtrade takes such an answer as it is:
it lowers the row, and a "cancelled, filled 0" drops the trade, leaving its position on the
exchange with no trade and so no stop-loss. And a re-price whose cancel Freqtrade cannot see
completed makes Freqtrade's `replace_order_failed` delete a trade whose order is partly filled.

Found by invariant (j) in the campaign's first 400 four-venue schedules on 5fcaff8 (seed 126,
OKX): both paths, in one schedule. Each test has its guard-off twin showing the harm.
"""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import PairLocks, Trade

from ghostsim import SimExchange
from tests.conftest import PAIR, hide_trades, loop, order_row, orders_of, reprice_next_candle
from tests.strategies.ScriptedMakerStrategy import CHAOS_STAKE


guards = pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])


def _holding(trades: list[Trade], order: Any) -> bool:
    return any(o.order_id == str(order.order_id) for t in trades for o in t.orders)


def _entry_half_filled(sim: SimExchange, bot: Any) -> Any:
    """The bot's entry, half filled one sim second after it was placed, and booked."""
    loop(bot)
    [entry] = orders_of(sim, reduce_only=False)
    sim.advance(1.0)
    sim.fill_order(entry.order_id, entry.orig_qty / 2)
    loop(bot)
    assert order_row(entry.order_id).filled == pytest.approx(entry.orig_qty / 2)
    sim.advance(1.0)
    return entry


@guards
def test_a_lagging_order_view_never_lowers_a_booked_fill(bot_on_sim, guard: bool) -> None:
    with bot_on_sim(guard=guard) as (sim, bot):
        entry = _entry_half_filled(sim, bot)
        sim.fault_lagging_views(1.5, ("order",))  # shows the order before its fill
        loop(bot)
        booked = order_row(entry.order_id).filled
        if guard:
            assert booked == pytest.approx(entry.orig_qty / 2)
        else:
            assert booked == 0.0  # Freqtrade took the lagging answer


@guards
def test_a_stale_cancel_over_a_booked_fill_keeps_the_trade(bot_on_sim, guard: bool) -> None:
    with bot_on_sim(guard=guard) as (sim, bot):
        entry = _entry_half_filled(sim, bot)
        hide_trades(sim, entry.order_id)  # the trade list does not show the fill yet
        sim.cancel_on_exchange(entry.order_id)
        sim.fault_stale_status(entry.order_id, "CANCELED")  # and the status says filled 0
        assert loop(bot) == []
        held = sim.position(PAIR)
        assert held == pytest.approx(entry.orig_qty / 2)
        trades = Trade.get_open_trades()
        if guard:
            [trade] = trades
            assert trade.amount == pytest.approx(held)  # Freqtrade's partial-cancel path
            assert PairLocks.get_pair_locks(PAIR) == []  # nothing to disagree about
        else:
            # Dropped: the position has no trade (and no stop-loss), and a new entry went out
            # beside it.
            assert not _holding(trades, entry)
            assert len(orders_of(sim, reduce_only=False)) == 2


@guards
def test_a_reprice_whose_cancel_is_not_seen_yet_keeps_the_partly_filled_trade(
    bot_on_sim, script: dict[str, Any], guard: bool
) -> None:
    """OKX answers a cancel with the order id only, so Freqtrade re-fetches the order; a
    lagging view shows it open. Freqtrade finds it "not cancelled" and `replace_order_failed`
    deletes the trade (no closed entry yet), though its order is half filled."""
    okx = SimExchange(symbols=(PAIR,), venue="okx")
    stake = {"stake_amount": CHAOS_STAKE}  # the half fill is an exitable trade
    with bot_on_sim(guard, "ChaosMakerStrategy", stake, sim=okx) as (sim, bot):
        entry = _entry_half_filled(sim, bot)
        sim.fault_lagging_views(1.5, ("order",))
        reprice_next_candle(sim, script, entry)
        assert loop(bot) == []
        assert entry.status == "CANCELED"  # the exchange did cancel it, half filled
        trades = Trade.get_open_trades()
        if not guard:
            assert not _holding(trades, entry)  # deleted: the half fill is in no trade
            return
        [trade] = trades
        assert [o.order_id for o in trade.open_orders] == [str(entry.order_id)]
        assert bot.strategy.ghost_guard.stats["trades_kept"] == 1
        sim.fault_lagging_views(0)
        script["reprice"] = False
        loop(bot)
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(entry.orig_qty / 2) == sim.position(PAIR)


@guards
def test_a_reprice_freqtrade_will_not_cancel_keeps_the_partly_filled_trade(
    bot_on_sim, script: dict[str, Any], guard: bool
) -> None:
    """No fault at all: the half fill is below the pair's minimum stake, so Freqtrade will not
    cancel the order for a re-price ("would result in an unexitable trade"), and then
    `replace_order_failed` deletes the trade, its order still working and half filled."""
    with bot_on_sim(guard=guard, strategy="ChaosMakerStrategy") as (sim, bot):
        entry = _entry_half_filled(sim, bot)
        reprice_next_candle(sim, script, entry)
        assert loop(bot) == []
        assert entry.is_open  # Freqtrade did not cancel it
        trades = Trade.get_open_trades()
        if not guard:
            assert not _holding(trades, entry)  # the working, half-filled order is forgotten
            return
        [trade] = trades
        assert [o.order_id for o in trade.open_orders] == [str(entry.order_id)]
        script["reprice"] = False
        sim.fill_order(entry.order_id)  # it keeps working, and fills
        loop(bot)
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(entry.orig_qty) == sim.position(PAIR)


@guards
def test_a_lagging_order_list_never_lowers_a_booked_fill(bot_on_sim, guard: bool) -> None:
    """Freqtrade's `handle_onexchange_order` (run when the wallet shows less than a trade holds,
    before an exit) books every order of the pair's order list as the list shows it; a list
    that lags shows the order before its fill. Found by invariant (j) in the 2,000-schedule
    four-venue run on 9a6c421 (seed 1673, Bybit: every view lagging 10 s)."""
    with bot_on_sim(guard=guard) as (sim, bot):
        entry = _entry_half_filled(sim, bot)
        sim.fault_lagging_views(1.5)  # the list shows the order before its fill
        [trade] = Trade.get_open_trades()
        bot.handle_onexchange_order(trade)
        booked = order_row(entry.order_id).filled
        if guard:
            assert booked == pytest.approx(entry.orig_qty / 2) == sim.position(PAIR)
        else:
            assert booked == 0.0  # Freqtrade took the lagging list
