"""The guard's state per pair in the bot's log (`summary`): every hour of the guard's clock and
when the bot stops, as `python -m ghostguard status` shows it, with this run's events counted
as they were logged."""

from __future__ import annotations

import logging

from ghostguard import events as guard_events
from ghostguard.summary import SUMMARY_EVERY_S, EventTally
from tests.conftest import PAIR, entry_filled_but_answered_cancelled, loop


def _summary_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "GhostGuard summary:" in r.getMessage()]


def test_the_tally_counts_the_kinds_status_shows_by_reason_code() -> None:
    tally = EventTally()
    tally("REPLACEMENT_BLOCKED", {"pair": "A", "reason": "position_mismatch(db=0 ex=1)"})
    tally("REPLACEMENT_BLOCKED", {"pair": "A", "reason": "position_mismatch(db=0 ex=2)"})
    tally("GHOST_ORDER_REPLACED", {"pair": "B", "order_id": "1"})
    tally("GHOST_ORDER_DETECTED", {"pair": "B"})  # what the records show is not counted twice
    tally("REPLACEMENT_BLOCKED", {"reason": "no pair"})
    assert tally.counts == {
        ("REPLACEMENT_BLOCKED", "A", "position_mismatch"): 2,
        ("GHOST_ORDER_REPLACED", "B", ""): 1,
    }


def test_a_block_shows_in_the_hourly_summary_and_at_stop(bot_on_sim, caplog) -> None:
    caplog.set_level(logging.INFO, logger="ghostguard")
    with bot_on_sim() as (sim, bot):
        guard = bot.strategy.ghost_guard
        now = [1_000.0]
        guard.clock = lambda: now[0]
        entry_filled_but_answered_cancelled(sim, bot)
        loop(bot)  # the replacement is blocked: the position says it filled
        assert _summary_lines(caplog) == []  # not before the hour
        now[0] += SUMMARY_EVERY_S + 1
        loop(bot)
        hourly = _summary_lines(caplog)
        assert any("every 1 h" in line for line in hourly), hourly
        assert any(line.endswith(PAIR) for line in hourly), hourly
        assert any("blocked (position_mismatch" in line or "blocked (position_already_exists"
                   in line for line in hourly), hourly
        caplog.clear()
        guard.uninstall()
        bot.strategy.ghost_guard = None
        at_stop = _summary_lines(caplog)
        assert any("at stop" in line for line in at_stop), at_stop
        assert guard.tally not in guard_events._listeners


def test_a_block_with_several_reasons_counts_each_code() -> None:
    """A verdict joins its denials with commas (`Verdict.describe`): each code counts (the
    status command split on "; " and counted only the first)."""
    tally = EventTally()
    tally("REPLACEMENT_BLOCKED", {"pair": "A", "reason": (
        "duplicate_working_order(ids=1000001),exposure_exceeds_target(exposure=0.004 "
        "target=0.002)")})
    assert tally.counts == {
        ("REPLACEMENT_BLOCKED", "A", "duplicate_working_order,exposure_exceeds_target"): 1
    }
