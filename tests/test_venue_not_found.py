"""Not-found the way Freqtrade recognises it on each venue (defect 10 of the correctness work):
Freqtrade's Kraken Futures `fetch_order` raises a plain `InvalidOrderException("Order not found
in any endpoint ...")` with no ccxt `OrderNotFound` behind it; the breaker must still trip, or
the order is stuck forever."""

from __future__ import annotations

from typing import Any

from freqtrade.exceptions import InvalidOrderException
from freqtrade.exchange import Exchange
from freqtrade.persistence import Trade

from tests.conftest import loop, orders_of


def test_a_venue_override_saying_order_not_found_trips_the_breaker(
    bot_on_sim, events, monkeypatch
) -> None:
    gone: set[str] = set()
    real_fetch = Exchange.fetch_order

    def venue_fetch_order(self: Any, order_id: str, pair: str, params: dict | None = None,
                          **kwargs: Any) -> Any:
        if order_id in gone:  # as Freqtrade's KrakenFutures.fetch_order words it
            raise InvalidOrderException(
                f"Order not found in any endpoint (pair: {pair} id: {order_id})"
            )
        return real_fetch(self, order_id, pair, params, **kwargs)

    monkeypatch.setattr(Exchange, "fetch_order", venue_fetch_order)
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        sim.fill_order(first.order_id, first.orig_qty / 2)
        sim.cancel_on_exchange(first.order_id)
        gone.add(str(first.order_id))
        loop(bot, 4)
        assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
        assert any("circuit_breaker" in line for line in events.named("GHOST_ORDER_DETECTED"))
        [trade] = Trade.get_open_trades()
        assert trade.amount == first.orig_qty / 2  # its verified fill is booked


def test_a_venue_fetch_order_without_count_is_never_passed_one(bot_on_sim, events, monkeypatch):
    """Freqtrade's Bybit and Hyperliquid `fetch_order` take no retrier `count` (no retrier):
    the guard must never pass it (a TypeError would end the bot's worker)."""
    real_fetch = Exchange.fetch_order

    def bybit_like_fetch_order(self: Any, order_id: str, pair: str, params: dict | None = None):
        return real_fetch(self, order_id, pair, params, count=0)

    monkeypatch.setattr(Exchange, "fetch_order", bybit_like_fetch_order)
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        sim.fault_not_found(first.order_id, None)
        sim.fill_order(first.order_id)
        loop(bot, 5)  # a TypeError here would escape run_loop and fail the test
        assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
        [trade] = Trade.get_open_trades()
        assert trade.amount == first.orig_qty
