"""Each position-adjustment decision is its own signal (defect 12 of the correctness work).

The first entry of a trade ghosts three times (its three replacements used up); once it fills,
a DCA order is its own decision: when that order ghosts, its replacement goes out.
"""

from __future__ import annotations

from tests.conftest import loop, orders_of


def test_a_dca_ghost_has_its_own_attempt_budget(bot_on_sim, events, script) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        for _ in range(3):  # the first entry expires three times: 3/3 replacements approved
            [working] = [o for o in orders_of(sim, reduce_only=False) if o.is_open]
            sim.expire_order(working.order_id)
            loop(bot)
        [first] = [o for o in orders_of(sim, reduce_only=False) if o.is_open]
        sim.fill_order(first.order_id)
        loop(bot)
        script["dca"] = True  # one position adjustment
        loop(bot)
        [dca] = [o for o in orders_of(sim, reduce_only=False) if o.is_open]
        approved_before = len(events.named("GHOST_ORDER_RECOVERY_APPROVED"))
        sim.expire_order(dca.order_id)
        loop(bot, 2)
        assert not any("max_replacement_attempts" in b for b in events.named("REPLACEMENT_BLOCKED"))
        approved = events.named("GHOST_ORDER_RECOVERY_APPROVED")[approved_before:]
        assert len(approved) == 1 and "attempt=1/3" in approved[0]
        assert [o for o in orders_of(sim, reduce_only=False) if o.is_open]
