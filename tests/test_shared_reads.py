"""Reads shared by the replacement decisions of one loop (`sharedreads`, issue 20): one
account-wide position read (and, on Bybit and OKX, one open-orders read) serves every pair's
checks while it is fresh, a pair something touched since reads again, and a storm of ghosts on
many pairs costs one such read per loop instead of one per pair. Counts, not times."""

from __future__ import annotations

from typing import Any

import pytest

from ghostguard.sharedreads import LoopReads
from tests.harness import resting_exits_bot, run_loop


def _reader(answers: list[str]) -> Any:
    def read() -> str:
        answers.append(f"read{len(answers)}")
        return answers[-1]
    return read


def test_one_read_serves_every_pair_while_fresh() -> None:
    reads = LoopReads(max_age_s=2.0)
    made: list[str] = []
    assert reads.answer("positions", "A", 100.0, _reader(made)) == "read0"
    assert reads.answer("positions", "B", 101.0, _reader(made)) == "read0"
    assert reads.answer("positions", "C", 102.0, _reader(made)) == "read0"
    assert reads.answer("positions", "D", 102.5, _reader(made)) == "read1"  # too old: again
    assert reads.answer("balances", "D", 102.5, _reader(made)) == "read2"  # another kind
    assert (reads.read, reads.served) == (3, 2)


def test_a_touched_pair_reads_again_and_that_read_serves_the_rest() -> None:
    reads = LoopReads()
    made: list[str] = []
    reads.answer("positions", "A", 0.0, _reader(made))
    reads.touch("B")  # an order sent or cancelled on B, or a fill of B's the database lacked
    assert reads.answer("positions", "A", 0.1, _reader(made)) == "read0"
    assert reads.answer("positions", "B", 0.1, _reader(made)) == "read1"
    assert reads.answer("positions", "A", 0.2, _reader(made)) == "read1"


def test_a_new_loop_shares_nothing_of_the_last() -> None:
    reads = LoopReads()
    made: list[str] = []
    reads.answer("positions", "A", 0.0, _reader(made))
    reads.new_loop()
    assert reads.answer("positions", "A", 0.0, _reader(made)) == "read1"


def _storm(n: int, guard: bool, venue: str = "binance") -> dict[str, int]:
    """N pairs, one trade and one resting exit each; the exchange expires every exit at
    once. The requests of the storm loop, by path (the engine's own paths, on every face)."""
    with resting_exits_bot(n, guard, venue) as (sim, bot, exits):
        for order in exits:
            sim.expire_order(order.order_id)
        sim.reset_requests()
        run_loop(bot)
        assert len(sim.open_orders()) == n  # every exit replaced
        counts: dict[str, int] = {}
        for request in sim.requests:
            counts[request.path] = counts.get(request.path, 0) + 1
        return counts


@pytest.mark.usefixtures("script")
@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_a_storm_of_ghosts_on_ten_pairs_reads_the_positions_once(venue: str) -> None:
    on = _storm(10, guard=True, venue=venue)
    off = _storm(10, guard=False, venue=venue)
    extra = {path: on.get(path, 0) - off.get(path, 0) for path in set(on) | set(off)
             if "klines" not in path.lower()}  # candles follow the wall clock's minutes
    # Ten decisions, one account-wide position read (Freqtrade's own wallet reads aside).
    assert sum(n for path, n in extra.items() if "positionRisk" in path) == 1
    # What each decision still reads on its own: the gone order's status and fills, and the
    # sweep of the pair's open orders after the send. Check 3's open orders: one read of
    # every symbol where that costs one request (Bybit, OKX); on Binance one per pair (every
    # symbol at once weighs 40, one symbol 1).
    assert extra["/fapi/v1/order"] == 10 and extra["/fapi/v1/userTrades"] == 10
    checks = 10 if venue == "binance" else 1
    assert extra["/fapi/v1/openOrders"] == 10 + checks
    assert sum(extra.values()) == 31 + checks


def _watch_loops(n: int, guard: bool, venue: str, loops: int) -> list[dict[str, int]]:
    """The storm of `_storm`, then `loops` loops 5 s apart on the guard's clock and the
    exchange's: the requests of each, by path."""
    with resting_exits_bot(n, guard, venue) as (sim, bot, exits):
        now = [1_000_000.0]
        if guard:
            bot.strategy.ghost_guard.clock = lambda: now[0]
        for order in exits:
            sim.expire_order(order.order_id)
        run_loop(bot)
        per_loop = []
        for _ in range(loops):
            now[0] += 5.0
            sim.advance(5.0)
            sim.reset_requests()
            run_loop(bot)
            counts: dict[str, int] = {}
            for request in sim.requests:
                if "klines" not in request.path.lower():
                    counts[request.path] = counts.get(request.path, 0) + 1
            per_loop.append(counts)
        return per_loop


@pytest.mark.usefixtures("script")
@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_the_watch_after_a_storm_reads_once_per_pair_and_loop(venue: str) -> None:
    """After ten exits went at once, their watches re-check together: one request per watched
    pair and loop at most, whatever it reads (before: the status and the trades of each gone
    order in the same loop, 20 requests in the first re-check's loop). On Bybit the open
    orders of every pair are one read."""
    n, loops = 10, 6
    on = _watch_loops(n, True, venue, loops)
    off = _watch_loops(n, False, venue, loops)
    watch_paths = ("/fapi/v1/order", "/fapi/v1/userTrades", "/fapi/v1/openOrders")
    extra = [
        {p: a.get(p, 0) - b.get(p, 0) for p in watch_paths} for a, b in zip(on, off, strict=True)
    ]
    assert all(sum(loop.values()) <= n for loop in extra), extra
    assert all(loop["/fapi/v1/order"] <= 0 for loop in extra), extra  # no status read per order
    # Each check is one read of the open orders, then one of the trades, the next loop.
    trades = [loop["/fapi/v1/userTrades"] for loop in extra]
    orders = [loop["/fapi/v1/openOrders"] for loop in extra]
    assert trades.count(n) >= 2 and sum(trades) % n == 0, extra
    per_read = n if venue == "binance" else 1
    assert orders.count(per_read) >= 2, extra


def test_rent_or_buy_reads_per_symbol_until_all_would_weigh_as_much() -> None:
    """Binance USD-M: one symbol's open orders weigh 1, every symbol's 40. Per symbol for the
    first 39 pairs of a loop, then one read of all that serves the rest while fresh; a pair
    touched since reads its own symbol again."""
    reads = LoopReads()
    made: list[str] = []
    for index in range(39):
        assert reads.rent_or_buy("oo", f"P{index}", 0.0, (1, 40), lambda: "one",
                                 _reader(made)) == "one"
    assert made == []
    assert reads.rent_or_buy("oo", "P39", 0.0, (1, 40), lambda: "one", _reader(made)) == "read0"
    assert reads.rent_or_buy("oo", "P40", 0.5, (1, 40), lambda: "one", _reader(made)) == "read0"
    reads.touch("P41")
    assert reads.rent_or_buy("oo", "P41", 0.5, (1, 40), lambda: "one", _reader(made)) == "one"
    assert reads.rent_or_buy("oo", "P42", 3.0, (1, 40), lambda: "one", _reader(made)) == "one"
    assert made == ["read0"]
    reads.new_loop()  # a single decision costs one symbol's read
    assert reads.rent_or_buy("oo", "P0", 0.0, (6, 80), lambda: "one", _reader(made)) == "one"


@pytest.mark.usefixtures("script")
def test_a_storm_on_twenty_spot_pairs_reads_every_symbol_once() -> None:
    """Binance spot weighs one symbol's open orders 6 and every symbol's 80: thirteen
    decisions read their own symbol, the fourteenth reads all, which serves the last six."""
    on = _storm(20, guard=True, venue="binance-spot")
    off = _storm(20, guard=False, venue="binance-spot")
    open_orders = on.get("/fapi/v1/openOrders", 0) - off.get("/fapi/v1/openOrders", 0)
    assert open_orders == 20 + 13 + 1  # the sweeps, then check 3's reads
