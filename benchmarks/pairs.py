"""What the guard costs with many pairs: requests, request weight and loop time per bot loop,
guard on and off, in steady state, in the loop in which the exchange expired every exit at once
(a storm of ghosts) and in the loops after it.

Counted, and timed only as ratios measured in the same run: a real FreqtradeBot (live futures,
Binance USD-M) runs in process against the simulator with N pairs, one trade each. Guard off and
guard on alternate (off, on, off, on); each figure is the mean of the two runs of its side.

    python benchmarks/pairs.py 10 50 100 200      # or: make bench PAIRS="10 50 100 200"
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ghostguard import keys  # noqa: E402
from ghostguard.records import OrderRecord, Phase  # noqa: E402
from tests.harness import resting_exits_bot, run_loop, sim_bot  # noqa: E402
from tests.strategies.ScriptedMakerStrategy import SCRIPT, SCRIPT_DEFAULTS  # noqa: E402


PAIR = "BTC/USDT:USDT"
STEADY_LOOPS = 10
AFTER_LOOPS = 12
LOOP_S = 5.0


def _counted(sim: Any) -> int:
    # Candle requests follow the wall clock's minute boundaries, not the bot's state: left out.
    return sum(1 for r in sim.requests if r.path != "/fapi/v1/klines")


def _measure(sim: Any, bot: Any, loops: int) -> tuple[float, float, float]:
    """(requests, weight, seconds) per loop over `loops` loops, LOOP_S sim seconds apart."""
    sim.reset_requests()
    weight = sim.weight_used()
    seconds = 0.0
    for _ in range(loops):
        started = time.perf_counter()
        run_loop(bot)
        seconds += time.perf_counter() - started
        sim.advance(LOOP_S)
    return (_counted(sim) / loops, (sim.weight_used() - weight) / loops, seconds / loops)


def one_run(n: int, guard: bool) -> dict[str, tuple[float, float, float]]:
    SCRIPT.clear()
    SCRIPT.update(SCRIPT_DEFAULTS)
    with resting_exits_bot(n, guard) as (sim, bot, exits):
        result = {"steady": _measure(sim, bot, STEADY_LOOPS)}
        for order in exits:
            sim.expire_order(order.order_id)
        result["storm"] = _measure(sim, bot, 1)
        result["after"] = _measure(sim, bot, AFTER_LOOPS)
        return result


def history(orders: int, loops: int = 200) -> tuple[int, float]:
    """(state rows, seconds of the guard's own work per loop) with `orders` orders of history
    in the guard's state (done orders of an open trade: kept until their trade closes)."""
    config = {"ghost_guard": {"replacement_cooldown_s": 0.0},
              "exchange": {"pair_whitelist": [PAIR]}}
    with sim_bot(strategy="ScriptedMakerStrategy", extra_config=config) as (sim, bot):
        guard = bot.strategy.ghost_guard
        records = [OrderRecord(order_id=f"h{i}", pair=PAIR, role="entry", phase=Phase.DONE)
                   for i in range(orders)]
        guard.store._change_many(dict(map(keys.encode, records)))
        guard.store.load()
        guard.loop.next_prune = float("inf")  # the loop's own work, not the 10-minute prune
        started = time.perf_counter()
        for _ in range(loops):
            guard.on_loop_start()
        return len(guard.store.all(OrderRecord)), (time.perf_counter() - started) / loops


def main(sizes: list[int]) -> None:
    logging.disable(logging.WARNING)
    print("pairs  phase    requests/loop on/off   weight/loop on/off   loop time on/off (ratio)")
    for n in sizes:
        runs: dict[bool, list[dict[str, tuple[float, float, float]]]] = {True: [], False: []}
        for guard in (False, True, False, True):
            runs[guard].append(one_run(n, guard))
        for phase in ("steady", "storm", "after"):
            on = [statistics.mean(r[phase][k] for r in runs[True]) for k in range(3)]
            off = [statistics.mean(r[phase][k] for r in runs[False]) for k in range(3)]
            print(f"{n:5d}  {phase:7s}  {on[0]:8.1f} / {off[0]:<8.1f}   {on[1]:8.1f} / "
                  f"{off[1]:<8.1f}   {on[2]:.3f} / {off[2]:.3f} s ({on[2] / off[2]:.2f})")
    small, large = history(100), history(10_000)
    print(f"guard's own work per loop: {small[1] * 1e3:.3f} ms with {small[0]} orders of history,"
          f" {large[1] * 1e3:.3f} ms with {large[0]} (ratio {large[1] / small[1]:.2f})")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [10, 50])
