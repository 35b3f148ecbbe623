"""Seconds the bot loop sleeps in Freqtrade's retry back-off for one ghost, guard on and off.

Counted, not timed: a real FreqtradeBot runs against the simulated exchange with Freqtrade's
back-off sleeps recorded instead of slept (tests/harness.py). A resting entry starts answering
"order does not exist" (-2013) for good; the bot runs LOOPS loops. Without the guard, Freqtrade's
retrier sleeps 1+2+5+10+17 s on every loop that queries the order; with it, an order the guard
tracks costs one request and no sleep, and the breaker resolves it after 3 loops.

Third figure: the first on a venue whose `fetch_order` takes no retry `count` and calls the
retrier itself (Freqtrade's Bybit class run without the guard's adapter, as the guard runs on a
venue it has no adapter for; Freqtrade's Hyperliquid class has the same shape).

Second figure: an entry times out and its cancel cannot be confirmed (the cancel fills it and
answers "unknown order", every re-fetch "does not exist"). What the loops sleep then: the
retrier's back-off, plus the worker's RETRY_TIMEOUT (30 s) for every `TemporaryError` that leaves
`process()` (the loop's exits did not run either). Freqtrade alone sleeps nothing there: it takes
its own made-up "canceled" answer (and loses the fill, which the tests show).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from freqtrade.constants import RETRY_TIMEOUT  # noqa: E402
from freqtrade.exceptions import TemporaryError  # noqa: E402

from ghostguard import adapters  # noqa: E402
from ghostsim import SimExchange  # noqa: E402
from tests.harness import SLEEPS, fault_unconfirmed_cancel, run_loop, sim_bot  # noqa: E402


PAIR = "BTC/USDT:USDT"
LOOPS = 5


def _config(guard: bool, neutral: bool = False) -> dict[str, object]:
    section: dict[str, object] = (
        {"replacement_cooldown_s": 0.0} if guard else {"enabled": False}
    )
    if guard and neutral:
        section["unproven_venue"] = "venue_neutral"
    return {"ghost_guard": section, "exchange": {"pair_whitelist": [PAIR]}}


def slept(guard: bool, neutral: bool = False) -> tuple[float, list[float]]:
    sim = SimExchange(symbols=(PAIR,), venue="bybit") if neutral else None
    config = _config(guard, neutral)
    with sim_bot(sim=sim, strategy="ScriptedMakerStrategy", extra_config=config) as (sim, bot):
        run_loop(bot)
        [order] = sim.open_orders(PAIR)
        sim.fault_not_found(order.order_id, None)
        per_loop = []
        for _ in range(LOOPS):
            SLEEPS.clear()
            run_loop(bot)
            per_loop.append(sum(SLEEPS))
        return sum(per_loop), per_loop


def slept_after_unconfirmed_cancel(guard: bool) -> tuple[float, list[float]]:
    with sim_bot(strategy="ScriptedMakerStrategy", extra_config=_config(guard)) as (sim, bot):
        run_loop(bot)
        [order] = sim.open_orders(PAIR)
        sim.age_order(order.order_id, 11 * 60)  # past the harness's 10-minute unfilled timeout
        fault_unconfirmed_cancel(sim, order.order_id)
        per_loop = []
        for _ in range(LOOPS):
            SLEEPS.clear()
            caught = run_loop(bot)
            worker = RETRY_TIMEOUT * sum(isinstance(e, TemporaryError) for e in caught)
            per_loop.append(sum(SLEEPS) + worker)
        return sum(per_loop), per_loop


def main() -> None:
    logging.disable(logging.WARNING)
    on_total, on_loops = slept(True)
    off_total, off_loops = slept(False)
    print(f"retry back-off slept for one ghost over {LOOPS} loops (seconds, per loop):")
    print(f"  guard on : {on_total:6.1f}   {on_loops}")
    print(f"  guard off: {off_total:6.1f}   {off_loops}")
    bybit = adapters.ADAPTERS.pop(("bybit", True))  # the venue as one without an adapter
    try:
        neutral_on, neutral_on_loops = slept(True, neutral=True)
        neutral_off, neutral_off_loops = slept(False, neutral=True)
    finally:
        adapters.ADAPTERS[("bybit", True)] = bybit
    print(f"the same on a venue whose fetch_order takes no retry count ({LOOPS} loops):")
    print(f"  guard on : {neutral_on:6.1f}   {neutral_on_loops}")
    print(f"  guard off: {neutral_off:6.1f}   {neutral_off_loops}")
    cancel_on, cancel_on_loops = slept_after_unconfirmed_cancel(True)
    cancel_off, cancel_off_loops = slept_after_unconfirmed_cancel(False)
    print(f"slept after an unconfirmed cancel over {LOOPS} loops (back-off + worker retry):")
    print(f"  guard on : {cancel_on:6.1f}   {cancel_on_loops}")
    print(f"  guard off: {cancel_off:6.1f}   {cancel_off_loops}")
    print(f"STALL RESULT per_ghost_guard_on_s={on_total:g} per_ghost_guard_off_s={off_total:g} "
          f"no_count_venue_guard_on_s={neutral_on:g} no_count_venue_guard_off_s={neutral_off:g} "
          f"unconfirmed_cancel_guard_on_s={cancel_on:g} "
          f"unconfirmed_cancel_guard_off_s={cancel_off:g} loops={LOOPS}")


if __name__ == "__main__":
    main()
