"""A block that cannot pass is decided without network and logged once (defect 13 of the
correctness work): Freqtrade retries the entry every loop; the guard must not send its three
check requests and log a WARNING each time."""

from __future__ import annotations

from tests.conftest import PAIR, loop, orders_of


def _check_requests(sim) -> list[str]:
    """The guard's check requests (Freqtrade's own wallet update reads every position, without
    a symbol, when it tries to enter)."""
    return [
        f"{r.method} {r.path}"
        for r in sim.requests
        if r.path == "/fapi/v1/openOrders"
        or (r.path == "/fapi/v3/positionRisk" and "symbol" in r.params)
        or (r.method == "GET" and r.path == "/fapi/v1/order")
    ]


def test_auto_replace_off_blocks_once_without_requests(bot_on_sim, events) -> None:
    extra = {"ghost_guard": {"auto_replace_cancelled_orders": False}}
    with bot_on_sim(extra=extra) as (sim, bot):
        loop(bot)
        [first] = orders_of(sim, reduce_only=False)
        sim.expire_order(first.order_id)
        loop(bot)
        sim.reset_requests()
        loop(bot, 30)
        assert len(orders_of(sim, reduce_only=False)) == 1
        assert _check_requests(sim) == []
        [blocked] = events.named("REPLACEMENT_BLOCKED")
        assert "auto_replace_disabled" in blocked
        assert bot.strategy.ghost_guard.stats["blocked_repeats"] >= 29


def test_attempt_limit_blocks_once_without_requests(bot_on_sim, events) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        for _ in range(4):
            [working] = [o for o in orders_of(sim, reduce_only=False) if o.is_open]
            sim.expire_order(working.order_id)
            loop(bot)
        assert not [o for o in orders_of(sim, reduce_only=False) if o.is_open]
        sim.reset_requests()
        loop(bot, 20)
        assert _check_requests(sim) == []
        blocked = [b for b in events.named("REPLACEMENT_BLOCKED") if PAIR in b]
        assert len(blocked) == 1 and "max_replacement_attempts" in blocked[0]
        assert len(events.named("MAX_REPLACEMENT_ATTEMPTS_REACHED")) == 1


def test_a_stopped_or_reloaded_bot_leaves_no_guard_behind(bot_on_sim) -> None:
    """/reload_config builds a new bot and strategy; the old bot's cleanup must take its guard
    away (wrappers off the exchange, the guard's threads stopped)."""
    with bot_on_sim() as (_, bot):
        guard = bot.strategy.ghost_guard
        assert "create_order" in vars(bot.exchange)
        bot.cleanup()
        assert bot.strategy.ghost_guard is None
        assert not {"create_order", "fetch_order", "cancel_order_with_result", "_get_params"} & set(
            vars(bot.exchange)
        )
        assert not {"execute_trade_exit", "startup_update_open_orders"} & set(vars(bot))
        assert guard.gate.pool._shutdown
