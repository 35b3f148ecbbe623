"""What a replacement costs on each path, guard on vs off: every request of the loop that sends
it, and the round trips the guard puts in front of the order.

Counted, not timed: a real FreqtradeBot (live futures) against the simulated exchange. For each
path the same steps run with the guard on and off; the loop in which the replacement goes out
is recorded request by request. A round trip is one main-thread request, or one batch of the
guard's concurrent checks (its worker threads), before the order's POST.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import PAIR  # noqa: E402
from tests.harness import run_loop, sim_bot  # noqa: E402
from tests.strategies import ScriptedMakerStrategy as scripted  # noqa: E402


Record = tuple[str, str, bool]  # method, path, sent by a guard worker thread


def _config(guard: bool) -> dict[str, Any]:
    section = {"replacement_cooldown_s": 0.0} if guard else {"enabled": False}
    return {"ghost_guard": section, "exchange": {"pair_whitelist": [PAIR]}}


def _recording(sim: Any) -> list[Record]:
    seen: list[Record] = []
    real_handle = sim.handle

    def record(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        if path != "/fapi/v1/klines":  # candle refreshes follow the wall clock
            guard_thread = threading.current_thread().name.startswith("ghostguard")
            seen.append((method, path, guard_thread))
        return real_handle(method, path, *args, **kwargs)

    sim.handle = record
    return seen


def _before_post(records: list[Record]) -> tuple[int, int]:
    """(requests, round trips) before the first order POST of the loop."""
    requests = rounds = 0
    in_batch = False
    for method, path, guard_thread in records:
        if method == "POST" and path == "/fapi/v1/order":
            break
        requests += 1
        if guard_thread:
            rounds += 0 if in_batch else 1
            in_batch = True
        else:
            rounds += 1
            in_batch = False
    return requests, rounds


def _reprice(sim: Any, bot: Any) -> None:
    [order] = sim.open_orders(PAIR)
    sim.set_price(PAIR, sim.price(PAIR) + 20)
    sim.age_order(order.order_id, 70)
    scripted.SCRIPT["reprice"] = True


def _expire(sim: Any, bot: Any) -> None:
    [order] = sim.open_orders(PAIR)
    sim.expire_order(order.order_id)


def _lost_create(sim: Any, bot: Any) -> None:
    [order] = sim.open_orders(PAIR)
    sim.expire_order(order.order_id)
    sim.fault_lost_create(1)


PATHS: dict[str, tuple[str, Callable[[Any, Any], None]]] = {
    "re-price (adjust_entry_price)": ("ChasingMakerStrategy", _reprice),
    "re-entry after an expiry": ("ScriptedMakerStrategy", _expire),
    "lost create, then the retry": ("ScriptedMakerStrategy", _lost_create),
}


def measure(strategy: str, trigger: Callable[[Any, Any], None], guard: bool) -> tuple[int, ...]:
    saved = dict(scripted.SCRIPT)
    try:
        with sim_bot(strategy=strategy, extra_config=_config(guard)) as (sim, bot):
            run_loop(bot)
            trigger(sim, bot)
            seen = _recording(sim)
            run_loop(bot)
            if strategy == "ScriptedMakerStrategy" and trigger is _lost_create:
                seen.clear()  # the create's answer was lost: the retry is the next loop
                run_loop(bot)
            total = len(seen)
            before, rounds = _before_post(seen)
            posts = sum(1 for m, p, _ in seen if (m, p) == ("POST", "/fapi/v1/order"))
            return total, before, rounds, posts
    finally:
        scripted.SCRIPT.clear()
        scripted.SCRIPT.update(saved)


def breaker() -> tuple[int, int]:
    """Guard on: requests from the first not-found answer until the suspect is resolved, and
    how many of them are the guard's own (cancel by id, trades)."""
    with sim_bot(strategy="ScriptedMakerStrategy", extra_config=_config(True)) as (sim, bot):
        run_loop(bot)
        [order] = sim.open_orders(PAIR)
        sim.fault_not_found(order.order_id, None)
        seen = _recording(sim)
        run_loop(bot, 4)
        guard_own = sum(
            1 for method, path, _ in seen
            if (method, path) in (("DELETE", "/fapi/v1/order"), ("GET", "/fapi/v1/userTrades"))
        )
        return len(seen), guard_own


def main() -> None:
    logging.disable(logging.WARNING)
    print("requests of the loop that sends the replacement (candle requests left out)")
    print(f"{'path':34} {'on':>4} {'off':>4} {'extra':>6}   before the POST: on (round trips)"
          f" / off (round trips); orders sent on / off")
    for name, (strategy, trigger) in PATHS.items():
        on = measure(strategy, trigger, True)
        off = measure(strategy, trigger, False)
        print(f"{name:34} {on[0]:>4} {off[0]:>4} {on[0] - off[0]:>+6}   "
              f"{on[1]} ({on[2]}) / {off[1]} ({off[2]}); {on[3]} / {off[3]}")
    total, own = breaker()
    print(f"{'breaker: 4 loops of not-found':34} {total:>4} {'-':>4} {'':>6}   "
          f"the guard's own: {own} (cancel by id + the order's trades); off: stuck, never "
          "replaced")


if __name__ == "__main__":
    main()
