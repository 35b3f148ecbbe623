"""Nothing the guard does makes a stop-loss later than Freqtrade alone makes it (rule 1), and
nothing it does stops the bot (rule 3). Each test drives a real FreqtradeBot on the simulator
with the guard on and off; both must send the stop-loss in the loop its condition first holds.

Before this work (the code of commit 1d630a1) the guard-on side of each failed:
- the trade list unreadable after a gone answer: the guard raised `TemporaryError` ("fills
  unreadable") on every fetch of the expired entry, the order stayed open in the database and
  `handle_similar_open_order` refused the stop-loss every loop;
- a resting DCA entry whose cancel is unconfirmed: answered "open", so the stop-loss waited for
  the breaker;
- a stop-loss placed as a limit order and re-priced: checked like an ordinary exit (a position
  read that failed blocked it).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.conftest import PAIR, loop, orders_of, resting_dca
from tests.harness import run_loop
from tests.strategies.ScriptedMakerStrategy import CHAOS_STAKE


STOP = {"stoploss": -0.02, "stake_amount": CHAOS_STAKE}


def crash(sim: Any, move: float = 0.05) -> None:
    """The price falls `move` below the long position's entry (through the 2 % stop)."""
    entry = sim.positions[sim.spec(PAIR).id].entry_price
    sim.set_price(PAIR, entry * (1 - move))


def exits_sent(sim: Any, since: int) -> list[Any]:
    """Reduce-only orders that reached the exchange since request `since`."""
    return [
        r for r in sim.requests[since:]
        if r.method == "POST" and r.path == "/fapi/v1/order"
        and str(r.params.get("reduceOnly", "")).lower() == "true"
    ]


def stop_loss_loop(sim: Any, bot: Any) -> tuple[list[Any], list[Exception]]:
    """One loop after the crash: the reduce-only orders it sent and what left process()."""
    since = len(sim.requests)
    caught = loop(bot)
    return exits_sent(sim, since), caught


@pytest.mark.parametrize("booked_first", [True, False], ids=["half_booked", "half_unbooked"])
@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_stop_loss_goes_out_while_the_trade_list_is_down(bot_on_sim, guard, booked_first):
    """Issue 16, item 1 (acceptance scenario 17): an entry half fills, the exchange expires
    the rest, every trade-list read answers 503, the price falls through the stop. The
    stop-loss goes out in the first loop and the position ends flat, guard on as off. (Half
    booked: a loop saw the half fill on the open order first; unbooked: the expiry is the first
    answer that shows it.)"""
    with bot_on_sim(guard, "ChaosMakerStrategy", dict(STOP)) as (sim, bot):
        loop(bot)
        [entry] = orders_of(sim, reduce_only=False)
        sim.fill_order(entry.order_id, round(entry.orig_qty / 2, 3))
        if booked_first:
            loop(bot)
        sim.fault_fail("GET", "/fapi/v1/userTrades", count=10**6)
        sim.expire_order(entry.order_id)
        crash(sim)
        sent, caught = stop_loss_loop(sim, bot)
        assert caught == []
        assert len(sent) == 1  # the stop-loss, in the first loop
        assert float(sent[0].params["quantity"]) == pytest.approx(entry.executed_qty)
        assert sim.position(PAIR) == pytest.approx(0.0)
        if guard:  # the expired order's trades are watched for a late fill
            record = bot.strategy.ghost_guard.store.order(str(entry.order_id))
            assert record is not None and record.watch is not None


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_stop_loss_does_not_wait_for_a_dca_order_whose_cancel_is_unconfirmed(
    bot_on_sim, script, guard
):
    """Issue 16, item 2: a DCA entry rests when the stop triggers; Freqtrade cancels it first,
    and the exchange answers the cancel "unknown order" and the re-fetch "does not exist". The
    stop-loss goes out in that loop, guard on as off (before, the guard answered the cancel
    "open" and the stop-loss waited for the breaker). Guarded, the DCA order is watched: once
    the exchange answers for it again it is cancelled."""
    with bot_on_sim(guard, "ChaosMakerStrategy", dict(STOP)) as (sim, bot):
        entry, dca = resting_dca(sim, bot, script)
        sim.hold_order(dca.order_id)  # it keeps resting through the fall
        sim.fault_not_found(dca.order_id, 4, on_cancel=True)
        crash(sim)
        if guard:
            bot.strategy.ghost_guard.clock = lambda: sim.now_ms / 1000.0  # watch on sim time
        sent, caught = stop_loss_loop(sim, bot)
        assert caught == []
        assert len(sent) == 1  # the stop-loss, in the first loop
        assert sim.position(PAIR) == pytest.approx(0.0)
        for _ in range(6):
            run_loop(bot, advance_seconds=30)
        if guard:  # the watch found it working again and cancelled it
            assert not dca.is_open and dca.status == "CANCELED"


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_repriced_limit_stop_loss_is_never_held_back(bot_on_sim, script, events, guard):
    """Issue 16, item 6: a stop-loss placed as a limit order and re-priced is re-placed by
    Freqtrade as a custom exit whose reason is the order's tag (`stop_loss`). It is still a
    stop-loss: a position read of the guard's that fails does not hold it back. Before, it was
    checked like an ordinary exit and blocked (`position_check_failed`); the stop-loss still
    went out in that loop only because Freqtrade's `exit_positions` then sent a new one from
    scratch (the trade had no open order left): no loop was lost, the re-price was."""
    extra = {**STOP, "order_types": {
        "entry": "limit", "exit": "limit", "emergency_exit": "market", "force_entry": "limit",
        "force_exit": "limit", "stoploss": "limit", "stoploss_on_exchange": False,
    }}
    with bot_on_sim(guard, "ChaosMakerStrategy", extra) as (sim, bot):
        loop(bot)
        [entry] = orders_of(sim, reduce_only=False)
        sim.fill_order(entry.order_id)
        loop(bot)
        crash(sim, 0.03)
        loop(bot)
        [stop] = [o for o in orders_of(sim, reduce_only=True) if o.is_open]
        script["reprice"] = True
        sim.age_order(stop.order_id, 70)  # a new candle: Freqtrade re-prices it
        sim.set_price(PAIR, sim.price(PAIR) - 2 * sim.spec(PAIR).tick)  # away from the sell
        real_handle = sim.handle

        def checks_cannot_read_the_position(method, path, *args, **kwargs):
            # The guard's checks (its worker threads) get a 503 for the position; Freqtrade's
            # own reads do not.
            guards = threading.current_thread().name.startswith("ghostguard")
            if guards and path == "/fapi/v3/positionRisk":
                return 503, {"code": -1001, "msg": "Internal error; please try again."}
            return real_handle(method, path, *args, **kwargs)

        sim.handle = checks_cannot_read_the_position  # type: ignore[method-assign]
        since = len(sim.requests)
        caught = loop(bot)
        assert caught == []
        assert not stop.is_open  # cancelled for the re-price
        assert len(exits_sent(sim, since)) == 1  # and re-placed in the same loop
        assert not [e for e in events.named("REPLACEMENT_BLOCKED") if "type=exit" in e]
