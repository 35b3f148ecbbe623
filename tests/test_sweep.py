"""The sweep after a replacement keeps the bot's own order (defect 6 of the correctness work).

A lost order of the bot's own (its client id carries the bot's tag, but the database does not
know it) becomes visible only after the checks ran; right after the replacement is sent, the
sweep sees two working entries. It must cancel the lost one and keep the replacement the bot
placed, whatever their ids. Orders of anybody else are never touched (tests/test_several_bots.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from ghostsim import LostResponse
from tests.conftest import PAIR, loop, orders_of


def lost_own_id(bot: Any) -> str:
    """A client id of the bot's own (its tag) that its database does not know."""
    from ghostguard import identity

    tag = identity.bot_tag(identity.bot_identity("", bot.config, bot.strategy.get_strategy_name()))
    return f"{identity.own_prefix(tag)}{'0' * 12}e7"


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_the_sweep_cancels_the_unknown_order_and_keeps_the_bots(bot_on_sim, events, guard):
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        bid, _ = sim.best_bid_ask(PAIR)
        foreign = sim.place_order(  # lower id than R
            PAIR, "BUY", first.orig_qty, bid - 100, client_order_id=lost_own_id(bot)
        )
        foreign.visible_at = sim.now_ms + 3_600_000  # not in the open orders at check time
        sim.hold_order(foreign.order_id)

        def show_foreign() -> None:
            foreign.visible_at = sim.now_ms

        if guard:
            bot.strategy.ghost_guard.before_send = show_foreign
        else:
            show_foreign()
        sim.expire_order(first.order_id)
        loop(bot)
        entries = orders_of(sim, reduce_only=False)
        replacement = [o for o in entries if o.order_id > foreign.order_id]
        assert replacement and replacement[0].order_id > foreign.order_id
        if guard:
            assert replacement[0].is_open  # the bot's own order stays
            assert foreign.status == "CANCELED"  # the unknown one goes
            [cancelled] = events.named("DUPLICATE_CANCELLED")
            assert f"order_id={foreign.order_id}" in cancelled
        else:
            assert replacement[0].is_open and foreign.is_open  # an order the bot never learns of


def test_a_sweep_whose_read_failed_runs_again_next_loop(bot_on_sim, events) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        bid, _ = sim.best_bid_ask(PAIR)
        foreign = sim.place_order(
            PAIR, "BUY", first.orig_qty, bid - 100, client_order_id=lost_own_id(bot)
        )
        foreign.visible_at = sim.now_ms + 3_600_000
        sim.hold_order(foreign.order_id)
        real_handle = sim.handle
        armed: list[bool] = []

        def timing_out(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            if armed and method == "GET" and path == "/fapi/v1/openOrders":
                armed.clear()
                raise LostResponse()
            return real_handle(method, path, *args, **kwargs)

        def arm() -> None:  # after the checks: the sweep's read times out, the order shows
            armed.append(True)
            foreign.visible_at = sim.now_ms

        sim.handle = timing_out
        bot.strategy.ghost_guard.before_send = arm
        sim.expire_order(first.order_id)
        loop(bot)
        assert foreign.is_open  # the sweep could not read the open orders ...
        loop(bot)
        assert foreign.status == "CANCELED"  # ... and ran again on the next loop
        entries = orders_of(sim, reduce_only=False)
        assert [o for o in entries if o.order_id > foreign.order_id][0].is_open
