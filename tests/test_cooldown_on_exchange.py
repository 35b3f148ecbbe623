"""Check 6 on the exchange's clock: two ghost replacements reach the exchange at least
`replacement_cooldown_s` apart, however long each create takes to get there.

Between the guard's approval and the exchange's receipt lie the write-ahead intent's commit and
the request's trip; both vary. CI's scenario-6 run once saw two replacements 996 ms apart on the
exchange with a 1 s cooldown, because the cooldown ran from the approval: a slow first create
and a fast second one shorten the gap the exchange sees. The cooldown now runs from the moment
the replacement's create came back, so the next one leaves no earlier than `cooldown` after the
previous one arrived.

The guard lives on the simulator's clock here; `fault_slow_creates` makes one create take
0.6 s to arrive (the simulator's clock moves on meanwhile), so nothing depends on wall time.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PAIR, loop, orders_of


def _entries(sim: Any) -> list[Any]:
    return orders_of(sim, reduce_only=False)


def _expire_and_loop(sim: Any, bot: Any, after_s: float) -> None:
    for order in sim.open_orders(PAIR):
        sim.expire_order(order.order_id)
    sim.advance(after_s)
    loop(bot)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_a_slow_create_does_not_shorten_the_cooldown_the_exchange_sees(
    bot_on_sim, events, guard
) -> None:
    extra = {"ghost_guard": {"replacement_cooldown_s": 1.0}}
    with bot_on_sim(guard=guard, extra=extra) as (sim, bot):
        if guard:
            bot.strategy.ghost_guard.clock = lambda: sim.now_ms / 1000.0
        loop(bot)
        assert len(_entries(sim)) == 1
        sim.fault_slow_creates([0.6])  # the first replacement arrives 0.6 s after it left
        sent_at = sim.now_ms + 1000  # the loop after the next second
        _expire_and_loop(sim, bot, 1.0)
        first = _entries(sim)[1]
        assert first.time == sent_at + 600  # stamped on arrival, 0.6 s after sending
        # 1.0 s after the first was approved and sent, 0.4 s after the exchange received it.
        _expire_and_loop(sim, bot, 0.4)
        _expire_and_loop(sim, bot, 0.6)  # 1.0 s after the exchange received the first
        _expire_and_loop(sim, bot, 1.0)
        replacements = _entries(sim)[1:]
        gaps = [b.time - a.time for a, b in zip(replacements, replacements[1:], strict=False)]
        if guard:
            assert [e.split()[-1] for e in events.named("GHOST_ORDER_REPLACED")] == [
                "attempt=1/3", "attempt=2/3", "attempt=3/3",
            ]
            assert gaps == [1000, 1000], gaps  # never less than the cooldown on the exchange
            assert "cooldown_active" in " ".join(events.named("REPLACEMENT_BLOCKED"))
        else:
            assert len(replacements) == 4  # Freqtrade alone re-places every loop
            assert gaps[0] == 400  # no cooldown at all
