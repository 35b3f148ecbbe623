"""The simulator's Binance spot face answers as Binance spot documents, through REAL ccxt.

One test per modelled rule (sources quoted in ghostsim/venues/binance_spot_model.py and
docs/sim-venues/binance-spot.md), then Freqtrade's own unmodified ``Binance`` class in spot mode
running a live bot on it, then the loopback server path.
"""

from __future__ import annotations

import socket
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ccxt
import pytest
from freqtrade.exceptions import InvalidOrderException, TemporaryError
from freqtrade.persistence import Trade
from freqtrade.rpc import RPC

from ghostsim import SimExchange, route_ccxt_to
from ghostsim.rules import DAY_MS
from ghostsim.server import serve
from ghostsim.venues.binance_spot import PROFILE
from tests.conftest import guard_locks
from tests.harness import run_loop, sim_bot
from tests.strategies import ScriptedMakerStrategy as scripted


BTC = "BTC/USDT"
DAY_S = 86_400


def _sim(**kwargs: Any) -> SimExchange:
    return SimExchange(venue="binance-spot", symbols=("BTC/USDT", "ETH/USDT"), **kwargs)


def _api(sim: SimExchange, server_url: str | None = None) -> ccxt.binance:
    config = PROFILE.ccxt_config(server_url)
    config.update(apiKey=sim.SIM_API_KEY, secret=sim.SIM_API_SECRET)
    return ccxt.binance(config)


def _maker_buy(api: ccxt.binance, sim: SimExchange, qty: float = 0.002, **params: Any) -> Any:
    bid, _ = sim.best_bid_ask(BTC)
    return api.create_order(BTC, "limit", "buy", qty, bid, {"postOnly": True, **params})


def _bought(api: ccxt.binance, sim: SimExchange, qty: float = 0.002) -> Any:
    order = _maker_buy(api, sim, qty)
    sim.fill_order(order["id"])
    return order


def _raw_order(api: ccxt.binance, sim: SimExchange, **params: Any) -> Any:
    bid, _ = sim.best_bid_ask(BTC)
    request = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER",
               "quantity": "0.00200", "price": f"{bid:.2f}", **params}
    return api.privatePostOrder(request)


def _last_create(sim: SimExchange) -> dict[str, str]:
    return next(r[2] for r in reversed(sim.face.requests)
                if r[0] == "POST" and r[1] == "/api/v3/order")


# ------------------------------------------------------------------ markets and balances


def test_markets_are_spot_with_spot_filters_and_the_quote_balance() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        markets = api.load_markets()
        assert sorted(markets) == ["BTC/USDT", "ETH/USDT"]
        market = markets[BTC]
        assert market["spot"] and not market["contract"]
        assert market["precision"]["amount"] == 0.00001
        assert market["precision"]["price"] == 0.01
        assert market["limits"]["cost"]["min"] == 5.0  # the NOTIONAL filter
        balance = api.fetch_balance()
        assert balance["USDT"] == {"free": 100000.0, "used": 0.0, "total": 100000.0}
        assert balance["BTC"]["total"] == 0.0
    assert sim.unknown_requests == [] and sim.face.unknown_requests == []


def test_resting_orders_lock_their_balance() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim, 0.002)
        assert _last_create(sim)["type"] == "LIMIT_MAKER"  # ccxt's postOnly on spot
        assert order["type"] == "limit" and order["postOnly"] is True
        locked = 0.002 * order["price"]
        assert api.fetch_balance()["USDT"]["used"] == pytest.approx(locked)
        sim.fill_order(order["id"])
        _, ask = sim.best_bid_ask(BTC)
        sell = api.create_order(BTC, "limit", "sell", 0.0015, ask + 10, {"postOnly": True})
        balance = api.fetch_balance()
        assert balance["BTC"]["used"] == pytest.approx(0.0015)
        assert balance["BTC"]["free"] == pytest.approx(0.001998 - 0.0015)
        api.cancel_order(sell["id"], BTC)
        assert api.fetch_balance()["BTC"]["free"] == pytest.approx(0.001998)


# ------------------------------------------------------------------ fees in the asset received


def test_buy_fee_is_in_the_base_asset_and_sell_fee_in_the_quote() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        buy = _bought(api, sim, 0.002)
        [trade] = api.fetch_my_trades(BTC)
        assert trade["fee"] == {"currency": "BTC", "cost": pytest.approx(0.000002)}
        assert api.fetch_balance()["BTC"]["total"] == pytest.approx(0.001998)  # the dust
        usdt = 100000.0 - 0.002 * buy["price"]
        assert api.fetch_balance()["USDT"]["total"] == pytest.approx(usdt)
        _, ask = sim.best_bid_ask(BTC)
        sell = api.create_order(BTC, "limit", "sell", 0.00199, ask, {"postOnly": True})
        sim.fill_order(sell["id"])
        rows = api.privateGetMyTrades({"symbol": "BTCUSDT"})
        assert [(r["commissionAsset"], float(r["commission"])) for r in rows] == [
            ("BTC", pytest.approx(0.000002)), ("USDT", pytest.approx(0.00199 * ask * 0.001))]
        balance = api.fetch_balance()
        assert balance["BTC"]["total"] == pytest.approx(0.000008)
        assert balance["USDT"]["total"] == pytest.approx(usdt + 0.00199 * ask * 0.999)
        assert sim.position(BTC) >= 0  # the engine's position stands for the holding


def test_market_orders_take_and_pay_the_fee_in_the_asset_received() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        _, ask = sim.best_bid_ask(BTC)
        order = api.create_order(BTC, "market", "buy", 0.001)
        assert order["status"] == "closed" and order["average"] == pytest.approx(ask)
        assert order["fee"]["currency"] == "BTC"  # from the FULL answer's fills
        # quoteOrderQty: the quantity that spends at most that much, on the LOT_SIZE step
        order = api.create_order(BTC, "market", "buy", None, None, {"cost": 100})
        assert order["filled"] == pytest.approx(0.00199)  # 100 / 50000.01 floored to the step


# ------------------------------------------------------------------ -2010 rejections


def test_crossing_limit_maker_is_rejected_2010_and_not_placed() -> None:
    for mode in ("reject", "expire"):  # spot never expires it, whatever the engine's knob
        sim = _sim(post_only_mode=mode)  # type: ignore[arg-type]
        api = _api(sim)
        with route_ccxt_to(sim):
            _, ask = sim.best_bid_ask(BTC)
            with pytest.raises(ccxt.OrderImmediatelyFillable,
                               match="Order would immediately match and take"):
                api.create_order(BTC, "limit", "buy", 0.002, ask, {"postOnly": True})
            assert sim.orders == []
            assert api.fetch_balance()["USDT"]["used"] == 0.0


def test_insufficient_balance_is_2010_for_both_sides() -> None:
    sim = _sim(balance=100.0)
    api = _api(sim)
    with route_ccxt_to(sim):
        _, ask = sim.best_bid_ask(BTC)
        with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):  # no BTC
            api.create_order(BTC, "limit", "sell", 0.001, ask, {"postOnly": True})
        assert '"code": -2010' in api.last_http_response
        with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
            _maker_buy(api, sim, 0.003)  # 150 USDT > 100
        _maker_buy(api, sim, 0.0015)  # 75 USDT, now locked
        with pytest.raises(ccxt.InsufficientFunds):
            _maker_buy(api, sim, 0.0006)  # 30 USDT > the 25 still free
        with pytest.raises(ccxt.InsufficientFunds):
            api.create_order(BTC, "market", "buy", 0.001)
    assert sim.position(BTC) == 0


def test_duplicate_client_id_among_open_orders_is_2010_and_pattern_is_1100() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        first = _maker_buy(api, sim, clientOrderId="entry-1")
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            _maker_buy(api, sim, clientOrderId="entry-1")
        sim.fill_order(first["id"])
        again = _maker_buy(api, sim, clientOrderId="entry-1")  # unique among OPEN orders only
        assert again["clientOrderId"] == "entry-1"
        with pytest.raises(ccxt.BadRequest, match="-1100"):
            _maker_buy(api, sim, clientOrderId="bad id!")


# ------------------------------------------------------------------ filters (-1013)


def test_filters_answer_1013_with_the_filter_name() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        with pytest.raises(ccxt.InvalidOrder, match="Filter failure: LOT_SIZE"):
            _raw_order(api, sim, quantity="0.000015")  # off the 0.00001 step
        with pytest.raises(ccxt.InvalidOrder, match="Filter failure: PRICE_FILTER"):
            _raw_order(api, sim, price="49999.995")  # off the 0.01 tick
        with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
            _raw_order(api, sim, quantity="0.00009")  # 4.5 USDT < 5
        with pytest.raises(ccxt.BadRequest, match="-1111"):
            _raw_order(api, sim, quantity="0.000000001")
        assert sim.orders == []


def test_reduce_only_is_an_unread_parameter_on_spot_1104() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        _bought(api, sim)
        _, ask = sim.best_bid_ask(BTC)
        with pytest.raises(ccxt.BadRequest, match="-1104"):  # ccxt passes reduceOnly through
            api.create_order(BTC, "limit", "sell", 0.001, ask, {"reduceOnly": True})
        with pytest.raises(ccxt.BadRequest, match="-1106"):
            _raw_order(api, sim, timeInForce="GTC")  # LIMIT_MAKER takes no timeInForce


# ------------------------------------------------------------------ unknown orders


def test_unknown_order_is_2013_on_query_and_2011_on_cancel() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        with pytest.raises(ccxt.OrderNotFound, match="-2013"):
            api.fetch_order("123", BTC)
        with pytest.raises(ccxt.OrderNotFound, match="-2011"):
            api.cancel_order("123", BTC)
        order = _bought(api, sim)
        with pytest.raises(ccxt.OrderNotFound, match="Unknown order sent"):
            api.cancel_order(order["id"], BTC)  # filled: nothing left to cancel
        by_client = api.fetch_order(None, BTC, {"origClientOrderId": order["clientOrderId"]})
        assert by_client["id"] == order["id"] and by_client["status"] == "closed"


# ------------------------------------------------------------------ archival (-2026)


def test_cancelled_unfilled_order_is_found_for_90_days_then_2026() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        api.cancel_order(order["id"], BTC)
        sim.advance(5 * DAY_S)  # USD-M would have archived it after 3 days; spot keeps it
        assert api.fetch_order(order["id"], BTC)["status"] == "canceled"
        assert [o["id"] for o in api.fetch_orders(BTC)] == [order["id"]]
        sim.advance(85 * DAY_S - 60)
        assert api.fetch_order(order["id"], BTC)["status"] == "canceled"
        sim.advance(120)
        with pytest.raises(ccxt.InvalidOrder, match="-2026"):
            api.fetch_order(order["id"], BTC)
        assert api.fetch_orders(BTC) == []


def test_filled_orders_are_never_archived() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _bought(api, sim)
        sim.advance(200 * DAY_S)
        assert api.fetch_order(order["id"], BTC)["status"] == "closed"


# ------------------------------------------------------------------ 24-hour windows


def test_my_trades_window_is_24_hours_and_combinations_are_checked() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        start = sim.now_ms - 2 * DAY_MS
        with pytest.raises(ccxt.BadRequest, match="More than 24 hours"):
            api.fetch_my_trades(BTC, start, None, {"until": start + DAY_MS + 1})
        assert api.fetch_my_trades(BTC, start, None, {"until": start + DAY_MS}) == []
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            api.privateGetMyTrades({"symbol": "BTCUSDT", "fromId": 1, "startTime": start})
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            api.privateGetMyTrades({"symbol": "BTCUSDT", "orderId": 1, "startTime": start})


def test_my_trades_without_times_are_the_most_recent_whatever_their_age() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        first = _bought(api, sim, 0.002)
        t0 = sim.now_ms
        sim.advance(10 * DAY_S)  # USD-M's default window (7 days) would hide it
        _bought(api, sim, 0.003)
        rows = api.privateGetMyTrades({"symbol": "BTCUSDT"})
        assert [r["qty"] for r in rows] == ["0.00200000", "0.00300000"]
        rows = api.privateGetMyTrades({"symbol": "BTCUSDT", "limit": 1})
        assert [r["qty"] for r in rows] == ["0.00300000"]  # the most recent
        rows = api.privateGetMyTrades({"symbol": "BTCUSDT", "startTime": t0 - 1, "limit": 1})
        assert [r["qty"] for r in rows] == ["0.00200000"]  # the oldest from startTime
        rows = api.privateGetMyTrades({"symbol": "BTCUSDT", "orderId": first["id"]})
        assert len(rows) == 1


def test_all_orders_window_is_24_hours() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        start = sim.now_ms - 2 * DAY_MS
        with pytest.raises(ccxt.BadRequest, match="More than 24 hours"):
            api.fetch_orders(BTC, start, None, {"until": start + DAY_MS + 1})
        order = _maker_buy(api, sim)
        rows = api.fetch_orders(BTC, sim.now_ms - 1, None, {"until": sim.now_ms + DAY_MS - 1})
        assert [o["id"] for o in rows] == [order["id"]]


# ------------------------------------------------------------------ engine faults apply


def test_engine_faults_and_records_apply_on_spot() -> None:
    sim = _sim()
    api = _api(sim)
    with route_ccxt_to(sim):
        sim.fault_lost_create()
        with pytest.raises(ccxt.RequestTimeout):
            _maker_buy(api, sim)
        [placed] = sim.orders  # the order IS placed: a lost answer, not a lost order
        assert api.fetch_open_orders(BTC)[0]["id"] == str(placed.order_id)
        sim.fault_fail("GET", "/fapi/v1/order", code=-1001, http=503)
        with pytest.raises(ccxt.OperationFailed):
            api.fetch_order(str(placed.order_id), BTC)
        sim.fault_fill_during_cancel(placed.order_id)
        with pytest.raises(ccxt.OrderNotFound):
            api.cancel_order(str(placed.order_id), BTC)
        assert api.fetch_balance()["BTC"]["total"] == pytest.approx(0.001998)
    assert sim.count("POST", "/fapi/v1/order") == 1


# ------------------------------------------------------------------ Freqtrade, unmodified


SPOT_STRATEGY = '''
from tests.strategies.ScriptedMakerStrategy import ScriptedMakerStrategy


class SpotScriptedMakerStrategy(ScriptedMakerStrategy):
    """The guarded scripted maker, long only (spot cannot short)."""

    can_short = False
    position_adjustment_enable = False
'''




def _round_trip(sim: SimExchange, bot: Any) -> Trade:
    """Entry (LIMIT_MAKER) filled, then a forced exit (LIMIT_MAKER) filled; the closed trade."""
    assert run_loop(bot) == []
    [entry] = sim.open_orders()
    assert (entry.side, entry.time_in_force) == ("BUY", "GTX")
    assert _last_create(sim)["type"] == "LIMIT_MAKER"
    sim.fill_order(entry.order_id)
    assert run_loop(bot) == []
    [trade] = Trade.get_open_trades()
    [booked] = trade.orders
    assert booked.ft_fee_base == pytest.approx(entry.orig_qty * 0.001)  # Freqtrade's fee
    held = sim.face.ledger.totals["BTC"]
    assert held == pytest.approx(entry.orig_qty * 0.999)
    assert trade.amount <= held and trade.amount == pytest.approx(held, abs=0.00001)
    RPC(bot)._rpc_force_exit(str(trade.id), ordertype="limit")
    [exit_order] = sim.open_orders()
    assert exit_order.side == "SELL" and exit_order.orig_qty == pytest.approx(trade.amount)
    assert _last_create(sim)["type"] == "LIMIT_MAKER"
    sim.fill_order(exit_order.order_id)
    assert run_loop(bot) == []
    closed = Trade.get_trades_proxy(is_open=False)
    assert len(closed) == 1 and Trade.get_open_trades() == []
    assert sim.face.ledger.totals["BTC"] == pytest.approx(held - trade.amount)  # dust only
    return closed[0]


def test_freqtrade_binance_spot_runs_unmodified_on_the_face() -> None:
    sim = SimExchange(venue="binance-spot", symbols=("BTC/USDT",))
    config = {"ghost_guard": {"enabled": True}, "exchange": {"pair_whitelist": [BTC]}}
    with sim_bot(sim=sim, strategy="PlainMakerStrategy", extra_config=config) as (_, bot):
        assert bot.exchange.trading_mode.value == "spot"
        assert type(bot.exchange).__name__ == "Binance"
        _round_trip(sim, bot)
        assert guard_locks(BTC) == []
    assert sim.unknown_requests == [] and sim.face.unknown_requests == []


def test_guarded_long_only_strategy_round_trip_on_spot(tmp_path: Path) -> None:
    (tmp_path / "SpotScriptedMakerStrategy.py").write_text(textwrap.dedent(SPOT_STRATEGY))
    scripted.SCRIPT.update(enter_long=1, exit_long=0)
    sim = SimExchange(venue="binance-spot", symbols=("BTC/USDT",))
    config = {"ghost_guard": {"enabled": True, "replacement_cooldown_s": 0.0},
              "exchange": {"pair_whitelist": [BTC]}}
    with sim_bot(sim=sim, strategy="SpotScriptedMakerStrategy", strategy_path=tmp_path,
                 extra_config=config) as (_, bot):
        assert bot.strategy.ghost_guard is not None
        _round_trip(sim, bot)
        assert guard_locks(BTC) == []
    assert sim.unknown_requests == [] and sim.face.unknown_requests == []


def test_freqtrade_sees_a_crossing_limit_maker_as_invalid_order() -> None:
    sim = SimExchange(venue="binance-spot", symbols=("BTC/USDT",))
    config = {"exchange": {"pair_whitelist": [BTC]}}
    with sim_bot(sim=sim, strategy="PlainMakerStrategy", extra_config=config) as (_, bot):
        _, ask = sim.best_bid_ask(BTC)
        with pytest.raises(InvalidOrderException, match="immediately match and take") as info:
            bot.exchange.create_order(pair=BTC, ordertype="limit", side="buy", amount=0.002,
                                      rate=ask, leverage=1.0, time_in_force="PO")
        # the same ccxt class real Binance spot's answer gives (message table, spot URL)
        assert isinstance(info.value.__cause__, ccxt.OrderImmediatelyFillable)
        assert sim.orders == []


def test_a_seven_day_trades_page_is_refused_on_spot() -> None:
    """What the guard's trade reading (ghostguard/venue.py `traded`, 7-day pages for orders
    older than 7 days) sends through Freqtrade: spot answers -1127 beyond 24 hours."""
    sim = SimExchange(venue="binance-spot", symbols=("BTC/USDT",))
    config = {"exchange": {"pair_whitelist": [BTC]}}
    with sim_bot(sim=sim, strategy="PlainMakerStrategy", extra_config=config) as (_, bot):
        since = datetime.fromtimestamp(sim.now_ms / 1000 - 8 * DAY_S, UTC)
        week_later = int(since.timestamp() * 1000) + 7 * DAY_MS - 60_000
        with pytest.raises(TemporaryError, match="More than 24 hours"):
            bot.exchange.get_trades_for_order("1", BTC, since, params={"endTime": week_later})
        day_later = int(since.timestamp() * 1000) + DAY_MS - 10_000  # Freqtrade starts 5 s early
        assert bot.exchange.get_trades_for_order("1", BTC, since,
                                                 params={"endTime": day_later}) == []


# ------------------------------------------------------------------ the loopback server


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_server_speaks_spot_over_loopback(tls: bool) -> None:
    sim = _sim(seed=3)
    running = serve(sim, 0, schedule=[], drive=False, tls=tls)
    try:
        api = _api(sim, running.url)
        assert "BTC/USDT" in api.load_markets()
        assert api.fetch_balance()["USDT"]["total"] == 100000.0
        bid, ask = sim.best_bid_ask(BTC)
        order = api.create_order(BTC, "limit", "buy", 0.002, bid, {"postOnly": True})
        assert api.fetch_order(order["id"], BTC)["status"] == "open"
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            api.create_order(BTC, "limit", "buy", 0.002, ask, {"postOnly": True})
        with pytest.raises(ccxt.InsufficientFunds):
            api.create_order(BTC, "limit", "sell", 0.002, ask, {"postOnly": True})
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order("123", BTC)
        assert api.cancel_order(order["id"], BTC)["status"] == "canceled"
        bad = ccxt.binance({**PROFILE.ccxt_config(running.url), "apiKey": sim.SIM_API_KEY,
                            "secret": "wrong-secret-0123"})
        with pytest.raises(ccxt.AuthenticationError):
            bad.fetch_balance()
    finally:
        running.stop()
    with socket.socket() as probe:  # stopped: nothing listens on the port any more
        assert probe.connect_ex(("127.0.0.1", running.port)) != 0
    assert sim.face.unknown_requests == []
