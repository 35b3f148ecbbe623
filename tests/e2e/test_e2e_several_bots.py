"""Three real `freqtrade trade` processes on one simulated exchange account (`ghostsim.several`:
one server, one API key; bots A and B trade BTC, bot C trades ETH; the first BTC entry fills,
the other BTC bot's first entry and C's are expired by the exchange beside it). On Binance USD-M
A and B share BTC/USDT:USDT (one position); on Binance spot A trades BTC/USDT and B BTC/USDC
(one BTC balance).

With the account registry (a real PostgreSQL server the tests start) and without it: every
order carries its bot's tag, no order is in two bots' databases (nothing claimed or booked
twice), no bot's guard cancels an order that is not its own, no create is refused for a
duplicate client id (-4116), no symbol holds more than its bots intended, and nothing locks.
With the registry every bot ends with its trade (the second BTC bot's ghost is proven beside the
first one's registered position); without it, that ghost is blocked (the position proves
nothing) and the other bot's fill is its share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ghostsim import several as sv
from ghostsim.several import Several, bot_tags, counts, run_several, trade_filled


@pytest.fixture(params=[
    ("registry", "binance"), ("alone", "binance"),
    ("registry", "binance-spot"), ("alone", "binance-spot"),
], ids=lambda p: "-".join(p))
def result(request: pytest.FixtureRequest, tmp_path: Path) -> Several:
    mode, venue = request.param
    url = request.getfixturevalue("pg_url") if mode == "registry" else ""
    return run_several(mode, tmp_path, url, venue=venue)


def test_several_bots_on_one_account(result: Several) -> None:
    tags = bot_tags()
    owner = result.owner(tags)
    seen = counts(result, tags)
    blocked = {b: [e.line for e in r.events("REPLACEMENT_BLOCKED")] for b, r in result.runs.items()}
    assert seen["orders placed"] >= 4 and seen["orders without the bot's tag"] == 0
    assert seen["orders of another bot cancelled"] == 0
    assert seen["orders of another bot in a bot's database"] == 0
    assert seen["orders in two databases"] == 0
    assert seen["creates refused -4116 (duplicate client id)"] == 0
    assert seen["pair locks by the guard"] == 0
    assert seen["ghosts detected"] >= 2  # the expired entries were seen as ghosts
    for run in result.runs.values():
        assert "Traceback" not in "\n".join(run.log_lines()), run.errors()
    placed = result.placed()
    pairs = sv.bots_of(result.venue)
    for pair in set(pairs.values()):
        bots = list(pairs.values()).count(pair)
        sizes = [e["qty"] for e in placed if e["symbol"] == result.sim.spec(pair).id]
        assert abs(result.sim.position(pair)) <= bots * max(sizes) + 1e-9
    # The symbol two bots share (spot: the base asset two quotes share) holds no double.
    shared = [e["qty"] for e in placed
              if e["symbol"] in {result.sim.spec(p).id for p in sv.shared_pairs(result.venue)}]
    held = (result.sim.face.ledger.totals["BTC"] if result.venue == "binance-spot"
            else abs(result.sim.position("BTC/USDT:USDT")))
    assert held <= 2 * max(shared) + 1e-9
    assert set(owner.values()) == set(sv.BOTS)
    runs: dict[str, Any] = result.runs
    if result.mode == "registry":
        assert seen["bots with their trade (of 3)"] == 3, blocked
        assert seen["replacements blocked: shared symbol"] == 0, blocked
    else:
        assert trade_filled(runs["bot-c"])  # alone on its symbol
        assert seen["replacements blocked: shared symbol"] >= 1, blocked
        assert seen["another bot's fill taken as its share"] >= 1
