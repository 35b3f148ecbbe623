"""The simulator's Bybit v5 face (linear, one-way, UTA) answers as Bybit documents, driven
through REAL ccxt bybit; and Freqtrade's own, unmodified Bybit class runs a live bot on it.

One test per documented rule (sources quoted in ghostsim/venues/bybit_orders.py and bybit.py,
table in docs/sim-venues/bybit.md).
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest
from freqtrade.persistence import Trade
from packaging.version import Version

from ghostsim import SimExchange, route_ccxt_to
from ghostsim.server import serve
from ghostsim.venues import profile
from ghostsim.venues.bybit_orders import REALTIME_CLOSED_KEPT
from tests.harness import run_loop, sim_bot


BTC = "BTC/USDT:USDT"
DAY_S = 86_400
DAY_MS = 86_400_000
ACK = {"acknowledged": True}


def _sim(**kwargs: Any) -> SimExchange:
    return SimExchange(venue="bybit", symbols=("BTC/USDT:USDT", "ETH/USDT:USDT"), **kwargs)


def _api(sim: SimExchange, secret: str | None = None) -> ccxt.bybit:
    config = profile("bybit").ccxt_config(None)
    config.update(apiKey=sim.SIM_API_KEY, secret=secret or sim.SIM_API_SECRET)
    return ccxt.bybit(config)


def _maker_buy(api: ccxt.bybit, sim: SimExchange, qty: float = 0.002, **params: Any) -> Any:
    bid, _ = sim.best_bid_ask(BTC)
    return api.create_order(BTC, "limit", "buy", qty, bid, {"timeInForce": "PO", **params})


def _long(api: ccxt.bybit, sim: SimExchange, qty: float = 0.004) -> None:
    before = sim.position(BTC)
    api.create_order(BTC, "market", "buy", qty)
    assert sim.position(BTC) == pytest.approx(before + qty)


def _raw(api: ccxt.bybit, method: str, params: dict[str, Any]) -> Any:
    return getattr(api, method)({"category": "linear", **params})["result"]


# ------------------------------------------------------------------ signing


def test_signing_bad_key_and_bad_signature() -> None:
    sim = _sim()
    with route_ccxt_to(sim):
        with pytest.raises(ccxt.AuthenticationError, match="10004"):
            _api(sim, secret="wrong-secret-0123").fetch_balance()
        bad_key = _api(sim)
        bad_key.apiKey = "not-the-key"
        with pytest.raises(ccxt.AuthenticationError, match="10003"):
            bad_key.fetch_positions([BTC])
        assert _api(sim).fetch_balance()["USDT"]["total"] == pytest.approx(100000)
    assert sim.unknown_requests == [] and sim.face.unknown_requests == []


def test_unknown_route_is_recorded_by_the_face() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        with pytest.raises(ccxt.BadRequest, match="10017"):
            api.privatePostV5OrderAmend({"category": "linear", "symbol": "BTCUSDT"})
    assert [r.path for r in sim.face.unknown_requests] == ["/v5/order/amend"]


# ------------------------------------------------------------------ not found


def test_cancel_of_an_unknown_or_closed_order_is_110001() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        with pytest.raises(ccxt.OrderNotFound, match="110001"):
            api.cancel_order("123456", BTC)
        order = _maker_buy(api, sim)
        api.cancel_order(order["id"], BTC)
        with pytest.raises(ccxt.OrderNotFound, match="110001"):
            api.cancel_order(order["id"], BTC)
    assert sim.count("DELETE", "/fapi/v1/order") == 3  # through the engine's route


def test_query_for_an_unknown_order_is_an_empty_list() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        assert _raw(api, "privateGetV5OrderRealtime",
                    {"symbol": "BTCUSDT", "orderId": "424242"})["list"] == []
        assert _raw(api, "privateGetV5OrderHistory",
                    {"symbol": "BTCUSDT", "orderId": "424242"})["list"] == []
        with pytest.raises(ccxt.OrderNotFound):  # ccxt turns the empty list into OrderNotFound
            api.fetch_order("424242", BTC, ACK)


def test_freqtrade_fetch_order_params_are_answered() -> None:
    """Freqtrade's Bybit.fetch_order replaces params with {"acknowledged": True}: ccxt asks
    /v5/order/realtime by orderId; a cancelled unfilled order reads remaining=None."""
    sim = _sim()
    with sim_bot(sim=sim, strategy="PlainMakerStrategy", extra_config={
            "exchange": {"pair_whitelist": [BTC]}}) as (_, bot):
        run_loop(bot)
        [order] = sim.orders
        assert bot.exchange.fetch_order(str(order.order_id), BTC)["status"] == "open"
        sim.cancel_on_exchange(order.order_id)
        got = bot.exchange.fetch_order(str(order.order_id), BTC)
        assert got["status"] == "canceled" and got["filled"] == 0 and got["remaining"] is None
        assert got["info"]["cancelType"] == "CancelByUser"


# ------------------------------------------------------------------ post-only


def test_post_only_that_would_cross_is_accepted_then_cancelled() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        _, ask = sim.best_bid_ask(BTC)
        placed = api.create_order(BTC, "limit", "buy", 0.002, ask + 10, {"timeInForce": "PO"})
        assert placed["id"]  # retCode 0 with an orderId
        got = api.fetch_order(placed["id"], BTC, ACK)
        assert got["status"] == "canceled" and got["filled"] == 0
        assert got["info"]["orderStatus"] == "Cancelled"
        assert got["info"]["rejectReason"] == "EC_PostOnlyWillTakeLiquidity"
        assert got["info"]["timeInForce"] == "PostOnly"
        assert sim.position(BTC) == 0


def test_freqtrade_sees_a_crossing_post_only_entry_cancelled() -> None:
    sim = SimExchange(venue="bybit", symbols=(BTC,))
    extra = {"exchange": {"pair_whitelist": [BTC]},
             # the entry priced at the ask (other side): a post-only buy there would take
             "entry_pricing": {"price_side": "other"}}
    with sim_bot(sim=sim, strategy="PlainMakerStrategy", extra_config=extra) as (_, bot):
        assert run_loop(bot) == []
        [order] = sim.orders
        assert order.status == "EXPIRED" and order.executed_qty == 0
        seen = bot.exchange.fetch_order(str(order.order_id), BTC)
        assert seen["status"] == "canceled" and seen["filled"] == 0
        assert run_loop(bot) == []
        # Freqtrade read the entry as cancelled on the exchange, removed its trade and entered
        # again: the open trade holds only the new order.
        first, second = sim.orders
        [trade] = Trade.get_open_trades()
        assert [o.order_id for o in trade.orders] == [str(second.order_id)]
        assert sim.position(BTC) == 0


# ------------------------------------------------------------------ orderLinkId


def test_order_link_id_format_and_uniqueness() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        for bad in ("x" * 37, "has space", "dot.ted"):
            with pytest.raises(ccxt.BadRequest, match="10001"):
                _maker_buy(api, sim, clientOrderId=bad)
        first = _maker_buy(api, sim, clientOrderId="A" * 36)
        assert first["clientOrderId"] == "A" * 36
        with pytest.raises(ccxt.InvalidOrder, match="110072"):  # open
            _maker_buy(api, sim, clientOrderId="A" * 36)
        api.cancel_order(first["id"], BTC)
        with pytest.raises(ccxt.InvalidOrder, match="110072"):  # closed: "always unique"
            _maker_buy(api, sim, clientOrderId="A" * 36)
        by_link = _raw(api, "privateGetV5OrderRealtime", {"symbol": "BTCUSDT",
                                                          "orderLinkId": "A" * 36})
        assert [o["orderId"] for o in by_link["list"]] == [first["id"]]


# ------------------------------------------------------------------ reduce-only, margin, lot


def test_reduce_only_that_cannot_reduce_is_110017() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        _, ask = sim.best_bid_ask(BTC)
        with pytest.raises(ccxt.InvalidOrder, match="110017"):  # no position
            api.create_order(BTC, "limit", "sell", 0.002, ask, {"reduceOnly": True})
        _long(api, sim, 0.002)
        with pytest.raises(ccxt.InvalidOrder, match="110017"):  # larger than the position
            api.create_order(BTC, "limit", "sell", 0.003, ask + 50, {"reduceOnly": True})
        ok = api.create_order(BTC, "limit", "sell", 0.002, ask + 50, {"reduceOnly": True})
        assert api.fetch_order(ok["id"], BTC, ACK)["reduceOnly"] is True


def test_insufficient_margin_min_notional_and_lot_rules() -> None:
    sim = _sim(balance=50.0)
    api = _api(sim)
    with route_ccxt_to(sim):
        market = api.load_markets()[BTC]
        assert market["limits"]["amount"]["min"] == 0.001
        assert market["precision"]["amount"] == 0.001 and market["precision"]["price"] == 0.1
        # Bybit's minimum order value, as its instruments-info answer carries it.
        assert float(market["info"]["lotSizeFilter"]["minNotionalValue"]) == 5
        if Version(ccxt.__version__) >= Version("4.5.77"):
            # ccxt reads it into limits.cost.min from 4.5.77 on; up to 4.5.76 (the ccxt of
            # Freqtrade 2026.8 and older) it leaves limits.cost.min None for Bybit linear
            # markets. The venue refuses a smaller order either way (110094 below).
            assert market["limits"]["cost"]["min"] == 5
        with pytest.raises(ccxt.InsufficientFunds, match="110007"):
            _maker_buy(api, sim, qty=0.1)
        cheap = SimExchange(venue="bybit", symbols=(BTC,), start_price={BTC: 1000.0})
    api2 = _api(cheap)
    with route_ccxt_to(cheap):
        bid, _ = cheap.best_bid_ask(BTC)
        with pytest.raises(ccxt.InvalidOrder, match="110094"):  # 0.001 * ~1000 < 5 USDT
            api2.create_order(BTC, "limit", "buy", 0.001, bid, {"timeInForce": "PO"})
        with pytest.raises(ccxt.BadRequest, match="10001"):  # above maxOrderQty
            api2.privatePostV5OrderCreate({"category": "linear", "symbol": "BTCUSDT",
                                           "side": "Buy", "orderType": "Limit",
                                           "qty": "200000", "price": str(bid)})


def test_off_step_qty_off_tick_price_and_unchanged_leverage() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        bid, _ = sim.best_bid_ask(BTC)
        raw = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
               "timeInForce": "PostOnly"}
        with pytest.raises(ccxt.BadRequest, match="10001"):  # qtyStep 0.001
            api.privatePostV5OrderCreate({**raw, "qty": "0.0025", "price": str(bid)})
        with pytest.raises(ccxt.BadRequest, match="10001"):  # tickSize 0.1
            api.privatePostV5OrderCreate({**raw, "qty": "0.002", "price": str(bid - 0.05)})
        api.set_leverage(3, BTC)
        with pytest.raises(ccxt.BadRequest, match="110043"):
            api.set_leverage(3, BTC)
        assert sim.positions["BTCUSDT"].leverage == 3


# ------------------------------------------------------------------ realtime retention


def test_realtime_open_only_by_default_closed_by_id_until_500_newer() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        first = _maker_buy(api, sim)
        api.cancel_order(first["id"], BTC)
        listed = _raw(api, "privateGetV5OrderRealtime", {"symbol": "BTCUSDT"})["list"]
        assert listed == []  # openOnly=0: open orders only
        with_closed = _raw(api, "privateGetV5OrderRealtime",
                           {"symbol": "BTCUSDT", "openOnly": 1})["list"]
        assert [o["orderId"] for o in with_closed] == [first["id"]]
        assert api.fetch_order(first["id"], BTC, ACK)["status"] == "canceled"
        bid, _ = sim.best_bid_ask(BTC)
        for _ in range(REALTIME_CLOSED_KEPT):  # 500 newer closed orders
            sim.advance(0.001)
            newer = sim.place_order(BTC, "buy", 0.002, bid - 100)
            sim.cancel_on_exchange(newer.order_id)
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order(first["id"], BTC, ACK)
        by_id = {"orderId": first["id"]}
        [history] = api.fetch_canceled_and_closed_orders(BTC, None, None, by_id)
        assert history["status"] == "canceled"  # order history still has it


def test_realtime_forgets_closed_orders_after_a_service_restart() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fill_order(order["id"])
        assert api.fetch_order(order["id"], BTC, ACK)["status"] == "closed"
        sim.face.service_restart()
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order(order["id"], BTC, ACK)
        assert api.fetch_closed_order(order["id"], BTC)["status"] == "closed"


# ------------------------------------------------------------------ history retention


def test_history_keeps_cancelled_unfilled_24h_filled_beyond_7_days() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        cancelled = _maker_buy(api, sim)
        api.cancel_order(cancelled["id"], BTC)
        filled = _maker_buy(api, sim)
        sim.fill_order(filled["id"])
        still_open = _maker_buy(api, sim, qty=0.003)
        ids = {o["id"] for o in api.fetch_canceled_and_closed_orders(BTC)}
        assert ids == {cancelled["id"], filled["id"]}  # closed statuses only (UTA)
        assert still_open["id"] not in ids
        sim.advance(DAY_S + 60)
        ids = {o["id"] for o in api.fetch_canceled_and_closed_orders(BTC)}
        assert ids == {filled["id"]}  # fully cancelled: last 24 hours only
        sim.advance(10 * DAY_S)
        assert api.fetch_canceled_and_closed_orders(BTC) == []  # default window: the last 7 days
        since = sim.now_ms - 12 * DAY_MS
        ids = {o["id"] for o in api.fetch_canceled_and_closed_orders(BTC, since)}
        assert ids == {filled["id"]}  # beyond 7 days: orders with fills only
        with pytest.raises(ccxt.BadRequest, match="10001"):
            api.fetch_canceled_and_closed_orders(BTC, since, None, {"until": since + 8 * DAY_MS})


# ------------------------------------------------------------------ executions window


def test_execution_list_window() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(api, sim, 0.002)
        t0 = sim.now_ms
        sim.advance(8 * DAY_S)
        _long(api, sim, 0.004)
        rows = _raw(api, "privateGetV5ExecutionList", {"symbol": "BTCUSDT"})["list"]
        assert [r["execQty"] for r in rows] == ["0.004"]  # neither time: the last 7 days
        rows = _raw(api, "privateGetV5ExecutionList",
                    {"symbol": "BTCUSDT", "startTime": t0 - 1})["list"]
        assert [r["execQty"] for r in rows] == ["0.002"]  # startTime .. +7 days
        with pytest.raises(ccxt.BadRequest, match="10001"):
            _raw(api, "privateGetV5ExecutionList",
                 {"symbol": "BTCUSDT", "startTime": t0 - DAY_MS, "endTime": sim.now_ms})
        first = next(t for t in api.fetch_my_trades(BTC, t0 - 1))
        by_order = _raw(api, "privateGetV5ExecutionList",
                        {"orderId": first["order"], "startTime": sim.now_ms - 1000})["list"]
        assert [r["execQty"] for r in by_order] == ["0.002"]  # orderId: the window is ignored


# ------------------------------------------------------------------ engine faults apply


def test_engine_faults_apply_through_the_face() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fault_not_found(int(order["id"]), count=1)
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order(order["id"], BTC, ACK)
        assert api.fetch_order(order["id"], BTC, ACK)["status"] == "open"
        sim.fault_lost_create()
        with pytest.raises(ccxt.RequestTimeout):
            _maker_buy(api, sim, qty=0.003)
        assert len(sim.open_orders(BTC)) == 2  # placed although the answer was lost


# ------------------------------------------------------------------ Freqtrade, unmodified


def test_freqtrade_bybit_class_runs_a_live_bot_entry_to_exit() -> None:
    sim = SimExchange(venue="bybit", symbols=(BTC,))
    extra = {"ghost_guard": {"enabled": True, "replacement_cooldown_s": 0.0},
             "exchange": {"pair_whitelist": [BTC]}}
    with sim_bot(sim=sim, strategy="PlainMakerStrategy", extra_config=extra) as (_, bot):
        assert type(bot.exchange).__name__ == "Bybit"
        assert bot.exchange.unified_account is True
        assert run_loop(bot) == []
        [entry] = sim.orders
        assert entry.time_in_force == "GTX" and entry.side == "BUY" and entry.is_open
        sim.fill_order(entry.order_id)
        assert run_loop(bot) == []
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(entry.orig_qty)
        assert sim.position(BTC) == pytest.approx(entry.orig_qty)
        bot.rpc._rpc._rpc_force_exit(str(trade.id))
        exits = [o for o in sim.orders if o.side == "SELL"]
        assert len(exits) == 1 and exits[0].reduce_only and exits[0].is_open
        sim.fill_order(exits[0].order_id)
        assert run_loop(bot) == []
        assert Trade.get_open_trades() == []
        assert sim.position(BTC) == 0
    assert sim.unknown_requests == []
    assert sim.face.unknown_requests == []


# ------------------------------------------------------------------ the server path


def test_server_path_real_ccxt_bybit_over_http() -> None:
    sim = SimExchange(venue="bybit", symbols=(BTC,), seed=3)
    running = serve(sim, 0, schedule=[], drive=False)
    try:
        config = profile("bybit").ccxt_config(running.url)
        config.update(apiKey=sim.SIM_API_KEY, secret=sim.SIM_API_SECRET)
        client = ccxt.bybit(config)
        assert list(client.load_markets()) == [BTC]
        assert client.fetch_balance()["USDT"]["free"] == pytest.approx(100000)
        bid, ask = sim.best_bid_ask(BTC)
        order = client.create_order(BTC, "limit", "buy", 0.002, bid, {"timeInForce": "PO"})
        assert client.fetch_order(order["id"], BTC, ACK)["status"] == "open"
        client.cancel_order(order["id"], BTC)
        assert client.fetch_order(order["id"], BTC, ACK)["status"] == "canceled"
        with pytest.raises(ccxt.OrderNotFound):
            client.cancel_order(order["id"], BTC)
        bad = ccxt.bybit({**profile("bybit").ccxt_config(running.url),
                          "apiKey": sim.SIM_API_KEY, "secret": "wrong-secret-0123"})
        with pytest.raises(ccxt.AuthenticationError):
            bad.fetch_positions([BTC])
    finally:
        running.stop()
    assert sim.face.unknown_requests == [] and sim.unknown_requests == []
