"""The loopback REST face of the simulator, spoken to by a real ccxt binance over real sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from ghostsim import SimExchange
from ghostsim.driver import triangle, wave
from ghostsim.ftconfig import ccxt_config
from ghostsim.schedule import FaultSchedule, Rule, load_rules
from ghostsim.server import serve, start_server


PAIR = "BTC/USDT:USDT"


def _client(url: str) -> Any:
    config = ccxt_config(url)
    config.update(apiKey=SimExchange.SIM_API_KEY, secret=SimExchange.SIM_API_SECRET)
    return ccxt.binance(config)


@pytest.fixture(params=[True, False], ids=["https", "http"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[SimExchange, Any, Any]]:
    sim = SimExchange([PAIR], seed=3)
    running = serve(sim, 0, schedule=[], drive=False, tls=request.param)
    try:
        yield sim, running, _client(running.url)
    finally:
        running.stop()


def test_refuses_any_host_but_loopback() -> None:
    sim = SimExchange([PAIR])
    with pytest.raises(ValueError, match="127.0.0.1"):
        start_server(sim, 0, host="0.0.0.0")
    with pytest.raises(ValueError, match="127.0.0.1"):
        ccxt_config("http://10.0.0.1:8000")


def test_start_server_serves_and_stops() -> None:
    sim = SimExchange([PAIR])
    url, stop = start_server(sim, 0, drive=False)
    try:
        client = _client(url)
        assert client.fetch_time() == pytest.approx(sim.now_ms, abs=5_000)
    finally:
        stop()
    stop()  # idempotent


def test_signed_order_roundtrip_and_error_mapping(served: Any) -> None:
    sim, running, client = served
    client.load_markets()
    bid, ask = sim.best_bid_ask(PAIR)
    order = client.create_order(PAIR, "limit", "buy", 0.002, bid, {"timeInForce": "GTX"})
    assert client.fetch_order(order["id"], PAIR)["status"] == "open"
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order("123", PAIR)
    crossing = (ccxt.OrderNotFillable if running.url.startswith("https") else ccxt.ExchangeError)
    with pytest.raises(crossing):  # -5022: the futures error table only for fapi.<hostname>
        client.create_order(PAIR, "limit", "buy", 0.002, ask + 10, {"timeInForce": "GTX"})
    bad = ccxt.binance({**ccxt_config(running.url), "apiKey": SimExchange.SIM_API_KEY,
                        "secret": "wrong-secret-0123"})
    with pytest.raises(ccxt.AuthenticationError):
        bad.fetch_positions([PAIR])


def test_lost_create_is_placed_and_times_out(served: Any) -> None:
    sim, _running, client = served
    client.load_markets()
    sim.fault_lost_create()
    bid, _ = sim.best_bid_ask(PAIR)
    with pytest.raises(ccxt.RequestTimeout):
        client.create_order(PAIR, "limit", "buy", 0.002, bid, {"timeInForce": "GTX"})
    assert len(sim.open_orders(PAIR)) == 1


def test_schedule_fires_by_order_number_and_role() -> None:
    sim = SimExchange([PAIR, "ETH/USDT:USDT"], check_signature=False)
    schedule = FaultSchedule(sim, [
        {"order": 2, "do": "expire"},
        {"pair": "ETH/USDT:USDT", "order": 1, "do": "fill_stale"},
        {"order": 1, "role": "exit", "do": "lost_create"},
    ])
    bid, _ = sim.best_bid_ask(PAIR)
    first = sim.place_order(PAIR, "BUY", 0.002, bid)
    second = sim.place_order(PAIR, "BUY", 0.002, bid)
    eth_bid, _ = sim.best_bid_ask("ETH/USDT:USDT")
    eth = sim.place_order("ETH/USDT:USDT", "BUY", 0.01, eth_bid)
    assert second.order_id in sim.held  # held from the trigger on: no fill in between
    assert schedule.run_due() == 2
    assert first.status == "NEW" and second.status == "EXPIRED"
    assert eth.status == "FILLED" and sim.faults.stale_status[eth.order_id] == "CANCELED"
    assert [f.action for f in schedule.fired] == ["expire", "fill_stale"]


def test_schedule_by_time_and_validation() -> None:
    sim = SimExchange([PAIR], check_signature=False)
    schedule = FaultSchedule(sim, '[{"at_s": 5, "do": "reject_create", "count": 2}]')
    assert schedule.run_due() == 0
    sim.advance(5)
    assert schedule.run_due() == 1
    assert sim.faults.fail_rules[0].code == -5022 and sim.faults.fail_rules[0].remaining == 2
    with pytest.raises(ValueError, match="unknown fault action"):
        load_rules([{"order": 1, "do": "explode"}])
    with pytest.raises(ValueError, match="exactly one"):
        Rule.parse({"do": "expire"})
    with pytest.raises(ValueError, match="needs an order trigger"):
        Rule.parse({"at_s": 1, "do": "expire"})


def test_price_wave_moves_one_tick_per_step_and_covers_its_range() -> None:
    amplitudes = (2, 4, 6)
    offsets = [wave(step, amplitudes) for step in range(200)]
    assert all(abs(b - a) == 1 for a, b in zip(offsets, offsets[1:], strict=False))
    assert min(offsets) == -6 and max(offsets) == 6
    assert [triangle(k, 2) for k in range(8)] == [0, 1, 2, 1, 0, -1, -2, -1]


def test_driver_fills_resting_orders() -> None:
    sim = SimExchange([PAIR], seed=5, check_signature=False)
    running = serve(sim, 0, step_s=0.05)
    try:
        bid, _ = sim.best_bid_ask(PAIR)
        order = sim.place_order(PAIR, "BUY", 0.002, bid)
        assert running.driver is not None
        for _ in range(200):
            if order.status == "FILLED":
                break
            running.driver.tick()
            time.sleep(0.02)
        assert order.status == "FILLED"
    finally:
        running.stop()
