"""Exchange requests GhostGuard adds: per bot loop in steady state, and per replacement decision.

Counted, not timed: a real FreqtradeBot (live futures) runs against the simulated exchange with
the guard on and off; every request the exchange receives is recorded. Prints the measured
ratios of one run.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import run_loop, sim_bot  # noqa: E402


PAIR = "BTC/USDT:USDT"
LOOPS = 50
DECISIONS = 20


def _config(guard: bool, **ghost_guard: Any) -> dict[str, Any]:
    section = {"replacement_cooldown_s": 0.0, **ghost_guard} if guard else {"enabled": False}
    return {"ghost_guard": section, "exchange": {"pair_whitelist": [PAIR]}}


def _counted(sim: Any) -> int:
    # Candle requests follow the wall clock's minute boundaries, not the bot's state: left out.
    return sum(1 for r in sim.requests if r.path != "/fapi/v1/klines")


def steady_state(guard: bool) -> tuple[int, int]:
    """Requests over LOOPS loops with a resting order, then LOOPS loops with an open trade."""
    with sim_bot(strategy="ScriptedMakerStrategy", extra_config=_config(guard)) as (sim, bot):
        run_loop(bot)
        sim.reset_requests()
        run_loop(bot, LOOPS)
        resting = _counted(sim)
        sim.fill_order(sim.open_orders(PAIR)[0].order_id)
        run_loop(bot)
        sim.reset_requests()
        run_loop(bot, LOOPS)
        return resting, _counted(sim)


def decisions() -> tuple[int, int, int]:
    """(decisions made, requests sent by the guard's checks, most requests in flight at once)."""
    config = _config(True, max_replacements_per_signal=DECISIONS + 1)
    with sim_bot(strategy="ScriptedMakerStrategy", extra_config=config) as (sim, bot):
        real_handle = sim.handle
        lock = threading.Lock()
        state = {"in_flight": 0, "most": 0, "guard_requests": 0}

        def counted(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            is_guard = threading.current_thread().name.startswith("ghostguard")
            with lock:
                state["in_flight"] += 1
                state["most"] = max(state["most"], state["in_flight"])
                state["guard_requests"] += int(is_guard)
            try:
                if is_guard:
                    barrier.wait()  # hold each request until its two siblings arrive
                return real_handle(method, path, *args, **kwargs)
            finally:
                with lock:
                    state["in_flight"] -= 1

        barrier = threading.Barrier(3, timeout=30)
        sim.handle = counted
        run_loop(bot)
        for _ in range(DECISIONS):
            for order in sim.open_orders(PAIR):
                sim.expire_order(order.order_id)
            run_loop(bot)
        made = bot.strategy.ghost_guard.stats["decisions"]
        return made, state["guard_requests"], state["most"]


def main() -> None:
    logging.disable(logging.INFO)
    on_resting, on_trade = steady_state(True)
    off_resting, off_trade = steady_state(False)
    made, guard_requests, most = decisions()
    print("requests counted without /fapi/v1/klines (candle refreshes follow the wall clock)")
    print(
        f"steady state, resting order, {LOOPS} loops: guard on {on_resting} requests, "
        f"off {off_resting}: extra per loop = {(on_resting - off_resting) / LOOPS:g}"
    )
    print(
        f"steady state, open trade, {LOOPS} loops: guard on {on_trade} requests, "
        f"off {off_trade}: extra per loop = {(on_trade - off_trade) / LOOPS:g}"
    )
    print(
        f"replacement decisions: {made}, guard check requests: {guard_requests}, "
        f"per decision = {guard_requests / max(made, 1):g}, most in flight at once = {most}"
    )


if __name__ == "__main__":
    main()
