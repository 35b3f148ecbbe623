"""Smoke tests: a REAL FreqtradeBot (live futures) against the in-process SimExchange."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import freqtrade
import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import InvalidOrderException, RetryableOrderError, TemporaryError
from freqtrade.persistence import Trade
from packaging.version import Version

from ghostsim import SimExchange, route_ccxt_to
from tests.harness import SLEEPS, close_bot, restart_bot, run_loop, sim_bot


BTC = "BTC/USDT:USDT"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Everything here is in-process: any attempt to reach the network fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


def _place_entry(sim: SimExchange, bot: object) -> tuple[Trade, int]:
    assert run_loop(bot) == []  # type: ignore[arg-type]
    trades = Trade.get_open_trades()
    assert len(trades) == 1
    [order] = sim.open_orders()
    return trades[0], order.order_id


def _post_only_buy(bot: Any, rate: float) -> dict[str, Any]:
    """A post-only buy of 0.002 BTC through Freqtrade's own `Exchange.create_order`."""
    return bot.exchange.create_order(
        pair=BTC,
        ordertype="limit",
        side="buy",
        amount=0.002,
        rate=rate,
        leverage=1,
        time_in_force="PO",
    )


def test_live_bot_starts_against_sim() -> None:
    with sim_bot() as (sim, bot):
        assert bot.config["runmode"] == RunMode.LIVE
        assert bot.config["dry_run"] is False
        assert bot.exchange.trading_mode.value == "futures"
        paths = [r.path for r in sim.requests]
        for needed in (
            "/fapi/v1/exchangeInfo",
            "/fapi/v1/positionSide/dual",
            "/fapi/v1/multiAssetsMargin",
            "/fapi/v1/leverageBracket",
        ):
            assert needed in paths
        assert sim.unknown_requests == []
        assert bot.wallets.get_free("USDT") == pytest.approx(100000.0)


def test_post_only_entry_rests_then_fills() -> None:
    with sim_bot() as (sim, bot):
        trade, order_id = _place_entry(sim, bot)
        order = sim.order(order_id)
        assert order.time_in_force == "GTX" and order.side == "BUY"
        bid, _ = sim.best_bid_ask(order.spec.symbol)
        assert order.price == bid
        assert trade.has_open_orders and trade.amount == 0  # nothing filled yet
        [db_order] = trade.open_orders
        assert db_order.order_id == str(order_id)
        assert db_order.amount == pytest.approx(order.orig_qty)

        sim.set_price(order.spec.symbol, order.price)  # the market trades down to our bid
        assert order.status == "FILLED"
        assert sim.position(order.spec.symbol) == pytest.approx(order.orig_qty)

        assert run_loop(bot) == []
        Trade.session.refresh(trade)
        assert trade.is_open and not trade.has_open_orders
        assert trade.amount == pytest.approx(order.orig_qty)
        assert trade.open_rate == pytest.approx(order.price)
        assert sim.max_abs_position(order.spec.symbol) == pytest.approx(order.orig_qty)


def test_order_not_found_becomes_retryable_order_error() -> None:
    with sim_bot() as (sim, bot):
        trade, order_id = _place_entry(sim, bot)
        sim.fault_not_found(order_id, count=None)
        sim.reset_requests()
        SLEEPS.clear()
        with pytest.raises(RetryableOrderError) as info:
            bot.exchange.fetch_order(str(order_id), trade.pair)
        assert isinstance(info.value.__cause__, ccxt.OrderNotFound)
        assert sim.count("GET", "/fapi/v1/order") == 6  # 1 try + 5 retries
        assert sum(SLEEPS) > 30  # the back-off Freqtrade would have slept

        sim.reset_requests()
        with pytest.raises(RetryableOrderError):
            bot.exchange.fetch_order(str(order_id), trade.pair, count=0)
        assert sim.count("GET", "/fapi/v1/order") == 1


def test_post_only_crossing_is_invalid_order() -> None:
    with sim_bot() as (sim, bot):
        _, ask = sim.best_bid_ask(BTC)
        with pytest.raises(InvalidOrderException) as info:
            _post_only_buy(bot, ask)
        assert type(info.value.__cause__) is ccxt.OrderNotFillable
        assert sim.open_orders() == []
        assert sim.ledger[-1]["event"] == "reject"


def test_post_only_expire_mode() -> None:
    sim = SimExchange(post_only_mode="expire")
    with sim_bot(sim) as (sim, bot):
        _, ask = sim.best_bid_ask(BTC)
        order = _post_only_buy(bot, ask)
        assert order["status"] == "expired" and order["filled"] == 0


def test_dry_run_uses_only_market_data() -> None:
    market_data = {
        "/fapi/v1/exchangeInfo",
        "/fapi/v1/time",
        "/fapi/v1/klines",
        "/fapi/v1/depth",
    }
    if Version(freqtrade.__version__) < Version("2026.6"):
        # Freqtrade 2026.5.1 and older compute a NEW trade's funding fees in execute_entry
        # (get_funding_fees from the entry's open date); in dry-run that reads the public
        # funding-rate history and mark-price candles. 2026.6 computes them for an existing
        # trade only (`if trade else 0`). Both are public market data, no signed request.
        market_data |= {"/fapi/v1/fundingRate", "/fapi/v1/markPriceKlines"}
    with sim_bot(dry_run=True) as (sim, bot):
        assert bot.config["runmode"] == RunMode.DRY_RUN
        assert run_loop(bot) == []
        trades = Trade.get_open_trades()
        assert len(trades) == 1 and trades[0].open_orders[0].order_id.startswith("dry_run")
        assert {r.path for r in sim.requests} <= market_data
        assert sim.orders == []


def test_request_counting_per_loop() -> None:
    with sim_bot() as (sim, bot):
        _place_entry(sim, bot)
        sim.reset_requests()
        assert run_loop(bot) == []
        # A loop that crosses a candle boundary on the wall clock also refreshes the candles
        # (klines, public): only the private requests are counted.
        private = [r for r in sim.requests if r.path != "/fapi/v1/klines"]
        assert sim.count() == len(sim.requests)
        assert len(private) == 1
        assert sim.count("GET", "/fapi/v1/order") == 1
        assert "signature" not in private[0].params
        assert private[0].time == sim.now_ms


def test_lost_create_raises_temporary_error_but_order_exists() -> None:
    with sim_bot() as (sim, bot):
        sim.fault_lost_create()
        bid, _ = sim.best_bid_ask(BTC)
        with pytest.raises(TemporaryError) as info:
            _post_only_buy(bot, bid)
        assert isinstance(info.value.__cause__, ccxt.RequestTimeout)
        assert len(sim.open_orders(BTC)) == 1


def test_faults_through_real_ccxt() -> None:
    sim = SimExchange()
    api = ccxt.binance(
        {
            "apiKey": sim.SIM_API_KEY,
            "secret": sim.SIM_API_SECRET,
            "enableRateLimit": False,
            "options": {
                "defaultType": "swap",
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
            },
        }
    )
    with route_ccxt_to(sim):
        bid, _ = sim.best_bid_ask(BTC)
        created = api.create_order(BTC, "limit", "buy", 0.002, bid, {"timeInForce": "GTX"})
        oid = created["id"]

        sim.fault_stale_status(oid)
        sim.fill_order(oid)
        stale = api.fetch_order(oid, BTC)
        assert stale["status"] == "canceled" and stale["filled"] == 0
        sim.clear_faults(oid)
        assert api.fetch_order(oid, BTC)["status"] == "closed"

        second = api.create_order(BTC, "limit", "buy", 0.002, bid, {"timeInForce": "GTX"})
        sim.fault_fill_during_cancel(second["id"])
        with pytest.raises(ccxt.OrderNotFound):
            api.cancel_order(second["id"], BTC)
        assert sim.order(second["id"]).status == "FILLED"
        assert sim.position(BTC) == pytest.approx(0.004)

        sim.fault_delay_visibility(30)
        third = api.create_order(BTC, "limit", "buy", 0.002, bid, {"timeInForce": "GTX"})
        assert api.fetch_open_orders(BTC) == []
        sim.advance(30)
        assert [o["id"] for o in api.fetch_open_orders(BTC)] == [third["id"]]

        sim.fault_fail("GET", "/fapi/v1/openOrders", count=1)
        with pytest.raises(ccxt.BaseError):
            api.fetch_open_orders(BTC)
        assert len(api.fetch_open_orders(BTC)) == 1

        client_id = third["clientOrderId"]
        with pytest.raises(ccxt.InvalidOrder):
            api.create_order(
                BTC,
                "limit",
                "buy",
                0.002,
                bid,
                {"timeInForce": "GTX", "newClientOrderId": client_id},
            )
        by_client = api.fetch_order(None, BTC, {"origClientOrderId": client_id})
        assert by_client["id"] == third["id"]

    bad = ccxt.binance(
        {
            "apiKey": sim.SIM_API_KEY,
            "secret": "wrong",
            "enableRateLimit": False,
            "options": {"defaultType": "swap"},
        }
    )
    bad.markets = api.markets
    bad.markets_by_id = api.markets_by_id
    with route_ccxt_to(sim), pytest.raises(ccxt.AuthenticationError):
        bad.fetch_open_orders(BTC)


def test_restart_keeps_database(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'trades.sqlite'}"
    with sim_bot(db_url=db_url) as (sim, bot):
        _, order_id = _place_entry(sim, bot)
        sim.fill_order(order_id)
        sim.reset_requests()
        new_bot = restart_bot(bot)
        try:
            new_bot.startup()  # startup_update_open_orders fetches the order and sees the fill
            [trade] = Trade.get_open_trades()
            assert trade.amount == pytest.approx(0.002) and not trade.has_open_orders
            assert sim.count("GET", "/fapi/v1/order") == 1
        finally:
            close_bot(new_bot)


def test_error_mapping_survives_redirected_urls() -> None:
    sim = SimExchange()
    api = ccxt.binance(
        {
            "apiKey": sim.SIM_API_KEY,
            "secret": sim.SIM_API_SECRET,
            "enableRateLimit": False,
            "urls": {
                "api": {
                    "fapiPrivate": "https://sim.local/fapi/v1",
                    "fapiPublic": "https://sim.local/fapi/v1",
                }
            },
            "options": {
                "defaultType": "swap",
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
            },
        }
    )
    with route_ccxt_to(sim):
        _, ask = sim.best_bid_ask(BTC)
        with pytest.raises(ccxt.OrderNotFillable):
            api.create_order(BTC, "limit", "buy", 0.002, ask, {"timeInForce": "GTX"})
    assert sim.requests[-1].path == "/fapi/v1/order"
