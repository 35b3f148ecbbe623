"""The chaos campaign (issue 4) as a test: 200 seeded fault schedules against a real
FreqtradeBot with GhostGuard on; any violation of an invariant fails, with replay commands.

`python -m tests.chaos --count 2000 --seed 1` (or `make chaos`) runs the full campaign with the
guard on and off and prints the table.
"""

from __future__ import annotations

import io
import os
import time

from tests.chaos.campaign import print_failure, replay_command, run_many
from tests.chaos.runner import run_schedule
from tests.chaos.schedule import generate


SEED = 20_000
COUNT = int(os.environ.get("GHOSTGUARD_CHAOS_COUNT", "200"))
JOBS = min(2, os.cpu_count() or 1)


def _assert_none_failing(failing: list, what: str) -> None:
    """Fail with each failing schedule's report and replay command (the schedule is
    regenerated from its seed, under the schedule settings the test set)."""
    if not failing:
        return
    report = io.StringIO()
    for result in failing:
        print_failure(result, generate(result.seed), log_lines=0, out=report)
    raise AssertionError(
        f"{len(failing)} of {what} violate an invariant with the guard on:\n{report.getvalue()}"
    )


def test_chaos_campaign_guard_on_has_no_violation(capsys) -> None:
    started = time.perf_counter()
    results = run_many(range(SEED, SEED + COUNT), [True], JOBS)
    seconds = time.perf_counter() - started
    assert len(results) == COUNT
    failing = [r for r in results if r.failed]
    with capsys.disabled():
        print(
            f"\nchaos: {COUNT} schedules (guard on) in {seconds:.1f}s, "
            f"{COUNT / seconds:.2f} schedules/s, {len(failing)} failing"
        )
    _assert_none_failing(failing, f"{COUNT} schedules")


VENUE_SEED = 30_000
VENUE_COUNT = int(os.environ.get("GHOSTGUARD_CHAOS_VENUE_COUNT", "60"))


def test_chaos_campaign_on_four_venues_guard_on_has_no_violation(monkeypatch, capsys) -> None:
    """The same campaign with each seed's venue drawn from its fifth stream (Binance USD-M,
    Binance spot, Bybit v5 linear, OKX v5 swap): `python -m tests.chaos --venues all`."""
    import tests.chaos.schedule as schedule_module

    monkeypatch.setattr(schedule_module, "VENUE_SET", "all")
    results = run_many(range(VENUE_SEED, VENUE_SEED + VENUE_COUNT), [True], JOBS)
    assert len(results) == VENUE_COUNT
    venues = {r.venue for r in results}
    assert venues == set(schedule_module.VENUES)
    failing = [r for r in results if r.failed]
    with capsys.disabled():
        print(f"\nchaos on four venues: {VENUE_COUNT} schedules (guard on), "
              f"{len(failing)} failing")
    _assert_none_failing(failing, f"{VENUE_COUNT} four-venue schedules")


def test_guard_off_run_finds_violations() -> None:
    """The campaign is sharp: a schedule the guard handles is a double position without it."""
    schedule = generate(11)
    off = run_schedule(schedule, guard=False)
    assert "a" in off.failed_invariants(), replay_command(schedule, False)


def test_schedules_are_reproducible_from_the_seed() -> None:
    assert generate(SEED).to_json() == generate(SEED).to_json()
    assert generate(SEED).to_json() != generate(SEED + 1).to_json()


ROUND_TWO_SEED = 40_000
ROUND_TWO_COUNT = int(os.environ.get("GHOSTGUARD_CHAOS_ROUND_TWO_COUNT", "60"))


def test_chaos_campaign_with_round_two_guard_on_has_no_violation(monkeypatch, capsys) -> None:
    """The four-venue campaign with the simulator's round-two faults drawn from each seed's
    ninth stream (venue ids, enforced budgets, the clock in Freqtrade's sleeps, the undocumented
    readings, acknowledged cancels that filled, Bybit's service restart, gateway pages):
    `python -m tests.chaos --venues all --round-two`."""
    import tests.chaos.roundtwo as roundtwo
    import tests.chaos.schedule as schedule_module

    monkeypatch.setattr(schedule_module, "VENUE_SET", "all")
    monkeypatch.setattr(roundtwo, "ROUND_TWO_SET", "on")
    results = run_many(range(ROUND_TWO_SEED, ROUND_TWO_SEED + ROUND_TWO_COUNT), [True], JOBS)
    assert len(results) == ROUND_TWO_COUNT
    assert sum(r.applied["rate_limits"] for r in results) > 0
    failing = [r for r in results if r.failed]
    with capsys.disabled():
        print(f"\nchaos with round two: {ROUND_TWO_COUNT} schedules (guard on), "
              f"{len(failing)} failing")
    _assert_none_failing(failing, f"{ROUND_TWO_COUNT} round-two schedules")
