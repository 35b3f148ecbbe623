"""Acceptance scenarios 9, 11 and 12, and the sweep after placing: what the six checks alone
miss (spec, "Beyond the six checks"). Real FreqtradeBot, simulated Binance USD-M exchange."""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import Trade

from tests.conftest import PAIR, hide_trades, loop, orders_of


def _working_entries(sim: Any) -> list[Any]:
    return [o for o in sim.open_orders(PAIR) if not o.reduce_only]


def _open_trade() -> Trade | None:
    trades = Trade.get_open_trades()
    return trades[0] if trades else None


# --- scenario 9 ------------------------------------------------------------------------------


@pytest.mark.parametrize("fills_after_loops", [1, 6], ids=["fills_during_lag", "fills_later"])
def test_s9_query_lag_never_two_working_orders(bot_on_sim, events, fills_after_loops) -> None:
    """A live entry answers -2013 for 8 loops (40 s at 5 s a loop), then fills."""
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim)
        sim.fault_not_found(first.order_id, None)
        for index in range(8):
            if index == fills_after_loops and first.is_open:
                sim.fill_order(first.order_id)
            loop(bot)
            assert len(_working_entries(sim)) <= 1  # never two working at the same time
        sim.clear_faults(first.order_id)
        for order in _working_entries(sim):
            sim.fill_order(order.order_id)
        loop(bot, 2)
        trade = _open_trade()
        assert trade is not None
        assert trade.amount == pytest.approx(sim.position(PAIR))  # the fill is in the database
        assert sim.max_abs_position(PAIR) == pytest.approx(first.orig_qty)


# --- scenario 11 -----------------------------------------------------------------------------


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s11_lost_create_response_is_found_by_client_order_id(bot_on_sim, events, guard):
    with bot_on_sim(guard=guard) as (sim, bot):
        sim.fault_lost_create(1)  # the order is placed, its answer times out
        caught = loop(bot)
        [first] = orders_of(sim)
        assert first.is_open and _open_trade() is None  # the bot does not know it
        loop(bot, 2)
        if guard:
            assert first.client_order_id.startswith("gg")
            assert len(orders_of(sim)) == 1  # found, not sent twice
            trade = _open_trade()
            assert trade is not None
            assert [o.order_id for o in trade.orders] == [str(first.order_id)]
        else:
            assert len(_working_entries(sim)) == 2
        assert caught == []


def test_s11_a_retry_waits_for_the_lost_create_then_reuses_its_client_order_id(
    bot_on_sim, events
) -> None:
    """While no read finds the lost order, it is an order in an unknown state: the retry is
    blocked (exposure_exceeds_target). Reusing its client id is no protection once that order
    filled -- Binance refuses a duplicate id among OPEN orders only (the campaign's seed 994
    doubled a short that way). Once the watch window passes with nothing found, the retry
    carries the same client order id, so the exchange itself refuses a twin of an original
    that still works."""
    with bot_on_sim() as (sim, bot):
        now = [1_000.0]
        bot.strategy.ghost_guard.clock = lambda: now[0]
        sim.fault_delay_visibility(3600)  # open-order lists do not show it yet either
        sim.fault_lost_create(1)
        loop(bot)
        [first] = orders_of(sim)
        real_handle = sim.handle

        def lookup_misses(method: str, path: str, params: Any, *args: Any, **kw: Any) -> Any:
            if method == "GET" and path == "/fapi/v1/order" and "origClientOrderId" in params:
                return 400, {"code": -2013, "msg": "Order does not exist."}
            return real_handle(method, path, params, *args, **kw)

        sim.handle = lookup_misses
        loop(bot)
        posts = [r for r in sim.requests if r.method == "POST" and r.path == "/fapi/v1/order"]
        assert len(posts) == 1  # not sent beside an order of unknown state
        assert "exposure_exceeds_target" in " ".join(events.named("REPLACEMENT_BLOCKED"))
        now[0] += 31 * 60  # the watch window passes, nothing found
        loop(bot)
        assert len(_working_entries(sim)) == 1  # the duplicate client id was refused
        posts = [r for r in sim.requests if r.method == "POST" and r.path == "/fapi/v1/order"]
        assert len(posts) == 2
        assert posts[0].params["newClientOrderId"] == posts[1].params["newClientOrderId"]


# --- scenario 12 -----------------------------------------------------------------------------


@pytest.mark.parametrize("trades_lag", [False, True], ids=["trades_visible", "trades_lag"])
@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s12_dca_order_reported_cancelled_partially_while_filled(
    bot_on_sim, events, script, guard, trades_lag
) -> None:
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [first] = orders_of(sim)
        sim.fill_order(first.order_id)
        loop(bot)
        script["dca"] = True  # top up to 200 USDT: one DCA order of 100
        loop(bot)
        dca = orders_of(sim)[-1]
        assert dca.order_id != first.order_id
        sim.fill_order(dca.order_id)  # it filled completely ...
        real_handle = sim.handle

        def reported_partial(method: str, path: str, params: Any, *args: Any, **kw: Any) -> Any:
            status, body = real_handle(method, path, params, *args, **kw)
            if (
                method == "GET"
                and path == "/fapi/v1/order"
                and str(params.get("orderId")) == str(dca.order_id)
            ):
                half = dca.orig_qty / 2
                body = {
                    **body,
                    "status": "CANCELED",
                    "executedQty": f"{half}",
                    "cumQuote": f"{half * dca.price}",
                }
            return status, body

        sim.handle = reported_partial  # ... but is reported "cancelled, partially filled"
        if trades_lag:
            hide_trades(sim, dca.order_id)
        loop(bot, 3)
        intended = first.orig_qty + dca.orig_qty
        if guard:
            assert len(orders_of(sim)) == 2  # no third order
            assert sim.max_abs_position(PAIR) == pytest.approx(intended)
            trade = _open_trade()
            assert trade is not None
            if trades_lag:  # the fill cannot be seen: the checks block the top-up
                blocked = " ".join(events.named("REPLACEMENT_BLOCKED"))
                assert "original_order_partial" in blocked and "position_mismatch" in blocked
            else:  # the fill is read from the trades and booked: nothing to top up
                assert trade.amount == pytest.approx(intended)
        else:
            assert len(orders_of(sim)) == 3
            sim.fill_order(orders_of(sim)[-1].order_id)
            assert sim.position(PAIR) > intended


# --- the sweep right after placing --------------------------------------------------------------


@pytest.mark.parametrize("whose", ["own", "anybody"])
def test_sweep_cancels_a_second_working_order_of_its_own_that_shows_up(
    bot_on_sim, events, whose: str
) -> None:
    """A second working entry shows up right after the replacement: one carrying the bot's
    tag (its own create, lost) is swept; one of anybody else (no tag) is never touched."""
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim)
        sim.expire_order(first.order_id)
        real_handle = sim.handle
        params: dict[str, Any] = {"timeInForce": "GTX"}
        if whose == "own":
            params["newClientOrderId"] = f"{bot.strategy.ghost_guard.ctx.own_prefix}{'1' * 12}e9"

        def concurrent_placement(method: str, path: str, *args: Any, **kw: Any) -> Any:
            answer = real_handle(method, path, *args, **kw)
            if method == "POST" and path == "/fapi/v1/order" and len(orders_of(sim)) == 2:
                bid, _ = sim.best_bid_ask(PAIR)
                bot.exchange._api.create_order(PAIR, "limit", "buy", 0.002, bid - 50, params)
            return answer

        sim.handle = concurrent_placement
        loop(bot)
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1
        if whose == "own":
            [swept] = events.named("DUPLICATE_CANCELLED")
            assert f"order_id={orders_of(sim)[-1].order_id}" in swept
            assert len(_working_entries(sim)) == 1
        else:
            assert events.named("DUPLICATE_CANCELLED") == []
            assert len(_working_entries(sim)) == 2


def test_unclaimed_lost_create_is_cancelled_not_orphaned(bot_on_sim, events, script) -> None:
    with bot_on_sim() as (sim, bot):
        now = [1_000.0]
        bot.strategy.ghost_guard.clock = lambda: now[0]
        sim.fault_lost_create(1)
        loop(bot)
        [first] = orders_of(sim)
        script["enter_long"] = 0  # the signal is gone: nothing will claim the order
        loop(bot)
        assert first.is_open
        now[0] += 61
        loop(bot)
        assert not first.is_open  # no order left working that the database does not know
        [swept] = events.named("DUPLICATE_CANCELLED")
        assert f"order_id={first.order_id}" in swept
        assert f"pair={PAIR} " in swept and "type=entry " in swept


def test_write_ahead_intent_survives_a_restart(bot_on_sim, events, tmp_path) -> None:
    from tests.harness import restart_bot

    with bot_on_sim(db_url=f"sqlite:///{tmp_path / 'gg.sqlite'}") as (sim, bot):
        sim.fault_lost_create(1)
        loop(bot)
        [first] = orders_of(sim)
        bot = restart_bot(bot)
        bot.startup()
        loop(bot)
        assert len(orders_of(sim)) == 1
        trade = _open_trade()
        assert trade is not None and trade.orders[0].order_id == str(first.order_id)


def test_s11_lost_create_found_in_open_orders_when_the_lookup_lags(bot_on_sim) -> None:
    """The status query answers -2013 for the lost order (lag); the open-orders list shows it:
    it is taken, not refused as a duplicate and left working unknown to the database."""
    with bot_on_sim() as (sim, bot):
        sim.fault_lost_create(1)
        loop(bot)
        [first] = orders_of(sim)
        sim.fault_not_found(first.order_id, None)
        loop(bot)
        sim.clear_faults(first.order_id)
        loop(bot)
        assert len(orders_of(sim)) == 1  # nothing sent twice
        trade = _open_trade()
        assert trade is not None
        assert [o.order_id for o in trade.orders] == [str(first.order_id)]
