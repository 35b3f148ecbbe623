"""The spec's acceptance scenarios 1-8 and 10, each driving a real FreqtradeBot through whole
`process()` iterations against the simulated Binance USD-M exchange (real ccxt parsing).

Every "must block" scenario runs twice: guard on (the property holds) and guard off (the double
position or duplicate order happens), and both outcomes are asserted.
"""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import Order, Trade

from tests.conftest import PAIR, entry_filled_but_answered_cancelled, hide_trades, loop, orders_of
from tests.harness import fault_unconfirmed_cancel


def _entries(sim: Any) -> list[Any]:
    return orders_of(sim, reduce_only=False)


def _open_trade() -> Trade | None:
    trades = Trade.get_open_trades()
    return trades[0] if trades else None


def _place_foreign_entry(bot: Any, sim: Any) -> None:
    """A second working entry order the bot's database does not know (e.g. a lost response)."""
    bid, _ = sim.best_bid_ask(PAIR)
    bot.exchange._api.create_order(PAIR, "limit", "buy", 0.002, bid - 50, {"timeInForce": "GTX"})


# --- scenario 1 ------------------------------------------------------------------------------


def test_s1_true_cancellation_is_replaced_once(bot_on_sim, events) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        sim.expire_order(first.order_id)
        loop(bot)  # detection and replacement in the same iteration: no extra loop of delay
        entries = _entries(sim)
        assert len(entries) == 2
        detected = events.named("GHOST_ORDER_DETECTED")
        assert len(detected) == 1 and "detection=rest_status" in detected[0]
        assert f"order_id={first.order_id}" in detected[0]
        assert len(events.named("GHOST_ORDER_RECOVERY_APPROVED")) == 1
        replaced = events.named("GHOST_ORDER_REPLACED")
        assert len(replaced) == 1 and "attempt=1/3" in replaced[0]
        assert events.named("REPLACEMENT_BLOCKED") == []
        sim.fill_order(entries[1].order_id)
        loop(bot)
        trade = _open_trade()
        assert trade is not None and trade.amount == pytest.approx(first.orig_qty)
        assert sim.position(PAIR) == pytest.approx(first.orig_qty)
        assert sim.max_abs_position(PAIR) == pytest.approx(first.orig_qty)
        data = trade.get_custom_data("ghostguard")
        assert data["attempts"] == 1
        # The trade's custom data holds each ghost: how it was detected, when, what came of it.
        [ghost] = data["ghosts"]
        assert ghost["order_id"] == str(first.order_id) and ghost["detection"] == "rest_status"
        assert ghost["outcome"] == f"replaced by {entries[1].order_id}" and ghost["at"]


# --- scenario 2 ------------------------------------------------------------------------------


def test_s2_stale_answer_is_corrected_from_the_exchanges_trades(bot_on_sim, events) -> None:
    """The status answer lies but the trade history does not: the fill is booked, nothing is
    re-placed (the guard reads the order's trades before Freqtrade acts on a cancel)."""
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        sim.fill_order(first.order_id)
        sim.fault_stale_status(first.order_id, "CANCELED")
        loop(bot, 3)
        assert len(_entries(sim)) == 1
        trade = _open_trade()
        assert trade is not None and trade.amount == pytest.approx(first.orig_qty)
        assert "detection=rest_status" in events.named("GHOST_ORDER_DETECTED")[0]


@pytest.mark.parametrize("strategy", ["ScriptedMakerStrategy", "OverridingMakerStrategy"])
@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s2_stale_cancelled_answer_for_a_filled_order(bot_on_sim, events, guard, strategy) -> None:
    with bot_on_sim(guard=guard, strategy=strategy) as (sim, bot):
        # Filled, but the status answer lies ("cancelled, nothing filled") and the trade
        # history lags as well.
        first = entry_filled_but_answered_cancelled(sim, bot)
        loop(bot)
        entries = _entries(sim)
        if guard:
            assert len(entries) == 1
            [blocked] = events.named("REPLACEMENT_BLOCKED")
            assert "position_already_exists" in blocked
            assert "original_order" not in blocked  # check 1 was fooled; check 2 held
            # The pair is reconciled: no entry goes out while no read explains the position.
            assert bot.strategy.ghost_guard.ledger.reconciling(PAIR) is not None
            loop(bot, 3)
            assert len(_entries(sim)) == 1
            assert sim.max_abs_position(PAIR) == pytest.approx(first.orig_qty)
            sim.__dict__.pop("handle")  # the trade history catches up
            loop(bot, 2)
            [trade] = Trade.get_open_trades()  # the fill is adopted into a trade
            assert trade.amount == pytest.approx(first.orig_qty)
            assert bot.strategy.ghost_guard.ledger.reconciling(PAIR) is None
        else:
            assert len(entries) == 2
            sim.fill_order(entries[1].order_id)
            assert sim.position(PAIR) == pytest.approx(2 * first.orig_qty)


def test_s2_honest_status_check_one_blocks_too(bot_on_sim, events) -> None:
    """The first status answer is stale, the guard's own query is honest: check 1 blocks."""
    with bot_on_sim() as (sim, bot):
        first = entry_filled_but_answered_cancelled(sim, bot)
        real_handle = sim.handle

        def stale_once(method: str, path: str, params: Any, *args: Any, **kwargs: Any) -> Any:
            answer = real_handle(method, path, params, *args, **kwargs)
            if method == "GET" and path == "/fapi/v1/order":
                sim.clear_faults(first.order_id)
            return answer

        sim.handle = stale_once
        loop(bot)
        assert len(_entries(sim)) == 1
        [blocked] = events.named("REPLACEMENT_BLOCKED")
        assert "original_order_filled" in blocked and "position_already_exists" in blocked


# --- scenario 3 ------------------------------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s3_partial_fill_then_cancel(bot_on_sim, events, script, guard) -> None:
    script["dca"] = True  # the strategy wants to add to the position: a second entry order
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        half = first.orig_qty / 2
        sim.fill_order(first.order_id, half)
        sim.cancel_on_exchange(first.order_id)
        loop(bot)
        trade = _open_trade()
        assert trade is not None and trade.amount == pytest.approx(half)  # Freqtrade kept it
        if guard:
            assert len(_entries(sim)) == 1
            [blocked] = events.named("REPLACEMENT_BLOCKED")
            assert "original_order_partial" in blocked
        else:
            assert len(_entries(sim)) == 2


# --- scenario 4 ------------------------------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s4_second_working_order_already_exists(bot_on_sim, events, guard) -> None:
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        _place_foreign_entry(bot, sim)
        sim.expire_order(first.order_id)
        loop(bot)
        working = [o for o in sim.open_orders(PAIR) if not o.reduce_only]
        if guard:
            assert len(working) == 1  # only the one the database does not know
            [blocked] = events.named("REPLACEMENT_BLOCKED")
            assert "duplicate_working_order" in blocked
            assert bot.strategy.ghost_guard.ledger.reconciling(PAIR) is not None
        else:
            assert len(working) == 2


# --- scenario 5 ------------------------------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s5_signal_flips_while_a_replacement_is_pending(bot_on_sim, events, script, guard):
    script["reprice"] = True  # the strategy chases the book with adjust_order_price
    with bot_on_sim(guard=guard, strategy="OverridingMakerStrategy") as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        script.update(enter_long=0, enter_short=1)  # the signal flips to short
        sim.set_price(PAIR, sim.price(PAIR) + 10)  # the book moves away: a re-price is due
        sim.age_order(first.order_id, 120)  # the order is from an earlier candle
        loop(bot)
        buys = [o for o in _entries(sim) if o.side == "BUY"]
        assert "adjust_order_price" in script_calls()
        if guard:
            assert len(buys) == 1  # no order in the old direction
            blocked = events.named("REPLACEMENT_BLOCKED")
            assert any("signal_no_longer_active" in line for line in blocked)
        else:
            assert len(buys) == 2


def script_calls() -> list[str]:
    from tests.strategies.ScriptedMakerStrategy import CALLS

    return CALLS


# --- scenario 6 ------------------------------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s6_rapid_repeated_cancellations(bot_on_sim, events, guard) -> None:
    extra = {"ghost_guard": {"replacement_cooldown_s": 1.0}}
    with bot_on_sim(guard=guard, extra=extra) as (sim, bot):
        now = [1_000.0]
        if guard:
            bot.strategy.ghost_guard.clock = lambda: now[0]
        loop(bot)
        approved_at: list[float] = []
        for _ in range(10):
            for order in sim.open_orders(PAIR):
                sim.expire_order(order.order_id)
            now[0] += 0.6  # the exchange cancels faster than the cooldown
            before = len(events.named("GHOST_ORDER_REPLACED"))
            loop(bot)
            if len(events.named("GHOST_ORDER_REPLACED")) > before:
                approved_at.append(now[0])
        if guard:
            assert len(approved_at) == 3
            assert all(b - a >= 1.0 for a, b in zip(approved_at, approved_at[1:], strict=False))
            assert len(_entries(sim)) == 4  # the original and three replacements
            assert len(events.named("MAX_REPLACEMENT_ATTEMPTS_REACHED")) == 1
            reasons = " ".join(events.named("REPLACEMENT_BLOCKED"))
            assert "cooldown_active" in reasons and "max_replacement_attempts" in reasons
        else:
            assert len(_entries(sim)) == 11  # one new order every loop


# --- scenario 7 ------------------------------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s7_circuit_breaker_on_a_filled_order_never_found(bot_on_sim, events, guard) -> None:
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        sim.fault_not_found(first.order_id, None)  # -2013 forever
        sim.fill_order(first.order_id)
        loop(bot, 6)
        assert len(_entries(sim)) == 1  # nothing re-placed for a filled order
        trade = _open_trade()
        if guard:
            assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
            [detected] = events.named("GHOST_ORDER_DETECTED")
            assert "detection=circuit_breaker" in detected
            assert trade is not None and trade.amount == pytest.approx(first.orig_qty)
            assert not trade.has_open_orders  # resolved: no more "Cannot query order"
        else:
            # Freqtrade alone: stuck forever on the ghost, the fill unknown to the database.
            assert trade is not None and trade.amount == 0 and trade.has_open_orders


def test_s7_breaker_verifies_then_replaces_a_live_order_the_exchange_cannot_find(
    bot_on_sim, events
) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        sim.fault_not_found(first.order_id, None)  # query side lags; the order is live
        loop(bot, 3)
        assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
        sim.reset_requests()
        loop(bot)
        paths = [(r.method, r.path) for r in sim.requests]
        # Verified first: cancelled by id (it was live), fills looked up ...
        cancel_at = paths.index(("DELETE", "/fapi/v1/order"))
        fills_at = paths.index(("GET", "/fapi/v1/userTrades"))
        place_at = paths.index(("POST", "/fapi/v1/order"))
        assert cancel_at < fills_at < place_at
        # ... and the three exchange checks ran before the replacement was sent.
        for check in ("/fapi/v3/positionRisk", "/fapi/v1/openOrders"):
            assert paths.index(("GET", check)) < place_at
        assert first.status == "CANCELED"
        working = [o for o in sim.open_orders(PAIR) if not o.reduce_only]
        assert len(working) == 1 and working[0].order_id != first.order_id


# --- scenario 8 ------------------------------------------------------------------------------


def _open_long_then_exit(sim: Any, bot: Any, script: dict[str, Any]) -> Any:
    loop(bot)
    [first] = _entries(sim)
    sim.fill_order(first.order_id)
    loop(bot)
    script.update(enter_long=0, exit_long=1)
    loop(bot)
    [exit_order] = orders_of(sim, reduce_only=True)
    return first, exit_order


def test_s8_cancelled_exit_is_replaced_within_the_position(bot_on_sim, events, script) -> None:
    with bot_on_sim() as (sim, bot):
        first, exit_order = _open_long_then_exit(sim, bot, script)
        sim.cancel_on_exchange(exit_order.order_id)
        loop(bot)
        exits = orders_of(sim, reduce_only=True)
        assert len(exits) == 2
        assert exits[1].orig_qty <= abs(sim.position(PAIR)) + 1e-12
        replaced = events.named("GHOST_ORDER_REPLACED")
        assert len(replaced) == 1 and "type=exit" in replaced[0]


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s8_exit_blocked_when_the_position_is_already_closed(
    bot_on_sim, events, script, guard
) -> None:
    with bot_on_sim(guard=guard) as (sim, bot):
        first, exit_order = _open_long_then_exit(sim, bot, script)
        sim.fill_order(exit_order.order_id)  # the exit filled: position closed ...
        sim.fault_stale_status(exit_order.order_id, "CANCELED")  # ... but the answer says not
        hide_trades(sim, exit_order.order_id)  # ... and the trade history lags
        sim.reset_requests()
        loop(bot)
        sent = sim.count("POST", "/fapi/v1/order")
        assert sim.position(PAIR) == pytest.approx(0.0)
        if guard:
            assert sent == 0
            [blocked] = events.named("REPLACEMENT_BLOCKED")
            assert "no_position_to_exit" in blocked
        else:
            assert sent == 1  # a second exit went out (the exchange refused the reduce-only)


# --- scenario 10 -----------------------------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s10_fabricated_cancel_answer_is_never_trusted(bot_on_sim, events, script, guard):
    script["reprice"] = True
    with bot_on_sim(guard=guard, strategy="OverridingMakerStrategy") as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        sim.set_price(PAIR, sim.price(PAIR) + 10)
        sim.age_order(first.order_id, 120)
        # the cancel fills it and answers -2011, and its re-fetch fails (6 tries)
        fault_unconfirmed_cancel(sim, first.order_id)
        caught = loop(bot)
        entries = _entries(sim)
        if guard:
            assert len(entries) == 1
            # Nothing left process() (no worker retry sleep, that loop's exits ran), and the
            # trade was kept with its order open although Freqtrade's re-price failed.
            assert caught == []
            assert _open_trade() is not None
            assert bot.strategy.ghost_guard.stats["trades_kept"] == 1  # replace_order_failed
            # One status query a loop (no retry back-off): the fill is booked once the query
            # side answers again, or the breaker verifies the order.
            for _ in range(6):
                loop(bot)
                trade = _open_trade()
                if trade is not None and trade.amount:
                    break
            trade = _open_trade()
            assert trade is not None and trade.amount == pytest.approx(first.orig_qty)
            assert sim.max_abs_position(PAIR) == pytest.approx(first.orig_qty)
        else:
            assert len(entries) == 2  # Freqtrade took its own made-up answer and re-placed
            sim.fill_order(entries[1].order_id)
            assert sim.position(PAIR) > first.orig_qty * 1.2  # beyond the intended size


def test_db_rows_only_change_through_freqtrade(bot_on_sim) -> None:
    """A resolved ghost leaves Freqtrade's own rows consistent: the order closed, not deleted."""
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        sim.fault_not_found(first.order_id, None)
        sim.fill_order(first.order_id, first.orig_qty / 2)
        sim.cancel_on_exchange(first.order_id)
        loop(bot, 5)
        row = Order.session.query(Order).filter(Order.order_id == str(first.order_id)).one()
        assert not row.ft_is_open and row.filled == pytest.approx(first.orig_qty / 2)
