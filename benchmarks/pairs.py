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
from ghostsim.ratelimit_tables import USDM_WEIGHT_PER_MINUTE as USDM_LIMIT  # noqa: E402
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
        if guard:  # the guard's clock moves with the exchange's (its watch re-reads are due)
            wall, sim_ms = time.time(), sim.now_ms
            bot.strategy.ghost_guard.clock = lambda: wall + (sim.now_ms - sim_ms) / 1000.0
        sim.advance(60.0)  # a fresh minute of the venue's weight budget
        result = {"steady": _measure(sim, bot, STEADY_LOOPS)}
        sim.advance((60_000 - sim.now_ms % 60_000) / 1000.0)  # the storm opens a minute
        first_minute = sim.now_ms // 60_000
        for order in exits:
            sim.expire_order(order.order_id)
        result["storm"] = _measure(sim, bot, 1)
        # Every exit replaced in the storm loop (else the storm row measures less than a storm)
        result["replaced"] = (float(len(sim.open_orders())), 0.0, 0.0)
        result["after"] = _measure(sim, bot, AFTER_LOOPS)
        # The weight of the storm's minute on the venue's clock (the storm and the 11 loops
        # after it, at 5 s a loop).
        result["minute"] = (float(sim.rate.per_minute[first_minute]), 0.0, 0.0)
        return result


def history(orders: int, loops: int = 200) -> tuple[int, float]:
    """(state rows after one prune, seconds of the guard's own work per loop) with `orders`
    orders of history in the guard's state (done orders, the prune held off while timed)."""
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
        seconds = (time.perf_counter() - started) / loops
        guard.loop.prune()  # none of them has an open order or trade: all go
        return len(guard.store.all(OrderRecord)), seconds


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
        for guard, side in ((True, "on"), (False, "off")):
            short = [int(r["replaced"][0]) for r in runs[guard] if r["replaced"][0] < n]
            if short:
                print(f"{n:5d}  guard {side}: a storm loop replaced only {short} of {n} exits")
        on_max = max(r["minute"][0] for r in runs[True])
        off_max = max(r["minute"][0] for r in runs[False])
        print(f"{n:5d}  most weight in one venue minute on/off: {on_max:.0f} / {off_max:.0f}"
              f" (Binance USD-M limit {USDM_LIMIT}/min)")
    small, large = history(100), history(10_000)
    print(f"guard's own work per loop: {small[1] * 1e3:.3f} ms with 100 orders of history,"
          f" {large[1] * 1e3:.3f} ms with 10000 (ratio {large[1] / small[1]:.2f}); state rows"
          f" after one prune: {small[0]} / {large[0]} (guard off keeps none)")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [10, 50])
