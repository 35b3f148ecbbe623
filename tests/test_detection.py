"""The detections not covered by the scenarios: a cancel answer that says "already gone", the
watchlist's late fill, and the opt-in Telegram message."""

from __future__ import annotations

from typing import Any

import pytest
from freqtrade.persistence import PairLocks, Trade

from tests.conftest import PAIR, entry_filled_but_answered_cancelled, loop, orders_of


def test_replace_response_detection(bot_on_sim, events, script) -> None:
    script["reprice"] = True
    with bot_on_sim(strategy="OverridingMakerStrategy") as (sim, bot):
        loop(bot)
        [first] = orders_of(sim)
        sim.set_price(PAIR, sim.price(PAIR) + 10)
        sim.age_order(first.order_id, 120)
        sim.cancel_on_exchange(first.order_id)  # gone on the exchange ...
        sim.fault_stale_status(first.order_id, "NEW")  # ... while status queries still say open
        real_handle = sim.handle

        def honest_after_cancel(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            if method == "DELETE":
                sim.clear_faults(first.order_id)
            return real_handle(method, path, *args, **kwargs)

        sim.handle = honest_after_cancel
        loop(bot)
        [detected] = events.named("GHOST_ORDER_DETECTED")
        assert "detection=replace_response" in detected
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1


def test_watchlist_reports_a_late_fill_and_a_trade_adopts_it(bot_on_sim, events) -> None:
    """The breaker resolved the order (nothing filled: Freqtrade deleted its trade); it was
    working after all and fills. The watch reports the late fill, and the next loop books it
    into a new trade (before: the pair was locked for a year, the position unmanaged)."""
    with bot_on_sim() as (sim, bot):
        guard = bot.strategy.ghost_guard
        now = [1_000.0]
        guard.clock = lambda: now[0]
        loop(bot)
        [first] = orders_of(sim)
        sim.fault_not_found(first.order_id, None, on_cancel=True)  # unknown to query and cancel
        loop(bot, 4)  # breaker trips, the order is verified (no fills) and resolved
        assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
        assert events.named("GHOST_LATE_FILL") == []
        sim.clear_faults(first.order_id)
        sim.fill_order(first.order_id)  # it was working after all, and fills
        now[0] += 6  # the first re-check is due after 5 s: the open orders, then the trades
        loop(bot, 2)
        [late] = events.named("GHOST_LATE_FILL")
        assert f"order_id={first.order_id}" in late and "filled=0.002" in late
        loop(bot, 1)
        [adopted] = events.named("LATE_FILL_ADOPTED")
        assert "a new trade" in adopted
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(first.orig_qty)
        assert trade.enter_tag == "ghostguard_adopted" and trade.stop_loss > 0
        assert not PairLocks.is_pair_locked(PAIR)


def test_notify_sends_a_telegram_message_per_block(bot_on_sim, events, mocker) -> None:
    with bot_on_sim(extra={"ghost_guard": {"notify": True}}) as (sim, bot):
        send = mocker.spy(bot.rpc, "send_msg")
        entry_filled_but_answered_cancelled(sim, bot)
        loop(bot)
        texts = [c.args[0].get("status", "") for c in send.call_args_list]
        blocked = [t for t in texts if "was not sent:" in t]
        assert blocked and blocked[0].startswith(f"GhostGuard {PAIR}: a new entry order")
        assert "Freqtrade asks again next loop" in blocked[0]


def test_no_message_without_notify(bot_on_sim, events, mocker) -> None:
    with bot_on_sim() as (sim, bot):
        send = mocker.spy(bot.rpc, "send_msg")
        entry_filled_but_answered_cancelled(sim, bot)
        loop(bot)
        assert events.named("REPLACEMENT_BLOCKED")
        texts = [str(c.args[0].get("status", "")) for c in send.call_args_list]
        assert not any("was not sent:" in t for t in texts)
