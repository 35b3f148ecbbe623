"""The simulator answers as Binance USD-M documents, driven through REAL ccxt.

One test per documented rule (source quoted in ghostsim/rules.py and docs/simulator.md). A later
change that makes the simulator kinder than Binance fails here.
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest
from packaging.version import Version

from ghostsim import SimExchange, route_ccxt_to
from ghostsim.rules import DAY_MS


BTC = "BTC/USDT:USDT"
DAY_S = 86_400


def _api(sim: SimExchange, **extra: Any) -> ccxt.binance:
    api = ccxt.binance(
        {
            "apiKey": sim.SIM_API_KEY,
            "secret": sim.SIM_API_SECRET,
            "enableRateLimit": False,
            "options": {
                "defaultType": "swap",
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
            **extra,
        }
    )
    return api


def _raw(api: ccxt.binance, method: str, params: dict[str, Any]) -> Any:
    return getattr(api, method)(params)


def _maker_buy(api: ccxt.binance, sim: SimExchange, qty: float = 0.002, **params: Any) -> Any:
    bid, _ = sim.best_bid_ask(BTC)
    return api.create_order(BTC, "limit", "buy", qty, bid, {"timeInForce": "GTX", **params})


def _long(sim: SimExchange, api: ccxt.binance, qty: float = 0.004) -> None:
    before = sim.position(BTC)
    api.create_order(BTC, "market", "buy", qty)
    assert sim.position(BTC) == pytest.approx(before + qty)


# ------------------------------------------------------------------ 3. trade-history window


def test_user_trades_window_longer_than_7_days_is_rejected() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        start = sim.now_ms - 10 * DAY_MS
        with pytest.raises(ccxt.BadRequest, match="-1127"):
            api.fetch_my_trades(BTC, start, None, {"until": sim.now_ms})
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            _raw(api, "fapiPrivateGetUserTrades",
                 {"symbol": "BTCUSDT", "fromId": 1, "startTime": start})
        # exactly 7 days is allowed
        assert api.fetch_my_trades(BTC, start, None, {"until": start + 7 * DAY_MS}) == []


def test_user_trades_default_windows() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(sim, api, 0.002)  # a trade at t0
        t0 = sim.now_ms
        sim.advance(8 * DAY_S)
        _long(sim, api, 0.004)  # a trade at t0 + 8 days
        # neither time: the last 7 days only
        rows = _raw(api, "fapiPrivateGetUserTrades", {"symbol": "BTCUSDT"})
        assert [r["qty"] for r in rows] == ["0.004"]
        # only startTime: startTime .. startTime + 7 days
        rows = _raw(api, "fapiPrivateGetUserTrades", {"symbol": "BTCUSDT", "startTime": t0 - 1})
        assert [r["qty"] for r in rows] == ["0.002"]
        # what ccxt's fetch_my_trades sends with `since` only (startTime, and endTime only when
        # the wall clock is a week past `since`) sees the same window
        assert [t["amount"] for t in api.fetch_my_trades(BTC, t0 - 1)] == [0.002]
        # fromId alone pages by id, no time window
        first = api.fetch_my_trades(BTC, t0 - 1)[0]["id"]
        rows = _raw(api, "fapiPrivateGetUserTrades", {"symbol": "BTCUSDT", "fromId": first})
        assert len(rows) == 2


# ------------------------------------------------------------------ 4. archival


def test_cancelled_unfilled_order_is_archived_after_3_days() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        api.cancel_order(order["id"], BTC)
        sim.advance(3 * DAY_S - 60)
        assert api.fetch_order(order["id"], BTC)["status"] == "canceled"
        sim.advance(120)
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order(order["id"], BTC)
        assert all(o["id"] != order["id"] for o in api.fetch_orders(BTC))


def test_filled_order_is_found_until_90_days() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fill_order(order["id"])
        part = _maker_buy(api, sim)
        sim.fill_order(part["id"], 0.001)
        api.cancel_order(part["id"], BTC)  # cancelled WITH a fill: kept like a filled order
        sim.advance(89 * DAY_S)
        assert api.fetch_order(order["id"], BTC)["status"] == "closed"
        assert api.fetch_order(part["id"], BTC)["filled"] == pytest.approx(0.001)
        sim.advance(2 * DAY_S)
        for oid in (order["id"], part["id"]):
            with pytest.raises(ccxt.OrderNotFound):
                api.fetch_order(oid, BTC)


# ------------------------------------------------------------------ 2. reduce-only


def test_reduce_only_that_cannot_reduce_is_rejected_2022() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        _, ask = sim.best_bid_ask(BTC)
        with pytest.raises(ccxt.InvalidOrder, match="-2022"):  # no position
            api.create_order(BTC, "limit", "sell", 0.002, ask, {"reduceOnly": True})
        _long(sim, api, 0.002)
        with pytest.raises(ccxt.InvalidOrder, match="-2022"):  # same side as the position
            api.create_order(BTC, "limit", "buy", 0.001, ask - 50, {"reduceOnly": True})
        with pytest.raises(ccxt.InvalidOrder, match="-2022"):  # more than the position
            api.create_order(BTC, "limit", "sell", 0.003, ask + 50, {"reduceOnly": True})


def test_resting_reduce_only_expires_when_the_position_closes() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(sim, api, 0.004)
        _, ask = sim.best_bid_ask(BTC)
        tp1 = api.create_order(BTC, "limit", "sell", 0.004, ask + 10, {"reduceOnly": True})
        tp2 = api.create_order(BTC, "limit", "sell", 0.002, ask + 20, {"reduceOnly": True})
        sim.fill_order(tp1["id"])
        assert sim.position(BTC) == 0
        assert api.fetch_order(tp2["id"], BTC)["status"] == "expired"
        assert api.fetch_open_orders(BTC) == []


def test_resting_reduce_only_larger_than_the_shrunk_position_expires_never_flips() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(sim, api, 0.004)
        _, ask = sim.best_bid_ask(BTC)
        small = api.create_order(BTC, "limit", "sell", 0.003, ask + 10, {"reduceOnly": True})
        whole = api.create_order(BTC, "limit", "sell", 0.004, ask + 20, {"reduceOnly": True})
        sim.fill_order(small["id"])
        assert sim.position(BTC) == pytest.approx(0.001)
        assert api.fetch_order(whole["id"], BTC)["status"] == "expired"
        # a reduce-only order the engine is told to fill beyond the position fills only the
        # position and expires the rest
        last = api.create_order(BTC, "limit", "sell", 0.001, ask + 30, {"reduceOnly": True})
        sim.place_order(BTC, "sell", 0.001, ask + 40)  # not reduce-only: untouched
        sim.fill_order(last["id"])
        assert sim.position(BTC) == 0
        assert min(q for _, q in sim.positions["BTCUSDT"].history) >= 0


# ------------------------------------------------------------------ 1. lagging views


def test_lagging_views_show_the_old_position_and_order_after_a_fill() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.advance(10)
        sim.fault_lagging_views(5)
        sim.fill_order(order["id"])
        assert sim.position(BTC) == pytest.approx(0.002)
        raw = _raw(api, "fapiPrivateV3GetPositionRisk", {"symbol": "BTCUSDT"})
        assert raw == [] or float(raw[0]["positionAmt"]) == 0  # the view lags the fill
        assert api.fetch_order(order["id"], BTC)["status"] == "open"
        assert [o["id"] for o in api.fetch_open_orders(BTC)] == [order["id"]]
        # the all-orders list is a view too (one eventually consistent order store)
        [listed] = [o for o in api.fetch_orders(BTC) if o["id"] == order["id"]]
        assert listed["status"] == "open" and listed["filled"] == 0
        sim.advance(5)
        raw = _raw(api, "fapiPrivateV3GetPositionRisk", {"symbol": "BTCUSDT"})
        assert float(raw[0]["positionAmt"]) == pytest.approx(0.002)
        assert api.fetch_order(order["id"], BTC)["status"] == "closed"
        assert api.fetch_open_orders(BTC) == []
        # a brand-new order is not yet known to a lagging status view
        fresh = _maker_buy(api, sim)
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order(fresh["id"], BTC)


def test_lagging_views_can_be_set_per_view() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.advance(20)
        sim.fault_lagging_views(10, views=("position",))
        sim.fill_order(order["id"])
        assert api.fetch_order(order["id"], BTC)["status"] == "closed"
        raw = _raw(api, "fapiPrivateV3GetPositionRisk", {"symbol": "BTCUSDT"})
        assert raw == [] or float(raw[0]["positionAmt"]) == 0


# ------------------------------------------------------------------ 5. unknown outcomes


@pytest.mark.parametrize(
    ("kind", "error"), [("503", ccxt.OperationFailed), ("-1007", ccxt.RequestTimeout)]
)
def test_unknown_outcome_create_is_placed(kind: str, error: type[Exception]) -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        sim.fault_unknown_create(1, kind=kind)
        with pytest.raises(error) as info:
            _maker_buy(api, sim, newClientOrderId="gg-unknown-1")
        assert ("Unknown error" if kind == "503" else "-1007") in str(info.value)
        [placed] = sim.open_orders(BTC)  # the order IS on the book
        found = api.fetch_order(None, BTC, {"origClientOrderId": "gg-unknown-1"})
        assert found["id"] == str(placed.order_id)


# ------------------------------------------------------------------ 7. stricter answers


@pytest.mark.parametrize("cid", ["has space", "x" * 37, "bad#char", "ünicode"])
def test_client_order_id_format_is_enforced(cid: str) -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim), pytest.raises(ccxt.BadRequest, match="-1100"):
        _raw(api, "fapiPrivatePostOrder", {
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX",
            "quantity": "0.002", "price": "49000", "newClientOrderId": cid})
    assert sim.orders == []


def test_client_order_id_legal_characters_are_accepted() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim, newClientOrderId="a.B:c/d_e-" + "9" * 25)
        assert order["clientOrderId"] == "a.B:c/d_e-" + "9" * 25


def test_malformed_order_id_answers_1100() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim), pytest.raises(ccxt.BadRequest, match="-1100"):
        api.fetch_order("not-a-number", BTC)


def test_timestamp_outside_recv_window_answers_1021() -> None:
    sim = SimExchange(check_recv_window=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        assert api.fetch_open_orders(BTC) == []  # sim clock == wall clock: accepted
        sim.advance(30)  # the bot's clock is now 30 s behind the server's
        with pytest.raises(ccxt.InvalidNonce, match="-1021"):
            api.fetch_open_orders(BTC)


def test_rate_limit_burst_and_ban() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        sim.fault_rate_limit(2)
        for _ in range(2):
            with pytest.raises(ccxt.DDoSProtection):
                api.fetch_open_orders(BTC)
        assert api.fetch_open_orders(BTC) == []
        sim.fault_rate_limit(ban_s=60)
        with pytest.raises(ccxt.DDoSProtection):
            api.fetch_open_orders(BTC)
        assert sim.requests[-1].status == 418
        sim.advance(61)
        assert api.fetch_open_orders(BTC) == []


def test_hedge_mode_position_side_is_rejected_in_one_way_mode() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        bid, _ = sim.best_bid_ask(BTC)
        with pytest.raises(ccxt.OperationRejected, match="-4061"):
            api.create_order(BTC, "limit", "buy", 0.002, bid, {"positionSide": "LONG"})
        with pytest.raises(ccxt.OperationRejected, match="-4059"):
            api.set_position_mode(False, BTC)


def test_partial_fill_from_the_price_path() -> None:
    sim = SimExchange(touch_fill_qty=0.001)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim, qty=0.003)
        price = sim.order(order["id"]).price
        sim.set_price(BTC, price)  # touched: only the queue's share fills
        got = api.fetch_order(order["id"], BTC)
        assert got["status"] == "open" and got["filled"] == pytest.approx(0.001)
        sim.set_price(BTC, price - 10)  # traded through: the rest fills
        assert api.fetch_order(order["id"], BTC)["status"] == "closed"


# ------------------------------------------------------------------ 6. stop orders (algo API)


def test_stop_market_goes_to_the_algo_api_and_triggers_a_market_fill() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(sim, api, 0.004)
        price = sim.price(BTC)
        with pytest.raises(ccxt.OrderImmediatelyFillable):  # -2021: already crossed
            api.create_order(BTC, "stop_market", "sell", 0.004, None,
                             {"triggerPrice": price + 100, "reduceOnly": True})
        stop = api.create_order(BTC, "stop_market", "sell", 0.004, None,
                                {"triggerPrice": price - 100, "reduceOnly": True})
        assert sim.requests[-1].path == "/fapi/v1/algoOrder"
        assert api.fetch_order(stop["id"], BTC, {"trigger": True})["status"] == "open"
        assert [o["id"] for o in api.fetch_open_orders(BTC, None, None, {"trigger": True})] == [
            stop["id"]]
        sim.set_price(BTC, price - 150)
        done = api.fetch_order(stop["id"], BTC, {"trigger": True})
        assert done["status"] == "closed"
        actual = api.fetch_order(done["info"]["actualOrderId"], BTC)
        assert actual["status"] == "closed" and actual["filled"] == pytest.approx(0.004)
        assert sim.position(BTC) == 0
        # the old endpoint refuses conditional types, as Binance does since the migration.
        # What ccxt raises for that answer depends on the installed ccxt: from 4.5.85 on it maps
        # -4120 on the futures endpoints to InvalidOrder; up to 4.5.84 (the ccxt of Freqtrade
        # 2026.9 and of every older release) it raises its generic ExchangeError, the base of
        # InvalidOrder. The simulator's answer (code, message, HTTP 400) is the same for both.
        refused = (ccxt.InvalidOrder if Version(ccxt.__version__) >= Version("4.5.85")
                   else ccxt.ExchangeError)
        orders = len(sim.orders)
        with pytest.raises(refused, match="-4120"):
            _raw(api, "fapiPrivatePostOrder", {"symbol": "BTCUSDT", "side": "SELL",
                                               "type": "STOP_MARKET", "quantity": "0.001",
                                               "stopPrice": "1000"})
        assert sim.requests[-1].path == "/fapi/v1/order" and sim.requests[-1].status == 400
        assert len(sim.orders) == orders


def test_stop_market_cancel_and_expiry_without_position() -> None:
    sim = SimExchange()
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(sim, api, 0.002)
        price = sim.price(BTC)
        stop = api.create_order(BTC, "stop_market", "sell", 0.002, None,
                                {"triggerPrice": price - 100, "reduceOnly": True})
        api.cancel_order(stop["id"], BTC, {"trigger": True})
        assert api.fetch_order(stop["id"], BTC, {"trigger": True})["status"] == "canceled"
        with pytest.raises(ccxt.OrderNotFound):
            api.cancel_order(stop["id"], BTC, {"trigger": True})
        again = api.create_order(BTC, "stop_market", "sell", 0.002, None,
                                 {"triggerPrice": price - 100, "reduceOnly": True})
        api.create_order(BTC, "market", "sell", 0.002, None, {"reduceOnly": True})
        sim.set_price(BTC, price - 150)  # triggers with no position: nothing to reduce
        assert api.fetch_order(again["id"], BTC, {"trigger": True})["status"] == "expired"
        assert sim.position(BTC) == 0


def test_freqtrade_stoploss_on_exchange_runs_against_the_simulator() -> None:
    from tests.harness import sim_bot

    with sim_bot() as (sim, bot):
        bot.exchange.create_order(pair=BTC, ordertype="market", side="buy", amount=0.002,
                                  rate=sim.price(BTC), leverage=1)
        price = sim.price(BTC)
        order = bot.exchange.create_stoploss(
            pair=BTC, amount=0.002, stop_price=price - 100,
            order_types={"stoploss": "market", "stoploss_on_exchange": True,
                         "stoploss_price_type": "last"},
            side="sell", leverage=1.0,
        )
        assert sim.open_algo_orders(BTC)[0].reduce_only
        assert bot.exchange.fetch_stoploss_order(order["id"], BTC)["status"] == "open"
        sim.set_price(BTC, price - 150)
        done = bot.exchange.fetch_stoploss_order(order["id"], BTC)
        assert done["status"] == "closed" and done["status_stop"] == "triggered"
        assert done["filled"] == pytest.approx(0.002)
        assert sim.position(BTC) == 0
