"""Exits that reduce risk are never held back (acceptance scenario 13), and ordinary exits after
a partial fill are re-placed for the rest once that fill is booked.

Stop-loss, emergency, force and liquidation exits go out whatever checks 1, 4, 5 and 6 or a
pending gone exit say; they are only clamped to the exchange position.
"""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import Trade

from tests.conftest import PAIR, loop, orders_of


STOPLOSS = {"stoploss": -0.02}


def _open_long(sim: Any, bot: Any) -> Any:
    loop(bot)
    [entry] = orders_of(sim, reduce_only=False)
    sim.fill_order(entry.order_id)
    loop(bot)
    return entry


def _working_exit(sim: Any) -> Any | None:
    working = [o for o in orders_of(sim, reduce_only=True) if o.is_open]
    return working[-1] if working else None


def _partial_then_expired(sim: Any, bot: Any, script: dict[str, Any]) -> Any:
    """An exit signal; its post-only exit half fills, then the exchange expires it."""
    script.update(enter_long=0, exit_long=1)
    loop(bot)
    first_exit = _working_exit(sim)
    assert first_exit is not None
    sim.fill_order(first_exit.order_id, first_exit.orig_qty / 2)
    sim.expire_order(first_exit.order_id)
    loop(bot)
    return first_exit


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_s13_stop_loss_goes_out_while_exits_are_gone(bot_on_sim, events, script, guard):
    extra = {**STOPLOSS, "ghost_guard": {"replacement_cooldown_s": 1.0}} if guard else STOPLOSS
    with bot_on_sim(guard=guard, extra=dict(extra)) as (sim, bot):
        entry = _open_long(sim, bot)
        _partial_then_expired(sim, bot, script)
        # Four more post-only exits expire or are rejected as they are placed.
        expired = 0
        for _ in range(8):
            working = _working_exit(sim)
            if working is not None and expired < 4:
                sim.expire_order(working.order_id)
                expired += 1
            loop(bot)
        # The price falls through the stop: Freqtrade's stop-loss exit must go out now.
        script.update(exit_long=0)
        held = sim.position(PAIR)
        assert held > 0
        sim.set_price(PAIR, sim.price(PAIR) * 0.95)
        sent_before = len(orders_of(sim, reduce_only=True))
        loop(bot)
        exits = orders_of(sim, reduce_only=True)[sent_before:]
        stops = [o for o in exits if o.type == "MARKET"]
        assert stops, "the stop-loss exit was held back"
        assert stops[0].orig_qty <= held + 1e-12  # clamped to the exchange position
        assert sim.position(PAIR) == pytest.approx(0.0)
        assert entry.orig_qty >= held
        if guard:
            blocked = [b for b in events.named("REPLACEMENT_BLOCKED") if "type=exit" in b]
            assert not any("stop_loss" in b for b in blocked)


def test_an_exit_after_a_partial_fill_is_replaced_for_the_rest(bot_on_sim, events, script):
    """The first exit half filled, then expired: once that fill is booked (database equals
    exchange), the exit is re-placed for the remaining position, not held for 30 minutes."""
    with bot_on_sim() as (sim, bot):
        _open_long(sim, bot)
        first_exit = _partial_then_expired(sim, bot, script)
        loop(bot)
        [trade] = Trade.get_open_trades()
        remaining = sim.position(PAIR)
        assert remaining == pytest.approx(first_exit.orig_qty / 2)
        assert trade.amount == pytest.approx(remaining)
        second = _working_exit(sim)
        assert second is not None, events.named("REPLACEMENT_BLOCKED")
        assert second.orig_qty == pytest.approx(remaining)


@pytest.mark.parametrize("broken", ["store", "store_reads", "planning"])
def test_a_stop_loss_goes_out_when_the_guard_itself_fails(bot_on_sim, events, script, broken):
    """Rule 1 against the guard's own failures: its store refuses the write-ahead intent, or it
    cannot assess the order at all; the stop-loss goes out all the same, and nothing the guard
    raised reaches Freqtrade."""
    with bot_on_sim(extra=dict(STOPLOSS)) as (sim, bot):
        _open_long(sim, bot)
        guard = bot.strategy.ghost_guard

        def fails(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("database is locked")

        if broken == "store":
            guard.ctx.store.put = fails  # type: ignore[method-assign]
        elif broken == "store_reads":
            guard.ctx.store.of_pair_role = fails  # type: ignore[method-assign]
        else:
            import ghostguard.gate as gate_module

            gate_module.plan_placement = fails  # restored below
        try:
            held = sim.position(PAIR)
            sim.set_price(PAIR, sim.price(PAIR) * 0.95)
            caught = loop(bot)
        finally:
            if broken == "planning":
                import ghostguard.placement as placement_module

                gate_module.plan_placement = placement_module.plan_placement
        assert caught == []
        stops = [o for o in orders_of(sim, reduce_only=True) if o.type == "MARKET"]
        assert stops and stops[0].orig_qty <= held + 1e-12
        assert sim.position(PAIR) == pytest.approx(0.0)
