"""Round two of making the simulator as unkind as the venues (issue 19, items 1-9), each pinned
through REAL ccxt on every venue it concerns.

Sources are quoted where each rule lives (ghostsim.faultapi, ghostsim.readings,
ghostsim.ratelimit_tables / ratelimits, ghostsim.venues.ids, binance_spot_model); the table is in
docs/simulator.md, "Round two".
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from ghostsim import SimExchange, route_ccxt_to
from ghostsim.ratelimits import BAN_AFTER_429S
from ghostsim.server import serve
from ghostsim.venues import VENUES, profile


BTC = "BTC/USDT:USDT"
SPOT_BTC = "BTC/USDT"
DAY_S = 86_400
FUTURES = ("binance", "bybit", "okx")


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests reach no network (the loopback server test is exempt)."""
    if "server" in request.node.name:
        yield
        return

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def _sim(venue: str, **kwargs: Any) -> SimExchange:
    return SimExchange(venue=venue, symbols=profile(venue).symbols, **kwargs)


def _api(sim: SimExchange, server_url: str | None = None) -> Any:
    config = profile(sim.venue).ccxt_config(server_url)
    config.update(apiKey=sim.SIM_API_KEY, secret=sim.SIM_API_SECRET)
    if sim.venue == "okx":
        config["password"] = sim.SIM_API_PASSWORD
        config["options"]["defaultMarginMode"] = "isolated"
    if sim.venue == "binance":
        config["options"]["warnOnFetchOpenOrdersWithoutSymbol"] = False
    return getattr(ccxt, profile(sim.venue).exchange)(config)


def _symbol(sim: SimExchange) -> str:
    return SPOT_BTC if sim.venue == "binance-spot" else BTC


def _amount(sim: SimExchange, base: float) -> float:
    """A base quantity in the venue's ccxt amount (OKX: contracts of 0.01 BTC)."""
    return round(base / 0.01, 4) if sim.venue == "okx" else base


def _maker_buy(api: Any, sim: SimExchange, base: float = 0.002, **params: Any) -> Any:
    symbol = _symbol(sim)
    bid, _ = sim.best_bid_ask(symbol)
    return api.create_order(symbol, "limit", "buy", _amount(sim, base), bid,
                            {"postOnly": True, **params})


def _fetch(api: Any, sim: SimExchange, order_id: str) -> Any:
    params = {"acknowledged": True} if sim.venue == "bybit" else {}
    return api.fetch_order(order_id, _symbol(sim), params)


def _long(api: Any, sim: SimExchange, base: float = 0.004) -> None:
    api.create_order(BTC, "market", "buy", _amount(sim, base))
    assert sim.position(BTC) == pytest.approx(base)


# ------------------------------------------------------------------ 1. cancel acknowledged, filled


@pytest.mark.parametrize("venue", VENUES)
def test_cancel_acknowledged_then_the_order_reads_filled(venue: str) -> None:
    sim = _sim(venue)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fault_cancel_ack_then_fill(order["id"])
        api.cancel_order(order["id"], _symbol(sim))  # success: retCode 0 / sCode "0" / 200
        got = _fetch(api, sim, order["id"])
        assert got["status"] == "closed"
        assert got["filled"] == pytest.approx(_amount(sim, 0.002))
        trades = api.fetch_my_trades(_symbol(sim))
        assert [t["order"] for t in trades] == [order["id"]]
    assert sim.order(order["id"]).status == "FILLED"


@pytest.mark.parametrize("venue", VENUES)
def test_cancel_acknowledged_after_a_partial_fill_reads_cancelled_with_the_fill(venue: str) -> None:
    sim = _sim(venue)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim, 0.004)
        sim.fault_cancel_ack_then_fill(order["id"], fraction=0.5)
        answer = api.cancel_order(order["id"], _symbol(sim))
        if venue.startswith("binance"):  # the cancel's own view: cancelled, nothing executed
            assert answer["status"] == "canceled" and answer["filled"] == 0
        got = _fetch(api, sim, order["id"])
        # ccxt 4.5.90 reads Bybit's PartiallyFilledCanceled as "closed"
        assert got["status"] == ("closed" if venue == "bybit" else "canceled")
        assert got["filled"] == pytest.approx(_amount(sim, 0.002))
        if venue == "bybit":
            assert got["info"]["orderStatus"] == "PartiallyFilledCanceled"
        if venue == "okx":
            assert got["info"]["state"] == "canceled" and got["info"]["accFillSz"] == "0.2"


# ------------------------------------------------------------------ 2. service restart


def test_service_restart_fault_forgets_closed_orders_on_bybit_realtime_only() -> None:
    sim = _sim("bybit")
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fill_order(order["id"])
        assert _fetch(api, sim, order["id"])["status"] == "closed"
        assert sim.fault_service_restart() is True
        with pytest.raises(ccxt.OrderNotFound):
            _fetch(api, sim, order["id"])  # realtime forgot it
        history = api.privateGetV5OrderHistory({"category": "linear", "orderId": order["id"]})
        assert [r["orderStatus"] for r in history["result"]["list"]] == ["Filled"]


@pytest.mark.parametrize("venue", ["binance", "binance-spot", "okx"])
def test_service_restart_fault_is_a_no_op_where_no_read_forgets(venue: str) -> None:
    sim = _sim(venue)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fill_order(order["id"])
        assert sim.fault_service_restart() is False
        assert _fetch(api, sim, order["id"])["status"] == "closed"


# ------------------------------------------------------------------ 3. rate limits from load


def test_binance_weight_is_counted_and_sent_in_headers_without_enforcement() -> None:
    sim = _sim("binance")
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()  # exchangeInfo, weight 1
        sim.reset_weight()
        api.fetch_open_orders(BTC)  # 1
        api.fapiPrivateGetOpenOrders()  # 40 without a symbol
        api.fetch_positions([BTC])  # leverageBracket 1 (ccxt loads it once), positionRisk 5
        assert api.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "47"
        for _ in range(60):  # 2400 more: over the limit, but nothing is enforced
            api.fapiPrivateGetOpenOrders()
        usage = sim.rate_usage()
        assert usage["refused"] == {} and usage["unit"] == "weight"
        assert usage["by_endpoint"]["GET /fapi/v1/openOrders"] == 1 + 40 * 61
        sim.advance(60)
        api.fetch_open_orders(BTC)
        assert api.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "1"  # a new minute
    assert sim.weight_used() == 47 + 2400 + 1
    assert sim.weight_per_minute_max() == 47 + 2400


def test_binance_usdm_over_the_minute_budget_is_429_then_an_ip_ban_418() -> None:
    sim = _sim("binance", enforce_rate_limits=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        sim.advance(60)
        for _ in range(60):  # 60 x 40 = 2400: exactly the limit
            api.fapiPrivateGetOpenOrders()
        for _ in range(BAN_AFTER_429S):  # ccxt binance: any 429 / 418 is DDoSProtection
            with pytest.raises(ccxt.DDoSProtection, match="-1003"):
                api.fapiPrivateGetOpenOrders()
            assert sim.rate.refused and int(api.last_response_headers["Retry-After"]) > 0
        with pytest.raises(ccxt.DDoSProtection, match="banned until"):
            api.fetch_open_orders(BTC)  # not backing off: banned (2 minutes)
        assert api.last_response_headers["Retry-After"] == "120"
        sim.advance(60)
        with pytest.raises(ccxt.DDoSProtection):
            api.fetch_open_orders(BTC)  # a new minute, still banned
        sim.advance(61)
        assert api.fetch_open_orders(BTC) == []
    assert sim.rate_usage()["refused"] == {"429 -1003": BAN_AFTER_429S, "418 -1003": 2}


def test_binance_usdm_order_count_over_300_per_10_seconds_is_1015() -> None:
    sim = _sim("binance", enforce_rate_limits=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        sim.advance(10)
        for _ in range(300):
            _maker_buy(api, sim, 0.001)
        assert api.last_response_headers["X-MBX-ORDER-COUNT-10S"] == "300"
        with pytest.raises(ccxt.DDoSProtection, match="-1015"):
            _maker_buy(api, sim, 0.001)
        sim.advance(10)
        _maker_buy(api, sim, 0.001)
    assert len(sim.open_orders(BTC)) == 301


def test_binance_spot_has_its_own_weights_and_6000_a_minute() -> None:
    sim = _sim("binance-spot", enforce_rate_limits=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()  # exchangeInfo: 20
        assert api.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "20"
        sim.advance(60)
        api.fetch_open_orders(SPOT_BTC)  # 6 with a symbol
        assert api.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "6"
        for _ in range(74):  # 74 x 80 = 5920: 5926 used
            api.privateGetOpenOrders()
        with pytest.raises(ccxt.DDoSProtection, match="-1003.*6000 request weight"):
            api.privateGetOpenOrders()


def test_bybit_per_endpoint_limit_is_10006_and_the_ip_limit_403() -> None:
    sim = _sim("bybit", enforce_rate_limits=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        sim.advance(5)
        for _ in range(10):  # order/create: 10/s per UID (linear)
            _maker_buy(api, sim, 0.001)
        assert api.last_response_headers["X-Bapi-Limit"] == "10"
        assert api.last_response_headers["X-Bapi-Limit-Status"] == "0"
        with pytest.raises(ccxt.RateLimitExceeded, match="10006"):
            _maker_buy(api, sim, 0.001)
        sim.advance(1)
        _maker_buy(api, sim, 0.001)
        sim.advance(5)
        for _ in range(600):  # the IP's 600 requests in any 5 s
            api.publicGetV5MarketTime()
        with pytest.raises(ccxt.RateLimitExceeded):  # HTTP 403 "access too frequent"
            api.publicGetV5MarketTime()
        assert api.last_http_response == "access too frequent"
        sim.advance(10 * 60)
        api.publicGetV5MarketTime()
    assert len(sim.open_orders(BTC)) == 11
    assert sim.rate_usage()["unit"] == "requests"


def test_okx_per_endpoint_limit_is_429_50011() -> None:
    sim = _sim("okx", enforce_rate_limits=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.advance(2)
        for _ in range(60):  # Get order details: 60 requests per 2 seconds
            api.fetch_order(order["id"], BTC)
        with pytest.raises(ccxt.RateLimitExceeded, match="50011"):
            api.fetch_order(order["id"], BTC)
        sim.advance(2)
        assert api.fetch_order(order["id"], BTC)["status"] == "open"


def test_rate_limits_are_not_enforced_by_default() -> None:
    sim = _sim("okx")
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        for _ in range(100):
            api.fetch_order(order["id"], BTC)
        sim.enforce_rate_limits(True)
        with pytest.raises(ccxt.RateLimitExceeded):
            api.fetch_order(order["id"], BTC)
    assert sim.weight_used() == sim.rate_usage()["total"] > 100


def test_a_share_of_the_budget_cuts_every_limit_other_bots_use_the_rest() -> None:
    """Several bots on one IP and account share its budget: with a tenth of it, the eleventh
    Get-order-details of 2 s on OKX is refused (60 / 10 = 6 allowed), Bybit's order/create
    takes one a second, Binance USD-M 240 weight a minute."""
    def shared(venue: str) -> tuple[SimExchange, Any]:
        sim = _sim(venue)
        sim.enforce_rate_limits(True, share=0.1)
        return sim, _api(sim)

    okx, api = shared("okx")
    with route_ccxt_to(okx):
        order = _maker_buy(api, okx)
        okx.advance(2)
        for _ in range(6):
            api.fetch_order(order["id"], BTC)
        with pytest.raises(ccxt.RateLimitExceeded, match="50011"):
            api.fetch_order(order["id"], BTC)
    bybit, api = shared("bybit")
    with route_ccxt_to(bybit):
        api.load_markets()
        bybit.advance(5)
        _maker_buy(api, bybit, 0.001)
        with pytest.raises(ccxt.RateLimitExceeded, match="10006"):
            _maker_buy(api, bybit, 0.001)
    usdm, api = shared("binance")
    with route_ccxt_to(usdm):
        api.load_markets()
        usdm.advance(60)
        for _ in range(6):  # 6 x 40 = 240
            api.fapiPrivateGetOpenOrders()
        with pytest.raises(ccxt.DDoSProtection, match="-1003"):
            api.fapiPrivateGetOpenOrders()
    with pytest.raises(ValueError, match="share"):
        usdm.enforce_rate_limits(True, share=0)


# ------------------------------------------------------------------ 4. spot client ids


def test_spot_client_id_pattern_is_strict_a_dot_is_1100() -> None:
    sim = _sim("binance-spot")
    api = _api(sim)
    with route_ccxt_to(sim):
        with pytest.raises(ccxt.BadRequest, match=r"-1100.*a-zA-Z0-9-_"):
            _maker_buy(api, sim, clientOrderId="entry.1")
        with pytest.raises(ccxt.BadRequest, match="-1100"):
            _maker_buy(api, sim, clientOrderId="BTC/USDT:1")
        assert _maker_buy(api, sim, clientOrderId="Entry-1_x")["clientOrderId"] == "Entry-1_x"
    assert len(sim.orders) == 1


def test_usdm_still_takes_its_wider_client_id_pattern() -> None:
    sim = _sim("binance")
    api = _api(sim)
    with route_ccxt_to(sim):
        assert _maker_buy(api, sim, clientOrderId="entry.1")["clientOrderId"] == "entry.1"


# ------------------------------------------------------------------ 5. venue-shaped ids


def test_bybit_venue_ids_are_uuids_and_the_helpers_take_them() -> None:
    sim = _sim("bybit", venue_ids=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        assert str(uuid.UUID(order["id"])) == order["id"]
        engine_id = sim.engine_order_id(order["id"])
        assert sim.order(order["id"]).order_id == engine_id == sim.orders[0].order_id
        assert sim.venue_order_id(engine_id) == order["id"]
        assert _fetch(api, sim, order["id"])["id"] == order["id"]
        sim.fault_not_found(order["id"])
        with pytest.raises(ccxt.OrderNotFound):
            _fetch(api, sim, order["id"])
        sim.fill_order(order["id"], 0.001)
        [trade] = api.fetch_my_trades(BTC)
        assert trade["order"] == order["id"]
        api.cancel_order(order["id"], BTC)
        with pytest.raises(ccxt.OrderNotFound, match="110001"):
            api.cancel_order(str(uuid.uuid4()), BTC)
    assert sim.order(order["id"]).status == "CANCELED"


def test_okx_venue_ids_are_long_increasing_digit_strings() -> None:
    sim = _sim("okx", venue_ids=True)
    api = _api(sim)
    with route_ccxt_to(sim):
        first, second = _maker_buy(api, sim), _maker_buy(api, sim)
        assert len(first["id"]) == 19 and first["id"].isdigit()
        assert int(first["id"]) < int(second["id"]) and int(first["id"]) > 2 ** 53
        assert api.fetch_order(first["id"], BTC)["id"] == first["id"]
        assert [o["id"] for o in api.fetch_open_orders(BTC)] == [second["id"], first["id"]]
        sim.fill_order(first["id"])
        assert [t["order"] for t in api.fetch_my_trades(BTC)] == [first["id"]]
        api.cancel_order(second["id"], BTC)
        with pytest.raises(ccxt.OrderNotFound):
            api.fetch_order(str(int(second["id"]) + 4096 * 10), BTC)  # never issued


@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_venue_ids_are_off_by_default(venue: str) -> None:
    sim = _sim(venue)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
    assert order["id"] == str(sim.orders[0].order_id)


# ------------------------------------------------------------------ 6. oversized reduce-only


@pytest.mark.parametrize(("venue", "code"), [("bybit", "110017"), ("okx", "51112"),
                                             ("binance", "-2022")])
def test_oversized_reduce_only_is_refused_or_trimmed_by_the_reading(venue: str, code: str) -> None:
    sim = _sim(venue)
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(api, sim)
        with pytest.raises(ccxt.ExchangeError, match=code):  # the default reading: refuse
            api.create_order(BTC, "market", "sell", _amount(sim, 0.01), None,
                             {"reduceOnly": True})
        sim.readings.reduce_only_oversize = "trim"
        order = api.create_order(BTC, "market", "sell", _amount(sim, 0.01), None,
                                 {"reduceOnly": True})
        assert _fetch(api, sim, order["id"])["amount"] == pytest.approx(_amount(sim, 0.004))
    assert sim.position(BTC) == 0 and sim.order(order["id"]).orig_qty == pytest.approx(0.004)


@pytest.mark.parametrize("reading", ["refuse", "trim"])
def test_resting_reduce_only_larger_than_a_shrunk_position(reading: str) -> None:
    sim = _sim("bybit", reduce_only_oversize=reading)
    api = _api(sim)
    with route_ccxt_to(sim):
        _long(api, sim)
        _, ask = sim.best_bid_ask(BTC)
        exit_order = api.create_order(BTC, "limit", "sell", 0.004, ask + 50,
                                      {"reduceOnly": True})
        api.create_order(BTC, "market", "sell", 0.002, None, {"reduceOnly": True})
        got = _fetch(api, sim, exit_order["id"])
    if reading == "trim":
        assert got["status"] == "open" and got["amount"] == pytest.approx(0.002)
    else:
        assert got["status"] == "canceled" and got["info"]["cancelType"] == "CancelByReduceOnly"


# ------------------------------------------------------------------ 7. gateway errors


@pytest.mark.parametrize(("status", "error"), [(502, ccxt.ExchangeNotAvailable),
                                               (504, ccxt.RequestTimeout)])
@pytest.mark.parametrize("venue", VENUES)
def test_gateway_error_page_after_the_order_was_placed(
        venue: str, status: int, error: type[Exception]) -> None:
    sim = _sim(venue)
    api = _api(sim)
    with route_ccxt_to(sim):
        api.load_markets()
        sim.fault_gateway_error(status=status)
        with pytest.raises(error, match=str(status)):
            _maker_buy(api, sim)
        assert api.last_http_response.startswith("<html>")
        assert api.last_response_headers["Content-Type"] == "text/html"
        [order] = sim.open_orders(_symbol(sim))  # placed all the same
        assert [o["id"] for o in api.fetch_open_orders(_symbol(sim))] == [
            sim.venue_order_id(order.order_id)]
    assert sim.requests[-2].status == status  # recorded under the engine's route


def test_gateway_error_can_hit_a_cancel_that_took_effect() -> None:
    sim = _sim("bybit")
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fault_gateway_error(method="DELETE", path="/fapi/v1/order")
        with pytest.raises(ccxt.ExchangeNotAvailable):
            api.cancel_order(order["id"], BTC)
    assert sim.order(order["id"]).status == "CANCELED"


def test_server_sends_the_gateway_page_and_the_weight_header() -> None:
    sim = _sim("binance")
    running = serve(sim, 0, schedule=[], drive=False)
    try:
        api = _api(sim, running.url)
        api.load_markets()
        api.fetch_open_orders(BTC)
        assert int(api.last_response_headers["X-MBX-USED-WEIGHT-1M"]) >= 2
        sim.fault_gateway_error(status=502)
        with pytest.raises(ccxt.ExchangeNotAvailable):
            _maker_buy(api, sim)
        assert "502 Bad Gateway" in api.last_http_response
        assert len(sim.open_orders(BTC)) == 1
    finally:
        running.stop()


# ------------------------------------------------------------------ 8. Bybit executions by order


@pytest.mark.parametrize(("reading", "rows"), [("all", 1), ("window", 0)])
def test_bybit_execution_list_by_order_id_under_each_reading(reading: str, rows: int) -> None:
    sim = _sim("bybit", executions_by_order=reading)
    api = _api(sim)
    with route_ccxt_to(sim):
        order = _maker_buy(api, sim)
        sim.fill_order(order["id"])
        sim.advance(8 * DAY_S)
        found = api.privateGetV5ExecutionList({"category": "linear", "orderId": order["id"]})
        assert len(found["result"]["list"]) == rows
        recent = _maker_buy(api, sim)
        sim.fill_order(recent["id"])
        found = api.privateGetV5ExecutionList({"category": "linear", "orderId": recent["id"]})
        assert len(found["result"]["list"]) == 1  # a recent fill: both readings list it


# ------------------------------------------------------------------ 9. client id reuse


@pytest.mark.parametrize(("venue", "message"), [("binance-spot", "Duplicate order sent"),
                                                ("okx", "51016")])
def test_client_id_reuse_after_a_cancel_under_each_reading(venue: str, message: str) -> None:
    cid = "ggReuse1"
    for reading in ("open", "strict"):
        sim = _sim(venue, client_id_reuse=reading)
        api = _api(sim)
        with route_ccxt_to(sim):
            first = _maker_buy(api, sim, clientOrderId=cid)
            with pytest.raises(ccxt.InvalidOrder, match=message):  # open: refused either way
                _maker_buy(api, sim, clientOrderId=cid)
            api.cancel_order(first["id"], _symbol(sim))
            if reading == "open":
                assert _maker_buy(api, sim, clientOrderId=cid)["clientOrderId"] == cid
            else:
                with pytest.raises(ccxt.InvalidOrder, match=message):
                    _maker_buy(api, sim, clientOrderId=cid)


def test_strict_spot_reuse_is_accepted_after_a_fill_okx_never() -> None:
    for venue, accepted in (("binance-spot", True), ("okx", False)):
        sim = _sim(venue, client_id_reuse="strict")
        api = _api(sim)
        with route_ccxt_to(sim):
            first = _maker_buy(api, sim, clientOrderId="ggFilled1")
            sim.fill_order(first["id"])
            if accepted:  # "can be accepted only when the previous one is filled"
                _maker_buy(api, sim, clientOrderId="ggFilled1")
            else:
                with pytest.raises(ccxt.InvalidOrder, match="51016"):
                    _maker_buy(api, sim, clientOrderId="ggFilled1")


# ------------------------------------------------------------------ 5. ids, end to end


@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_freqtrade_and_the_guard_trade_on_venue_shaped_ids(venue: str) -> None:
    """Freqtrade's own venue class, GhostGuard on, entry to exit with the venue's ids."""
    from freqtrade.persistence import Trade

    from tests.harness import run_loop, sim_bot

    sim = SimExchange(venue=venue, symbols=(BTC,), venue_ids=True)
    extra: dict[str, Any] = {"ghost_guard": {"enabled": True, "replacement_cooldown_s": 0.0},
                             "exchange": {"pair_whitelist": [BTC]}}
    if venue == "okx":  # Freqtrade's Okx takes no time in force from the config
        extra["order_time_in_force"] = {"entry": "GTC", "exit": "GTC"}
    with sim_bot(sim=sim, strategy="PlainMakerStrategy", extra_config=extra) as (_, bot):
        assert run_loop(bot) == []
        [entry] = sim.orders
        sim.fill_order(sim.venue_order_id(entry.order_id))
        assert run_loop(bot) == []
        [trade] = Trade.get_open_trades()
        assert [o.order_id for o in trade.orders] == [sim.venue_order_id(entry.order_id)]
        bot.rpc._rpc._rpc_force_exit(str(trade.id))
        [exit_order] = [o for o in sim.orders if o.side == "SELL"]
        sim.fill_order(exit_order.order_id)
        assert run_loop(bot) == []
        assert Trade.get_open_trades() == []
    assert sim.position(BTC) == 0
    assert sim.unknown_requests == [] and sim.face.unknown_requests == []


# ------------------------------------------------------------------ the server's fault schedule


def test_fault_schedule_draws_the_round_two_faults() -> None:
    """ghostsim.schedule (the server's and the demo's schedules) knows the new faults."""
    from ghostsim.schedule import FaultSchedule

    sim = _sim("bybit")
    schedule = FaultSchedule(sim, [
        {"order": 1, "do": "cancel_ack_then_fill", "fraction": 0.5},
        {"at_s": 0, "do": "gateway_error", "status": 504},
        {"at_s": 0, "do": "service_restart"},
    ])
    bid, _ = sim.best_bid_ask(BTC)
    placed = sim.place_order(BTC, "BUY", 0.004, bid)
    assert schedule.run_due() == 3
    assert sim.faults.cancel_ack_fill == {placed.order_id: 0.5}
    assert [(r.status, r.remaining) for r in sim.faults.gateway_rules] == [(504, 1)]
    api = _api(sim)
    with route_ccxt_to(sim):
        api.cancel_order(str(placed.order_id), BTC)
        assert _fetch(api, sim, str(placed.order_id))["filled"] == pytest.approx(0.002)
        with pytest.raises(ccxt.RequestTimeout):
            _maker_buy(api, sim)
    assert len(sim.open_orders(BTC)) == 1
