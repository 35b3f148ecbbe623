"""Reconcile, don't lock (issue 17): a fill on a traded pair that no trade owns ends up owned by
a trade that manages it (or is sent back, or locks the pair, as `late_fill` says), within a few
loops, through Freqtrade's own model; dust the bot's own spot fees left never blocks; a lagging
view alone never adopts anything. A real FreqtradeBot on the simulator, guard on and off.

Before this work each guard-on case below ended in a pair lock of 365 days with the position in
no trade (no stop-loss, no ROI, no exit signal watched it)."""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import PairLocks, Trade

from ghostsim import SimExchange
from tests.conftest import PAIR, guard_locks, loop, orders_of, resting_dca
from tests.harness import run_loop, sim_bot


SPOT = "BTC/USDT"


def _guarded(bot: Any, sim: SimExchange) -> Any:
    guard = bot.strategy.ghost_guard
    if guard is not None:
        guard.clock = lambda: sim.now_ms / 1000.0
    return guard


def late_fill_after_resolution(sim: SimExchange, bot: Any, pair: str = PAIR) -> Any:
    """The entry answers "does not exist" to every query and cancel; the breaker resolves it
    as gone with nothing filled (Freqtrade deletes the trade); it was working after all and
    fills. Returns the order."""
    run_loop(bot)
    [first] = [o for o in sim.orders if o.spec.symbol == pair]
    sim.fault_not_found(first.order_id, None, on_cancel=True)
    run_loop(bot, 4, advance_seconds=5)
    assert not Trade.get_open_trades()
    sim.clear_faults(first.order_id)
    sim.fill_order(first.order_id)
    return first




@pytest.mark.parametrize("side", ["long", "short"])
def test_a_late_fill_is_adopted_into_a_new_trade(bot_on_sim, script, events, side):
    if side == "short":
        script.update(enter_long=0, enter_short=1)
    with bot_on_sim() as (sim, bot):
        _guarded(bot, sim)
        first = late_fill_after_resolution(sim, bot)
        script.update(enter_long=0, enter_short=0)  # no new signal meanwhile
        run_loop(bot, 4, advance_seconds=6)
        [trade] = Trade.get_open_trades()
        assert trade.is_short is (side == "short")
        assert trade.amount == pytest.approx(first.orig_qty)
        assert trade.stop_loss > 0 and trade.enter_tag == "ghostguard_adopted"
        assert events.named("LATE_FILL_ADOPTED") and not guard_locks(PAIR)
        script.update(exit_long=1, exit_short=1)  # and the strategy's exits manage it
        run_loop(bot, 2)
        exits = [o for o in orders_of(sim, reduce_only=True)]
        assert exits and exits[-1].orig_qty == pytest.approx(first.orig_qty)


def test_a_late_fill_joins_the_open_trade_as_one_more_entry(bot_on_sim, script, events):
    """A DCA order of an open trade goes missing, is resolved as gone with nothing filled,
    then fills: it is booked onto the trade (as Freqtrade books a DCA fill), so the trade's
    stop-loss and exits cover the whole position."""
    with bot_on_sim(extra={"stake_amount": 1000.0}, strategy="ChaosMakerStrategy") as (sim, bot):
        _guarded(bot, sim)
        entry, dca = resting_dca(sim, bot, script)
        sim.fault_not_found(dca.order_id, None, on_cancel=True)
        run_loop(bot, 4, advance_seconds=5)
        sim.clear_faults(dca.order_id)
        sim.fill_order(dca.order_id)
        run_loop(bot, 4, advance_seconds=6)
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(entry.orig_qty + dca.orig_qty)
        assert trade.nr_of_successful_entries == 2
        [adopted] = events.named("LATE_FILL_ADOPTED")
        assert "one more entry" in adopted or "booked on trade" in adopted


def test_a_spot_late_fill_is_adopted_net_of_its_base_fee(events):
    sim = SimExchange(symbols=(SPOT,), venue="binance-spot")
    config = {"exchange": {"pair_whitelist": [SPOT]}}
    with sim_bot(sim=sim, strategy="ScriptedSpotStrategy", extra_config=config) as (sim, bot):
        _guarded(bot, sim)
        first = late_fill_after_resolution(sim, bot, SPOT)
        run_loop(bot, 4, advance_seconds=6)
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(first.orig_qty, rel=0.01)  # less the BTC fee
        assert events.named("LATE_FILL_ADOPTED")


@pytest.mark.parametrize("mode", ["reduce", "lock"])
def test_late_fill_modes(bot_on_sim, script, events, mode):
    """`late_fill: "reduce"` sends the fill back (a reduce-only market order): the position is
    what the bot intended, no trade; `"lock"` locks the pair for `lock_hours`, saying plainly
    that the position is unmanaged."""
    with bot_on_sim(extra={"ghost_guard": {"late_fill": mode}}) as (sim, bot):
        _guarded(bot, sim)
        first = late_fill_after_resolution(sim, bot)
        script.update(enter_long=0)
        run_loop(bot, 6, advance_seconds=6)
        if mode == "reduce":
            assert sim.position(PAIR) == pytest.approx(0.0)
            assert events.named("LATE_FILL_REDUCED") and not Trade.get_open_trades()
            [back] = orders_of(sim, reduce_only=True)
            assert back.orig_qty == pytest.approx(first.orig_qty) and back.type == "MARKET"
        else:
            [lock] = guard_locks(PAIR)
            assert "no stop-loss" in lock.reason and "late_fill" in lock.reason
            hours = (lock.lock_end_time - lock.lock_time).total_seconds() / 3600
            assert hours <= 4.02
            assert sim.position(PAIR) == pytest.approx(first.orig_qty)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_lost_create_that_filled_before_the_signal_flipped(bot_on_sim, script, guard):
    """The long entry's create answer is lost, the order fills, the signal flips short. Guarded,
    the long fill is adopted as a long trade and no short goes out beside it (nothing ends in
    a direction the database does not hold); Freqtrade alone never learns of the long and its
    database disagrees with the exchange."""
    with bot_on_sim(guard=guard) as (sim, bot):
        _guarded(bot, sim)
        sim.fault_lost_create(1)
        run_loop(bot)
        [lost] = orders_of(sim, reduce_only=False)
        sim.fill_order(lost.order_id)
        script.update(enter_long=0, enter_short=1)
        run_loop(bot, 6, advance_seconds=6)
        trades = Trade.get_open_trades()
        booked = sum(-t.amount if t.is_short else t.amount for t in trades)
        if guard:
            assert booked == pytest.approx(sim.position(PAIR))
            assert [t.is_short for t in trades] == [False]
        else:
            assert booked != pytest.approx(sim.position(PAIR))


def test_a_lagging_view_alone_never_adopts(bot_on_sim, script, events):
    """The trade list shows the late fill, but the position view lags behind it: the reads do
    not agree, so nothing is booked (a phantom) until the position shows it too."""
    with bot_on_sim() as (sim, bot):
        _guarded(bot, sim)
        late_fill_after_resolution(sim, bot)
        script.update(enter_long=0)
        sim.fault_lagging_views(3600, ("position",))
        run_loop(bot, 3, advance_seconds=6)
        assert events.named("LATE_FILL_ADOPTED") == []
        assert not Trade.get_open_trades()
        sim.fault_lagging_views(0)
        run_loop(bot, 3, advance_seconds=6)
        assert events.named("LATE_FILL_ADOPTED")


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_twenty_spot_round_trips_with_fees_in_the_base_asset_never_lock(script, guard):
    """Acceptance scenario 19: twenty round trips on Binance spot, the fee paid in BTC, ghosts
    in between. The dust the bot's own trades left is the bot's: no block or lock for it."""
    sim = SimExchange(symbols=(SPOT,), venue="binance-spot")
    section = {"replacement_cooldown_s": 0.0} if guard else {"enabled": False}
    config = {"exchange": {"pair_whitelist": [SPOT]}, "ghost_guard": section}
    with sim_bot(sim=sim, strategy="ScriptedSpotStrategy", extra_config=config) as (sim, bot):
        _guarded(bot, sim)
        for trip in range(20):
            script.update(enter_long=1, exit_long=0)
            PairLocks.unlock_reason("Auto lock")  # Freqtrade's lock until the next candle
            script["enter_tag"] = f"trip{trip}"  # each round trip a signal of its own
            loop(bot)
            entry = [o for o in orders_of(sim, pair=SPOT) if o.is_open and o.side == "BUY"][-1]
            if trip % 3 == 0:  # a ghost: the exchange expires it, the bot re-enters
                sim.expire_order(entry.order_id)
                run_loop(bot, advance_seconds=2)
                entry = [o for o in orders_of(sim, pair=SPOT) if o.is_open and o.side == "BUY"][-1]
            sim.fill_order(entry.order_id)
            script.update(enter_long=0, exit_long=1)
            run_loop(bot, 2, advance_seconds=2)
            for order in [o for o in orders_of(sim, pair=SPOT) if o.is_open]:
                sim.fill_order(order.order_id)
            run_loop(bot, 2, advance_seconds=2)
            assert not Trade.get_open_trades(), f"round trip {trip} did not close"
        assert not guard_locks(SPOT)
        closed = Trade.get_trades_proxy(pair=SPOT, is_open=False)
        assert len(closed) == 20
        if guard:
            guard_obj = bot.strategy.ghost_guard
            assert guard_obj.stats["locks"] == 0
            assert guard_obj.ledger.reconciling(SPOT) is None


def test_an_adoption_is_sent_as_a_freqtrade_rpc_message(bot_on_sim, script, mocker):
    """Telegram and webhooks hear of every adoption (on by default, unlike `notify`)."""
    with bot_on_sim() as (sim, bot):
        _guarded(bot, sim)
        send = mocker.spy(bot.rpc, "send_msg")
        late_fill_after_resolution(sim, bot)
        script.update(enter_long=0)
        run_loop(bot, 4, advance_seconds=6)
        texts = [str(c.args[0].get("status", "")) for c in send.call_args_list]
        assert any("a fill no trade owned is now managed" in t for t in texts), texts


# --- the pure plan: facts in, decision out ------------------------------------------------

from ghostguard import reconcile  # noqa: E402


def _fill(order_id: str, delta: float, ours: bool = True) -> reconcile.UnownedFill:
    return reconcile.UnownedFill(order_id, delta, ours, booked_row=False)


def test_plan_fills_that_net_to_nothing_are_a_round_trip() -> None:
    fills = [_fill("1", -0.019), _fill("2", 0.019)]
    assert reconcile.plan(0.0, 0.0, 1e-9, fills, "adopt", 0) == reconcile.RoundTrip(
        tuple(fills)
    )
    # whatever late_fill says: nothing is open, the booking is only the truth
    assert isinstance(reconcile.plan(0.0, 0.0, 1e-9, fills, "lock", 0), reconcile.RoundTrip)


def test_plan_a_round_trip_with_an_order_of_somebody_else_is_left_alone() -> None:
    fills = [_fill("1", -0.019), _fill("2", 0.019, ours=False)]
    assert reconcile.plan(0.0, 0.0, 1e-9, fills, "adopt", 0) == reconcile.Agree()


def test_plan_dust_alone_agrees() -> None:
    assert reconcile.plan(2e-5, 0.0, 1e-4, [_fill("1", 2e-5)], "adopt", 0) == reconcile.Agree()


def test_plan_a_gap_the_fills_explain_is_adopted_and_one_they_do_not_waits_then_locks() -> None:
    fills = [_fill("1", 0.02)]
    assert reconcile.plan(0.04, 0.02, 1e-9, fills, "adopt", 0) == reconcile.Adopt(tuple(fills))
    assert isinstance(reconcile.plan(0.05, 0.02, 1e-9, fills, "adopt", 0), reconcile.Wait)
    last = reconcile.RECONCILE_ATTEMPTS - 1
    decision = reconcile.plan(0.05, 0.02, 1e-9, fills, "adopt", last)
    assert isinstance(decision, reconcile.Lock) and decision.unmanaged


def test_unreadable_reads_wait_then_the_position_alone_decides() -> None:
    """A failed read (the trade list down, the position refused) is looked at again for
    `RECONCILE_ATTEMPTS` loops, then ends the hold by itself: the position agreeing with the
    trades ends it (nothing the trades miss can add to it), a gap or no position locks (bounded,
    lifted once the reads agree). Before, the hold lasted as long as the outage."""
    last = reconcile.RECONCILE_ATTEMPTS - 1
    for attempts in range(last):
        assert isinstance(
            reconcile.unreadable(0.0, 0.0, 1e-9, attempts, "fills unreadable"), reconcile.Wait
        )
        assert isinstance(
            reconcile.unreadable(None, 0.0, 1e-9, attempts, "position unreadable"),
            reconcile.Wait,
        )
    assert reconcile.unreadable(0.02, 0.02, 1e-9, last, "fills unreadable") == reconcile.Agree()
    gap = reconcile.unreadable(0.04, 0.02, 1e-9, last, "fills unreadable")
    assert isinstance(gap, reconcile.Lock) and gap.unmanaged and "gap +0.02" in gap.why
    blind = reconcile.unreadable(None, 0.02, 1e-9, last, "position unreadable")
    assert isinstance(blind, reconcile.Lock) and not blind.unmanaged
