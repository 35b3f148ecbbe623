"""Seconds the bot loop sleeps in Freqtrade's retry back-off for one ghost, guard on and off.

Counted, not timed: a real FreqtradeBot runs against the simulated exchange with Freqtrade's
back-off sleeps recorded instead of slept (tests/harness.py). A resting entry starts answering
"order does not exist" (-2013) for good; the bot runs LOOPS loops. Without the guard, Freqtrade's
retrier sleeps 1+2+5+10+17 s on every loop that queries the order; with it, an order the guard
tracks costs one request and no sleep, and the breaker resolves it after 3 loops.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import SLEEPS, run_loop, sim_bot  # noqa: E402


PAIR = "BTC/USDT:USDT"
LOOPS = 5


def slept(guard: bool) -> tuple[float, list[float]]:
    section = {"replacement_cooldown_s": 0.0} if guard else {"enabled": False}
    config = {"ghost_guard": section, "exchange": {"pair_whitelist": [PAIR]}}
    with sim_bot(strategy="ScriptedMakerStrategy", extra_config=config) as (sim, bot):
        run_loop(bot)
        [order] = sim.open_orders(PAIR)
        sim.fault_not_found(order.order_id, None)
        per_loop = []
        for _ in range(LOOPS):
            SLEEPS.clear()
            run_loop(bot)
            per_loop.append(sum(SLEEPS))
        return sum(per_loop), per_loop


def main() -> None:
    logging.disable(logging.WARNING)
    on_total, on_loops = slept(True)
    off_total, off_loops = slept(False)
    print(f"retry back-off slept for one ghost over {LOOPS} loops (seconds, per loop):")
    print(f"  guard on : {on_total:6.1f}   {on_loops}")
    print(f"  guard off: {off_total:6.1f}   {off_loops}")
    print(f"STALL RESULT per_ghost_guard_on_s={on_total:g} per_ghost_guard_off_s={off_total:g} "
          f"loops={LOOPS}")


if __name__ == "__main__":
    main()
