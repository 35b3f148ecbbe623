"""The guard's own trade reads take one attempt (rule 3: no retry back-off): when the venue
rate-limits its trades endpoint (HTTP 429, ccxt's DDoSProtection), Freqtrade's retrier would
sleep 1 + 2 + 5 + 10 s inside each of the guard's reads, some of them in front of a stop-loss.
A real FreqtradeBot on the simulator, guard on and off; Freqtrade's own back-off (its fee
reads) is Freqtrade's."""

from __future__ import annotations

import pytest

import tests.harness as harness
from tests.conftest import loop, orders_of
from tests.test_exits_never_wait import STOP, crash, stop_loss_loop


SLEPT: dict[bool, float] = {}


@pytest.mark.parametrize("guard", [False, True], ids=["guard_off", "guard_on"])
def test_a_rate_limited_trade_list_adds_no_back_off_of_the_guards(bot_on_sim, guard):
    with bot_on_sim(guard, "ChaosMakerStrategy", dict(STOP)) as (sim, bot):
        loop(bot)
        [entry] = orders_of(sim, reduce_only=False)
        sim.fill_order(entry.order_id, round(entry.orig_qty / 2, 3))
        sim.fault_fail("GET", "/fapi/v1/userTrades", count=10**6, code=-1003, http=429,
                       msg="Too many requests; current limit is 2400 requests per minute.")
        sim.expire_order(entry.order_id)
        crash(sim)
        before = len(harness.SLEEPS)
        sent, caught = stop_loss_loop(sim, bot)
        SLEPT[guard] = sum(harness.SLEEPS[before:])
        assert caught == []
        assert len(sent) == 1  # the stop-loss, in the first loop
    if guard:
        assert False in SLEPT, "run with the guard-off twin first (same module)"
        assert SLEPT[True] <= SLEPT[False], SLEPT
