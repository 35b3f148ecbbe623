"""Never stick, never stall (acceptance scenario 15, defects 1 and 2 of the correctness work).

A restart while orders answer "not found" and a trade's fee is unassigned: Freqtrade's fee pass
(`update_trades_without_assigned_fees`, before `bot_loop_start`) fetches the entry, and its
`update_trade_state` catches only `InvalidOrderException`. Every loop after the restart must
complete, nothing may sleep in Freqtrade's retry back-off for an order the guard tracks, and the
exit that filled while the bot was down is booked.
"""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import PairLocks, Trade

from tests.conftest import PAIR, hide_trades, loop, orders_of
from tests.harness import SLEEPS, restart_bot


def _position_with_unassigned_fee(sim: Any, bot: Any) -> Any:
    loop(bot)
    [entry] = orders_of(sim, reduce_only=False)
    hide_trades(sim, entry.order_id)  # no fee from the trades: the entry fee stays unassigned
    sim.fill_order(entry.order_id)
    loop(bot)
    [trade] = Trade.get_open_trades()
    assert not trade.fee_updated(trade.entry_side)
    return entry


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s15_restart_with_a_ghost_and_an_unassigned_fee(
    bot_on_sim, events, script, database, guard
) -> None:
    with bot_on_sim(guard=guard, db_url=database[0]) as (sim, bot):
        entry = _position_with_unassigned_fee(sim, bot)
        script.update(enter_long=0, exit_long=1)
        loop(bot)
        [exit_order] = orders_of(sim, reduce_only=True)
        # While the bot is down: the exit fills, and both orders answer "does not exist".
        sim.fill_order(exit_order.order_id)
        sim.fault_not_found(entry.order_id, None)
        sim.fault_not_found(exit_order.order_id, None)
        script.update(exit_long=0)
        SLEEPS.clear()
        bot = restart_bot(bot)
        bot.startup()
        caught = loop(bot, 5)
        assert sim.position(PAIR) == pytest.approx(0.0)
        if guard:
            assert caught == []  # every process() after the restart completed
            assert SLEEPS == []  # no retry back-off for an order the guard tracks
            booked = Trade.get_open_trades() == []
            locked = any(
                (lock.reason or "").startswith("GhostGuard")
                for lock in PairLocks.get_pair_locks(PAIR)
            )
            assert booked or locked
            assert booked, "the exit's verified fill is booked"
        else:
            # Freqtrade alone sleeps in its retry back-off, and its start-up pass takes the
            # unfetchable exit as cancelled with the database's fill (0): the trade stays open
            # although the exchange holds no position.
            assert sum(SLEEPS) >= 35
            assert Trade.get_open_trades() != []


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_tracked_orders_not_found_costs_no_back_off(bot_on_sim, events, guard) -> None:
    """Defect 2: the first "not found" of an order made Freqtrade's retrier sleep 1+2+5+10+17 s
    in the bot's only thread. The breaker counts across loops, so the guard asks once a loop."""
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [entry] = orders_of(sim, reduce_only=False)
        sim.fault_not_found(entry.order_id, None)
        slept = []
        for _ in range(3):
            SLEEPS.clear()
            loop(bot)
            slept.append(sum(SLEEPS))
        if guard:
            assert slept == [0, 0, 0]
            assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
        else:
            assert slept == [35.0, 35.0, 35.0]
