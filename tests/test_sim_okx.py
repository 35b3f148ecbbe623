"""The simulator's OKX v5 face (USDT swaps, net mode, isolated) answers as OKX documents, driven
through REAL ccxt okx (and Freqtrade's own, unmodified ``Okx`` class).

One test per rule of docs/sim-venues/okx.md (sources quoted in ghostsim/venues/okx_answers.py).
No network: the in-process transport, or a loopback server for the server test.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
from freqtrade.persistence import Trade

from ghostsim import SimExchange, route_ccxt_to
from ghostsim.venues.okx import PROFILE
from tests.harness import run_loop, sim_bot


BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
DAY_S = 86_400
HOUR_S = 3_600


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests: any attempt to reach the network fails (the server test is exempt)."""
    if "server" in request.node.name:
        yield
        return

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def _sim(**kwargs: Any) -> SimExchange:
    return SimExchange(venue="okx", **kwargs)


def _api(sim: SimExchange, server_url: str | None = None, **extra: Any) -> ccxt.okx:
    config = PROFILE.ccxt_config(server_url)
    config["options"]["defaultMarginMode"] = "isolated"
    config.update({"apiKey": sim.SIM_API_KEY, "secret": sim.SIM_API_SECRET,
                   "password": sim.SIM_API_PASSWORD, **extra})
    return ccxt.okx(config)


def _maker_buy(api: ccxt.okx, sim: SimExchange, contracts: float = 0.2, **params: Any) -> Any:
    bid, _ = sim.best_bid_ask(BTC)
    return api.create_order(BTC, "limit", "buy", contracts, bid, {"postOnly": True, **params})


def _raw_order(api: ccxt.okx, **fields: Any) -> Any:
    body = {"instId": "BTC-USDT-SWAP", "tdMode": "isolated", "side": "buy", "ordType": "limit",
            "sz": "1", "px": "49000", **fields}
    return api.privatePostTradeOrder(body)


# ------------------------------------------------------------------ contract size


def test_instruments_list_contract_value_lot_and_tick() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        markets = api.load_markets()
    btc, eth = markets[BTC], markets[ETH]
    assert btc["id"] == "BTC-USDT-SWAP" and btc["swap"] and btc["linear"]
    assert btc["contractSize"] == 0.01 and eth["contractSize"] == 0.1
    # one lot in base is one engine step (0.001 BTC / ETH)
    assert btc["precision"]["amount"] == 0.1 and eth["precision"]["amount"] == 0.01
    assert btc["limits"]["amount"]["min"] == 0.1
    assert btc["precision"]["price"] == 0.1 and eth["precision"]["price"] == 0.01
    assert sim.face.unknown_requests == [] and sim.unknown_requests == []


def test_one_contract_is_ct_val_base_in_the_engine_both_ways() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim, 1)
        engine = sim.order(order["id"])
        assert engine.orig_qty == pytest.approx(0.01)  # 1 contract = ctVal 0.01 BTC
        [pending] = api.fetch_open_orders(BTC)
        assert pending["amount"] == 1.0
        sim.fill_order(order["id"], 0.005)  # half of it, in base
        assert api.fetch_order(order["id"], BTC)["filled"] == 0.5
        sim.fill_order(order["id"])
        assert sim.position(BTC) == pytest.approx(0.01)
        [position] = api.fetch_positions([BTC])
        assert position["contracts"] == 1.0 and position["contractSize"] == 0.01
        assert position["side"] == "long" and position["marginMode"] == "isolated"
        assert sum(t["amount"] for t in api.fetch_my_trades(BTC)) == pytest.approx(1.0)
        # and back: a 0.3-contract sell is 0.003 BTC
        api.create_order(BTC, "market", "sell", 0.3, None, {"reduceOnly": True})
        assert sim.position(BTC) == pytest.approx(0.007)
        assert api.fetch_positions([BTC])[0]["contracts"] == pytest.approx(0.7)


def test_lot_size_and_minimum() -> None:
    sim = _sim(symbols=(BTC, ETH))
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        with pytest.raises(ccxt.InvalidOrder, match="51121"):
            _raw_order(api, sz="0.15")  # lotSz 0.1
        with pytest.raises(ccxt.BadRequest, match="51000"):
            _raw_order(api, sz="0")
        with pytest.raises(ccxt.BadRequest, match="51000.*px"):
            _raw_order(api, px="49000.05")  # tickSz 0.1
        with pytest.raises(ccxt.BadSymbol, match="51001"):
            _raw_order(api, instId="DOGE-USDT-SWAP")
        bid, _ = sim.best_bid_ask(ETH)  # one ETH lot (0.001 ETH) is below the engine's 5 USDT
        with pytest.raises(ccxt.InvalidOrder, match="51020"):
            api.create_order(ETH, "limit", "buy", 0.01, bid)
        assert sim.orders == []


# ------------------------------------------------------------------ signing


def test_signing_errors() -> None:
    sim = _sim()
    with route_ccxt_to(sim):
        _api(sim).fetch_balance()  # the right key, secret and passphrase
        sim.reset_requests()
        with pytest.raises(ccxt.AuthenticationError, match="50113"):
            _api(sim, secret="wrong-secret").fetch_balance()
        with pytest.raises(ccxt.AuthenticationError, match="50111"):
            _api(sim, apiKey="wrong-key").fetch_balance()
        with pytest.raises(ccxt.AuthenticationError, match="50105"):
            _api(sim, password="wrong").fetch_balance()
        assert sim.requests == []  # refused before the engine


# ------------------------------------------------------------------ post-only


def test_crossing_post_only_is_accepted_then_canceled() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        _, ask = sim.best_bid_ask(BTC)
        created = api.create_order(BTC, "limit", "buy", 0.2, ask, {"postOnly": True})
        assert created["id"] and created["info"]["sCode"] == "0"
        order = api.fetch_order(created["id"], BTC)
        assert order["status"] == "canceled" and order["filled"] == 0
        assert order["info"]["state"] == "canceled" and order["info"]["accFillSz"] == "0.0"
        assert order["info"]["cancelSource"] == "31"  # post-only would take liquidity
        assert sim.position(BTC) == 0 and sim.open_orders() == []


# ------------------------------------------------------------------ clOrdId


def test_client_order_id_format() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        for bad in ("ab-c", "a_b", "x" * 33):
            with pytest.raises(ccxt.BadRequest, match="51000.*clOrdId"):
                _maker_buy(api, sim, clientOrderId=bad)
        # "case-sensitive alphanumerics, all numbers, or all letters of up to 32 characters"
        for good in ("Ab1", "12345", "x" * 32):
            assert _maker_buy(api, sim, clientOrderId=good)["clientOrderId"] == good
        assert len(sim.open_orders()) == 3


def test_client_order_id_unique_among_pending_orders() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        first = _maker_buy(api, sim, clientOrderId="gg1")
        with pytest.raises(ccxt.InvalidOrder, match="51016"):
            _maker_buy(api, sim, clientOrderId="gg1")
        assert len(sim.open_orders()) == 1
        api.cancel_order(first["id"], BTC)
        assert _maker_buy(api, sim, clientOrderId="gg1")["id"] != first["id"]
        assert api.fetch_order("", BTC, {"clientOrderId": "gg1"})["status"] == "open"


# ------------------------------------------------------------------ reduce-only


def test_reduce_only_that_cannot_reduce() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        # ccxt 4.5.90 has no entry for 51169 / 51170: a plain ExchangeError (Freqtrade:
        # TemporaryError, retried), not InvalidOrder as on Binance (-2022).
        with pytest.raises(ccxt.ExchangeError, match="51169") as info:  # no position
            api.create_order(BTC, "market", "sell", 0.2, None, {"reduceOnly": True})
        assert not isinstance(info.value, ccxt.InvalidOrder)
        api.create_order(BTC, "market", "buy", 0.2)
        with pytest.raises(ccxt.ExchangeError, match="51170") as info:  # same direction
            api.create_order(BTC, "market", "buy", 0.2, None, {"reduceOnly": True})
        assert not isinstance(info.value, ccxt.InvalidOrder)
        with pytest.raises(ccxt.InvalidOrder, match="51112"):  # larger than the position
            api.create_order(BTC, "market", "sell", 0.5, None, {"reduceOnly": True})
        api.create_order(BTC, "market", "sell", 0.2, None, {"reduceOnly": True})
        assert sim.position(BTC) == 0


def test_insufficient_margin() -> None:
    sim = _sim(balance=100.0)
    api = _api(sim)
    with route_ccxt_to(sim):
        with pytest.raises(ccxt.InsufficientFunds, match="51008"):
            _maker_buy(api, sim, 10)  # 0.1 BTC at 50000 and leverage 20: 250 USDT margin


# ------------------------------------------------------------------ not found, cancel


def test_order_not_found_and_cancel_of_a_gone_order() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        with pytest.raises(ccxt.OrderNotFound, match="51603"):
            api.fetch_order("123456", BTC)
        # 51400 "... has been filled, canceled or does not exist." for all three
        with pytest.raises(ccxt.OrderNotFound, match="51400"):
            api.cancel_order("123456", BTC)
        canceled = _maker_buy(api, sim)
        api.cancel_order(canceled["id"], BTC)
        assert api.fetch_order(canceled["id"], BTC)["info"]["cancelSource"] == "1"
        with pytest.raises(ccxt.OrderNotFound, match="51400"):
            api.cancel_order(canceled["id"], BTC)
        filled = _maker_buy(api, sim)
        sim.fill_order(filled["id"])
        with pytest.raises(ccxt.OrderNotFound, match="51400"):
            api.cancel_order(filled["id"], BTC)


def test_canceled_unfilled_order_is_kept_2_hours() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        canceled = _maker_buy(api, sim)
        api.cancel_order(canceled["id"], BTC)
        filled = _maker_buy(api, sim)
        sim.fill_order(filled["id"])
        sim.advance(2 * HOUR_S - 60)
        assert api.fetch_order(canceled["id"], BTC)["status"] == "canceled"
        assert [o["id"] for o in api.fetch_canceled_orders(BTC)] == [canceled["id"]]
        sim.advance(120)
        with pytest.raises(ccxt.OrderNotFound, match="51603"):
            api.fetch_order(canceled["id"], BTC)
        assert api.fetch_canceled_orders(BTC) == []
        assert api.fetch_order(filled["id"], BTC)["status"] == "closed"  # a fill keeps it


def test_order_history_7_days_then_archive_3_months() -> None:
    sim = _sim()
    api = _api(sim)
    archive = {"method": "privateGetTradeOrdersHistoryArchive"}
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fill_order(order["id"])
        assert [o["id"] for o in api.fetch_closed_orders(BTC)] == [order["id"]]
        sim.advance(7 * DAY_S + 60)
        assert api.fetch_closed_orders(BTC) == []
        assert [o["id"] for o in api.fetch_closed_orders(BTC, params=archive)] == [order["id"]]
        sim.advance(83 * DAY_S)
        assert api.fetch_closed_orders(BTC, params=archive) == []


# ------------------------------------------------------------------ fills


def test_fills_3_days_and_fills_history_3_months_with_paging() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        api.create_order(BTC, "market", "buy", 0.2)
        sim.advance(4 * DAY_S)
        api.create_order(BTC, "market", "buy", 0.3)
        api.create_order(BTC, "market", "buy", 0.4)
        recent = api.privateGetTradeFills({"instType": "SWAP"})["data"]
        assert [r["fillSz"] for r in recent] == ["0.4", "0.3"]  # newest first, last 3 days
        history = api.privateGetTradeFillsHistory({"instType": "SWAP"})["data"]
        assert [r["fillSz"] for r in history] == ["0.4", "0.3", "0.2"]
        newest, middle, oldest = (r["billId"] for r in history)
        older = api.privateGetTradeFillsHistory({"instType": "SWAP", "after": newest})["data"]
        assert [r["billId"] for r in older] == [middle, oldest]
        newer = api.privateGetTradeFillsHistory(
            {"instType": "SWAP", "before": oldest, "limit": "1"})["data"]
        assert [r["billId"] for r in newer] == [middle]
        with pytest.raises(ccxt.BadRequest, match="50014"):
            api.privateGetTradeFillsHistory({})  # instType is required
        sim.advance(91 * DAY_S)  # the newest fills are now 3 months and a day old
        assert api.privateGetTradeFillsHistory({"instType": "SWAP"})["data"] == []


# ------------------------------------------------------------------ market data and faults


def test_market_data_and_account() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        bid, ask = sim.best_bid_ask(BTC)
        book = api.fetch_order_book(BTC, 5)
        assert book["bids"][0][0] == bid and book["asks"][0][0] == ask
        candles = api.fetch_ohlcv(BTC, "5m", limit=3)
        assert len(candles) == 3 and candles[0][0] < candles[-1][0]
        assert api.fetch_ticker(BTC)["bid"] == bid
        assert api.fetch_funding_rate_history(BTC, limit=2)[-1]["fundingRate"] == 0.0001
        assert api.fetch_balance()["USDT"]["free"] == pytest.approx(100000.0)
        assert api.fetch_accounts()[0]["info"]["posMode"] == "net_mode"
        api.set_leverage(3, BTC, {"mgnMode": "isolated"})
        assert api.fetch_leverage(BTC, {"mgnMode": "isolated"})["longLeverage"] == 3
        assert sim.positions["BTCUSDT"].leverage == 3
    assert sim.face.unknown_requests == []


def test_engine_faults_apply_on_the_okx_face() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fault_not_found(order["id"])
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order(order["id"], BTC)
        assert api.fetch_order(order["id"], BTC)["status"] == "open"
        sim.fault_not_found(order["id"], on_cancel=True)
        with pytest.raises(ccxt.OrderNotFound, match="51400"):
            api.cancel_order(order["id"], BTC)
        assert sim.order(order["id"]).is_open
        sim.fault_rate_limit(1)
        with pytest.raises(ccxt.RateLimitExceeded):
            api.fetch_positions([BTC])
        sim.fault_lost_create()
        with pytest.raises(ccxt.RequestTimeout):
            _maker_buy(api, sim)
        assert len(sim.open_orders(BTC)) == 2  # placed all the same
        assert sim.count("GET", "/fapi/v1/order") == 2  # recorded under the engine's route
        assert sim.count("DELETE", "/fapi/v1/order") == 1


# ------------------------------------------------------------------ Freqtrade's own Okx class


FT_CONFIG: dict[str, Any] = {
    "ghost_guard": {"enabled": True, "replacement_cooldown_s": 0.0},
    "exchange": {"pair_whitelist": [BTC]},
    # Freqtrade's Okx refuses time_in_force in the config ("Time in force policies are not
    # supported for OKX yet."): the bot's orders are plain GTC limits at the book's own side.
    "order_time_in_force": {"entry": "GTC", "exit": "GTC"},
}


def test_freqtrade_okx_bot_enters_and_exits_in_contracts() -> None:
    sim = _sim(symbols=(BTC,))
    with sim_bot(sim, "PlainMakerStrategy", extra_config=FT_CONFIG) as (sim, bot):
        assert type(bot.exchange).__name__ == "Okx" and bot.exchange._api.id == "okx"
        assert run_loop(bot) == []
        [entry] = sim.orders
        bid, _ = sim.best_bid_ask(BTC)
        assert entry.side == "BUY" and entry.price == bid and not entry.reduce_only
        sim.fill_order(entry.order_id)
        assert run_loop(bot) == []
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(entry.orig_qty)  # base, from contracts
        assert trade.amount == pytest.approx(sim.position(BTC))
        bot.rpc._rpc._rpc_force_exit(str(trade.id))
        [exit_order] = sim.open_orders(BTC)
        assert exit_order.side == "SELL" and exit_order.reduce_only
        assert exit_order.orig_qty == pytest.approx(entry.orig_qty)
        sim.fill_order(exit_order.order_id)
        assert run_loop(bot) == []
        Trade.session.refresh(trade)
        assert not trade.is_open and sim.position(BTC) == 0
        assert sim.unknown_requests == [] and sim.face.unknown_requests == []
        paths = {r.path for r in sim.requests}
        assert {"/fapi/v1/exchangeInfo", "/fapi/v1/positionSide/dual", "/fapi/v1/order",
                "/fapi/v1/leverage", "/fapi/v2/account"} <= paths


def test_freqtrade_sees_a_crossing_post_only_as_cancelled() -> None:
    sim = _sim(symbols=(BTC,))
    with sim_bot(sim, "PlainMakerStrategy", extra_config=FT_CONFIG) as (sim, bot):
        _, ask = sim.best_bid_ask(BTC)
        created = bot.exchange.create_order(pair=BTC, ordertype="limit", side="buy",
                                            amount=0.002, rate=ask, leverage=1,
                                            time_in_force="PO")
        order = bot.exchange.fetch_order(created["id"], BTC)
        assert order["status"] == "canceled" and order["filled"] == 0
        assert order["amount"] == pytest.approx(0.002)  # Freqtrade converted the contracts
        assert sim.order(created["id"]).orig_qty == pytest.approx(0.002)
        assert sim.position(BTC) == 0


# ------------------------------------------------------------------ server


def test_server_path_over_http() -> None:
    from ghostsim.server import serve

    sim = _sim(symbols=(BTC,))
    running = serve(sim, 0, drive=False)
    try:
        api = _api(sim, running.url)
        assert api.load_markets()[BTC]["contractSize"] == 0.01
        assert api.fetch_balance()["USDT"]["total"] == pytest.approx(100000.0)
        order = _maker_buy(api, sim)
        assert sim.order(order["id"]).orig_qty == pytest.approx(0.002)
        api.cancel_order(order["id"], BTC)
        assert api.fetch_order(order["id"], BTC)["status"] == "canceled"
        with pytest.raises(ccxt.AuthenticationError, match="50113"):
            _api(sim, running.url, secret="wrong").fetch_balance()
        assert sim.face.unknown_requests == []
    finally:
        running.stop()
