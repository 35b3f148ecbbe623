"""The campaign: many seeded schedules, guard on and/or off, a table, shrunk reproductions.

    python -m tests.chaos --count 300 --seed 1000 --guard both
    python -m tests.chaos --replay 1017 --guard on            # one schedule, full log
    python -m tests.chaos --schedule '<json>' --guard on      # a shrunk reproduction

Schedule i of a campaign has seed ``seed + i``; ``--replay SEED`` rebuilds it from the seed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from tests.chaos.schedule import KINDS, Schedule, generate


def quiet_freqtrade_logging() -> None:
    """Freqtrade reconfigures the root logger on every bot build (not under pytest): stop that,
    the runner captures the records of each schedule itself."""
    import logging

    import freqtrade.configuration.configuration as ft_configuration

    ft_configuration.setup_logging = lambda config: None  # type: ignore[assignment]
    logging.lastResort = logging.NullHandler()  # type: ignore[assignment] - no stray stderr


def replay_command(schedule: Schedule, guard: bool, shrunk: bool = False) -> str:
    mode = "on" if guard else "off"
    if shrunk:
        return f"python -m tests.chaos --guard {mode} --schedule '{schedule.to_json()}'"
    import tests.chaos.roundtwo as roundtwo
    import tests.chaos.schedule as drawn  # the draw settings the seed was generated under

    flags = "".join((
        " --venues all" if drawn.VENUE_SET == "all" else "",
        " --faults new" if drawn.FAULT_SET == "new" else "",
        " --other-bot" if drawn.OTHER_BOT_SET == "on" else "",
        " --round-two" if roundtwo.ROUND_TWO_SET == "on" else "",
    ))
    return f"python -m tests.chaos --guard {mode}{flags} --replay {schedule.seed}"


# ------------------------------------------------------------------ running many


def _run_one(args: tuple[int, bool]) -> Any:
    from tests.chaos.runner import run_schedule

    seed, guard = args
    return run_schedule(generate(seed), guard)


def _worker_init() -> None:
    quiet_freqtrade_logging()


def run_many(seeds: Iterable[int], guards: Iterable[bool], jobs: int) -> list[Any]:
    """Results for every (seed, guard), in order. ``jobs`` > 1: a fork pool (each worker builds
    its own bots; the harness's patches are per process)."""
    work = [(seed, guard) for seed in seeds for guard in guards]
    if jobs <= 1 or len(work) < 4:
        quiet_freqtrade_logging()
        return [_run_one(item) for item in work]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs, initializer=_worker_init, maxtasksperchild=200) as pool:
        return list(pool.imap(_run_one, work, chunksize=2))


# ------------------------------------------------------------------ shrinking


def shrink(
    schedule: Schedule,
    guard: bool,
    invariant: str,
    budget_s: float = 60.0,
    max_runs: int = 80,
    run: Callable[[Schedule, bool], Any] | None = None,
) -> tuple[Schedule, Any, int]:
    """Drop events and steps while ``invariant`` still fails. Returns (smallest, its result,
    runs used). Greedy delta debugging: truncate after the failing step, drop halves, then
    single events, then steps with no events."""
    from tests.chaos.runner import run_schedule

    run = run or run_schedule
    started = time.perf_counter()
    runs = 0

    def fails(candidate: Schedule) -> Any:
        nonlocal runs
        runs += 1
        result = run(candidate, guard)
        return result if invariant in result.failed_invariants() else None

    best = schedule
    best_result = run(best, guard)
    runs += 1
    if invariant not in best_result.failed_invariants():
        return best, best_result, runs  # flaky: keep the original

    def budget_left() -> bool:
        return runs < max_runs and time.perf_counter() - started < budget_s

    def with_events(events: list[dict[str, Any]], steps: int | None = None) -> Schedule:
        steps = best.steps if steps is None else steps
        kept = [e for e in events if e["step"] < steps]
        # The run settings (venue, stop-loss, dry-run, ...) stay the schedule's own.
        return replace(best, steps=steps, advance_s=best.advance_s[:steps], events=kept)

    # 1. cut the steps after the one where the invariant first failed (a/d fail mid-run).
    first = best_result.first_step.get(invariant)
    if first is not None and first + 1 < best.steps:
        candidate = with_events(best.events, first + 1)
        result = fails(candidate)
        if result is not None:
            best, best_result = candidate, result
    # 2. drop chunks of events, halving the chunk size (ddmin-like), then single ones.
    chunk = max(1, len(best.events) // 2)
    while chunk >= 1 and budget_left():
        i = 0
        changed = False
        while i < len(best.events) and budget_left():
            candidate = with_events(best.events[:i] + best.events[i + chunk :])
            result = fails(candidate)
            if result is not None:
                best, best_result, changed = candidate, result, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    # 3. shorten: drop steps that carry no event (re-number the later ones), from the end.
    step = best.steps - 1
    while step >= 0 and budget_left() and best.steps > 1:
        if not any(e["step"] == step for e in best.events):
            events = [dict(e, step=e["step"] - 1) if e["step"] > step else e for e in best.events]
            adv = best.advance_s[:step] + best.advance_s[step + 1 :]
            candidate = replace(best, steps=best.steps - 1, advance_s=adv, events=events)
            result = fails(candidate)
            if result is not None:
                best, best_result = candidate, result
        step -= 1
    return best, best_result, runs


# ------------------------------------------------------------------ report


@dataclass
class Summary:
    schedules: int = 0
    seconds: float = 0.0
    per_invariant: dict[bool, Counter[str]] = field(
        default_factory=lambda: {True: Counter(), False: Counter()}
    )
    failing: dict[bool, list[Any]] = field(default_factory=lambda: {True: [], False: []})
    applied: dict[bool, Counter[str]] = field(
        default_factory=lambda: {True: Counter(), False: Counter()}
    )
    ran: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    venue_ran: dict[bool, Counter[str]] = field(
        default_factory=lambda: {True: Counter(), False: Counter()}
    )
    venue_failed: dict[bool, Counter[str]] = field(
        default_factory=lambda: {True: Counter(), False: Counter()}
    )
    # request weight used, per venue, in the venue's own unit (Binance weight, else requests)
    weight: dict[bool, Counter[str]] = field(
        default_factory=lambda: {True: Counter(), False: Counter()}
    )

    def add(self, result: Any) -> None:
        g = result.guard
        self.ran[g] += 1
        self.venue_ran[g][result.venue] += 1
        self.weight[g][result.venue] += getattr(result, "weight", 0)
        if result.failed:
            self.venue_failed[g][result.venue] += 1
        self.applied[g].update(result.applied)
        for inv in result.failed_invariants():
            self.per_invariant[g][inv] += 1
        if result.failed:
            self.failing[g].append(result)

    def violations(self, guard: bool) -> int:
        return len(self.failing[guard])


def table(summary: Summary, guards: list[bool]) -> str:
    from tests.chaos.runner import INVARIANTS

    def col(guard: bool, value: Any) -> str:
        return f"{value:>9}" if guard in guards else f"{'-':>9}"

    out = [
        f"{'':52}{'guard on':>9}{'guard off':>10}",
        f"{'schedules run':52}{col(True, summary.ran[True])} {col(False, summary.ran[False])}",
        f"{'schedules violating any invariant':52}"
        f"{col(True, summary.violations(True))} {col(False, summary.violations(False))}",
    ]
    for inv, text in INVARIANTS.items():
        out.append(
            f"{f'  ({inv}) {text}'[:52]:52}{col(True, summary.per_invariant[True][inv])}"
            f" {col(False, summary.per_invariant[False][inv])}"
        )
    venues = sorted(set(summary.venue_ran[True]) | set(summary.venue_ran[False]))
    if len(venues) > 1:
        out.append("per venue: schedules run / violating")
        for venue in venues:
            cells = [
                f"{summary.venue_ran[g][venue]}/{summary.venue_failed[g][venue]}"
                if g in guards else "-"
                for g in (True, False)
            ]
            out.append(f"{f'  {venue}':52}{cells[0]:>9} {cells[1]:>9}")
    out.append("request weight used (Binance: its weights; Bybit, OKX: requests), all runs:")
    for venue in venues:
        out.append(f"{f'  {venue}':52}{col(True, summary.weight[True][venue])}"
                   f" {col(False, summary.weight[False][venue])}")
    out.append("faults exercised (events applied to a live target):")
    for kind in KINDS:
        out.append(
            f"{f'  {kind}':52}{col(True, summary.applied[True][kind])}"
            f" {col(False, summary.applied[False][kind])}"
        )
    return "\n".join(out)


def print_failure(result: Any, schedule: Schedule, *, log_lines: int, out: Any) -> None:
    mode = "on" if result.guard else "off"
    print(
        f"FAIL seed={result.seed} guard={mode} invariants={','.join(result.failed_invariants())}"
        f"  replay: {replay_command(schedule, result.guard)}",
        file=out,
    )
    for inv in result.failed_invariants():
        for line in result.violations[inv][:3]:
            print(f"    ({inv}) {line.splitlines()[0]}", file=out)
    if log_lines:
        print("  schedule:", file=out)
        print("    " + schedule.describe().replace("\n", "\n    "), file=out)
        print(f"  log (last {log_lines} lines):", file=out)
        for line in _interesting(result.log)[-log_lines:]:
            print(f"    {line}", file=out)


def _interesting(lines: list[str]) -> list[str]:
    drop = ("Cannot query order", "Retrying still", "Updating 0 open orders", "Wallets synced")
    return [line for line in lines if not any(d in line for d in drop)]


# ------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--guard", choices=("on", "off", "both"), default="both")
    parser.add_argument("--replay", type=int, help="run the schedule of one seed, full log")
    parser.add_argument("--schedule", help="run a schedule given as JSON (a shrunk repro)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--shrink",
        type=int,
        default=10,
        help="shrink at most this many failing guard-on schedules (0: none)",
    )
    parser.add_argument(
        "--shrink-off",
        type=int,
        default=2,
        help="shrink at most this many failing guard-off schedules",
    )
    parser.add_argument("--log-lines", type=int, default=60)
    parser.add_argument(
        "--faults",
        choices=("all", "new"),
        default="all",
        help="new: each seed's trading script with only the newer faults (lagging views, "
        "unknown outcomes, archival downtime, rate limits, stoploss_on_exchange)",
    )
    parser.add_argument(
        "--venues",
        choices=("binance", "all"),
        default="binance",
        help="all: each seed's venue drawn from a fifth stream (Binance USD-M, Binance spot, "
        "Bybit v5 linear, OKX v5 swap)",
    )
    parser.add_argument(
        "--other-bot",
        action="store_true",
        help="another bot of the account trades the schedule's symbol in some schedules (an "
        "eighth stream, futures venues; invariant m)",
    )
    parser.add_argument(
        "--round-two",
        action="store_true",
        help="draw the simulator's round-two faults from a ninth stream of each seed (venue "
        "order ids, rate limits from load, the clock in Freqtrade's sleeps, undocumented "
        "readings, acknowledged cancels that filled, Bybit's service restart, gateway pages)",
    )
    args = parser.parse_args(argv)
    import tests.chaos.roundtwo as roundtwo_module
    import tests.chaos.schedule as schedule_module

    roundtwo_module.ROUND_TWO_SET = "on" if args.round_two else "off"

    schedule_module.FAULT_SET = args.faults
    schedule_module.VENUE_SET = args.venues
    schedule_module.OTHER_BOT_SET = "on" if args.other_bot else "off"
    guards = {"on": [True], "off": [False], "both": [True, False]}[args.guard]
    quiet_freqtrade_logging()
    started = time.perf_counter()

    if args.replay is not None or args.schedule:
        from tests.chaos.runner import run_schedule

        schedule = Schedule.from_json(args.schedule) if args.schedule else generate(args.replay)
        print(schedule.describe())
        bad = 0
        for guard in guards:
            result = run_schedule(schedule, guard, keep_log=True)
            print(
                f"\n===== guard {'on' if guard else 'off'}: "
                f"{result.failed_invariants() or 'no violation'} ({result.seconds:.2f}s)"
            )
            for line in _interesting(result.log):
                print(f"  {line}")
            for inv in result.failed_invariants():
                for line in result.violations[inv]:
                    print(f"  VIOLATION ({inv}) {line}")
            bad += int(result.failed)
        return 1 if bad else 0

    seeds = range(args.seed, args.seed + args.count)
    results = run_many(seeds, guards, args.jobs)
    summary = Summary(schedules=args.count)
    for result in results:
        summary.add(result)
    run_seconds = time.perf_counter() - started
    out = sys.stdout
    for guard, limit in ((True, args.shrink), (False, args.shrink_off)):
        if guard not in guards:
            continue
        failing = summary.failing[guard]
        if not failing:
            continue
        mode = "on" if guard else "off"
        print(f"\n##### guard {mode}: {len(failing)} failing schedules", file=out)
        for i, result in enumerate(failing):
            schedule = generate(result.seed)
            if i >= limit:
                print_failure(result, schedule, log_lines=0, out=out)
                continue
            inv = result.failed_invariants()[0]
            small, small_result, runs = shrink(schedule, guard, inv)
            print_failure(result, schedule, log_lines=0, out=out)
            print(
                f"  shrunk ({runs} runs) to {len(small.events)} events / {small.steps} steps,"
                f" still ({inv}):",
                file=out,
            )
            print(f"  replay shrunk: {replay_command(small, guard, shrunk=True)}", file=out)
            print_failure(small_result, small, log_lines=args.log_lines, out=out)
    seconds = time.perf_counter() - started
    runs = sum(summary.ran.values())
    print("\n" + table(summary, guards), file=out)
    print(
        f"\nruns {runs} in {run_seconds:.1f}s with {args.jobs} jobs: "
        f"{args.count / run_seconds:.2f} schedules/s ({runs / run_seconds:.2f} runs/s)",
        file=out,
    )

    def count(guard: bool) -> str:  # a side that did not run is "-", never a made-up 0
        return str(summary.violations(guard)) if guard in guards else "-"

    print(
        f"CHAOS RESULT schedules={args.count} guard_on_violations={count(True)}"
        f" guard_off_violations={count(False)} seconds={seconds:.1f}",
        file=out,
    )
    return 1 if summary.violations(True) else 0


__all__ = ["main", "quiet_freqtrade_logging", "replay_command", "run_many", "shrink", "table"]
