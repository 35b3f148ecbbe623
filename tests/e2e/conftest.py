"""End-to-end runs: real `freqtrade trade` processes against the loopback simulator.

Every scenario is one `FreqtradeRun` (its own server, fault schedule, config, log and database).
The runs the collected tests need are started together, in parallel, the first time a test asks
for one, and each stops by itself: when its condition holds (plus a short settle time, so that
anything that should NOT happen afterwards has the chance to), or at its upper bound.

Scenarios 1, 2 (and its guard-off twin), 7 and 8 also run on the other venues the simulator
speaks (`VENUES`): a run named `s1@bybit` is scenario 1 on Bybit v5 linear, with the venue's pair,
strategy (spot: long only), time in force and answers (the venue's face words the faults). Their
fills are all driven by the fault schedule, never left to the price path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from ghostsim import SimExchange
from ghostsim.ftrun import FreqtradeRun, db_rows, event_seen


PAIR = "BTC/USDT:USDT"
SID = "BTCUSDT"
Until = Callable[[FreqtradeRun], bool]

# The venue variants next to Binance USD-M (the engine's own dialect): venue -> its pair.
VENUE_PAIRS: dict[str, str] = {
    "binance": PAIR,
    "binance-spot": "BTC/USDT",  # a spot pair has no settle currency
    "bybit": PAIR,
    "okx": PAIR,  # traded in contracts of 0.01 BTC; the simulator's ledger is in BTC
}
VENUES: tuple[str, ...] = ("binance-spot", "bybit", "okx")
VENUE_SCENARIOS: tuple[str, ...] = ("s1", "s2", "s2_off", "s7", "s8")


def run_name(scenario: str, venue: str = "binance") -> str:
    """The run's name: the scenario's, `@venue` for a venue variant."""
    return scenario if venue == "binance" else f"{scenario}@{venue}"


def _pair(run: FreqtradeRun) -> str:
    return next(iter(run.sim.specs.values())).symbol


def _position_reaches(factor: float) -> Until:
    def until(run: FreqtradeRun) -> bool:
        entries = [e["qty"] for e in run.sim.ledger if e["event"] == "new"]
        return bool(entries) and abs(run.sim.position(_pair(run))) >= factor * entries[0] - 1e-12

    return until


def _position_closed(run: FreqtradeRun) -> bool:
    """Flat, up to spot's dust: a spot BUY pays its 0.1 % fee in BTC and Freqtrade floors the
    rest to the step, so the sell is up to one step (0.5 % of 0.00219 BTC) smaller."""
    entries = [e["qty"] for e in run.sim.ledger if e["event"] == "new"]
    return bool(entries) and abs(run.sim.position(_pair(run))) <= 0.01 * entries[0]


def _all(*conditions: Until) -> Until:
    return lambda run: all(c(run) for c in conditions)


def _guard_locked(run: FreqtradeRun) -> bool:
    return any(
        str(r["reason"] or "").startswith("GhostGuard")
        for r in db_rows(run.db_path, "SELECT * FROM pairlocks")
    )


def _db_trade_filled(run: FreqtradeRun) -> bool:
    return any(t["is_open"] and (t["amount"] or 0) > 0 for t in run.trades())


def _db_has_filled_order(run: FreqtradeRun) -> bool:
    return any(r["status"] == "closed" and (r["filled"] or 0) > 0 for r in run.orders())


@dataclass
class Scenario:
    schedule: list[dict[str, Any]]
    until: Until
    max_s: float = 120.0  # includes start-up, slow when all runs start at once
    settle_s: float = 4.0
    guard: bool = True
    dry_run: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    step_s: float = 0.5  # the price path's step (FROZEN: the price never moves)


# A price path whose one step lasts longer than any run: the price never moves. The venue
# variants fill only by the schedule, and a frozen book also means the bot's post-only order,
# priced at the book it read, can never cross between that read and the create (which a
# loaded CI machine, with a second of latency, does see on a moving path: -5022 / -2010, or
# Bybit's and OKX's accept-then-cancel, and one more ghost than the scenario has).
FROZEN = 1e9


SCENARIOS: dict[str, Scenario] = {
    # 1 true cancellation: the exchange expires the resting entry; replaced once.
    "s1": Scenario(
        [{"order": 1, "after_s": 0.3, "do": "expire"},
         # the replacement fills (not left to the price path, whose trough may sit at it)
         {"order": 2, "after_s": 0.5, "do": "fill"}],
        _all(event_seen("GHOST_ORDER_REPLACED"), _position_reaches(1.0)),
    ),
    # 2 the entry fills, the status answer says CANCELED with nothing filled.
    "s2": Scenario(
        [{"order": 1, "do": "fill_stale"}],
        lambda run: event_seen("REPLACEMENT_BLOCKED")(run) or _db_trade_filled(run),
    ),
    # its guard-off twin: the bot's second entry (the double) is filled by the schedule on a
    # frozen price, as on every venue (left to the price path, it did not fill within the run's
    # bound on a loaded CI machine: the condition was never reached)
    "s2_off": Scenario(
        [{"order": 1, "do": "fill_stale"}, {"order": 2, "after_s": 0.3, "do": "fill"}],
        _position_reaches(2.0), settle_s=1.0, guard=False, step_s=FROZEN),
    # 3 half filled, then cancelled by the exchange; the strategy wants to add (DCA).
    "s3": Scenario(
        [{"order": 1, "after_s": 0.3, "do": "partial_cancel"}],
        event_seen("REPLACEMENT_BLOCKED", "original_order_partial"),
        settings={"dca": True},
    ),
    # 4 a second working entry the bot does not know exists when the first expires: blocked,
    # then (the reconciliation cannot explain an order of somebody else) the pair is locked,
    # a few loops later -- waited for, not timed.
    "s4": Scenario(
        [{"order": 1, "after_s": 0.3, "do": "foreign_order"},
         {"order": 1, "after_s": 0.6, "do": "expire"}],
        _all(event_seen("REPLACEMENT_BLOCKED", "duplicate_working_order"), _guard_locked),
    ),
    # 5 the signal flips to short while the long entry is due for a re-price.
    "s5": Scenario(
        [{"order": 1, "do": "hold"},
         {"order": 1, "do": "signal", "value": "short"},
         # aged only after the bot has analysed the flipped signal at least once
         {"order": 1, "after_s": 2.5, "do": "age", "seconds": 120}],
        event_seen("REPLACEMENT_BLOCKED", "signal_no_longer_active"),
        settings={"reprice": True},
    ),
    # 6 every entry expires 0.2 s after it is placed.
    "s6": Scenario(
        [{"every": True, "after_s": 0.2, "do": "expire"}],
        event_seen("MAX_REPLACEMENT_ATTEMPTS_REACHED"),
    ),
    # 7 the entry fills, then every query of it answers -2013 "Order does not exist".
    "s7": Scenario(
        [{"order": 1, "after_s": 0.2, "do": "fill"},
         {"order": 1, "after_s": 0.2, "do": "not_found"}],
        event_seen("GHOST_ORDER_DETECTED", "detection=circuit_breaker"),
        max_s=150,
    ),
    # 8 the exit is expired by the exchange; re-exit within the position. Every fill is the
    # schedule's on a frozen price (a price-path fill, or a post-only order crossing a moving
    # book between the bot's read and its order, made it flaky on every venue).
    "s8": Scenario(
        [{"order": 1, "after_s": 0.3, "do": "fill", "hold": True},
         {"order": 1, "role": "exit", "after_s": 0.3, "do": "expire"},
         {"order": 2, "role": "exit", "after_s": 0.5, "do": "fill", "hold": True}],
        _all(event_seen("GHOST_ORDER_REPLACED", "type=exit"),
             lambda run: run.sim.position(_pair(run)) == 0),
        settings={"hold_s": 2}, step_s=FROZEN,
    ),
    # --dry-run: Freqtrade's own order simulation on the simulator's market data. The entry is
    # priced at the ask (Freqtrade fills a crossing dry-run limit at once), so the fill does not
    # wait for the price path to come down to a resting bid within the run's bound.
    "dry_run": Scenario([], _db_has_filled_order, settle_s=1.0, dry_run=True,
                        settings={"hold_s": 2},
                        extra={"entry_pricing": {"price_side": "other"}}),
}


def _venue_scenario(name: str) -> Scenario:
    """A scenario as it runs on the other venues: every fill driven by the schedule."""
    if name != "s8":
        return replace(SCENARIOS[name], step_s=FROZEN)
    # 8: as on Binance USD-M, flat meaning "closed" in the venue's terms (spot: fee dust left).
    return replace(SCENARIOS["s8"], until=_all(event_seen("GHOST_ORDER_REPLACED", "type=exit"),
                                               _position_closed))


def scenario_of(run: str) -> tuple[Scenario, str]:
    """The scenario and venue of a run name (`s1`, `s1@bybit`)."""
    name, _, venue = run.partition("@")
    return (_venue_scenario(name), venue) if venue else (SCENARIOS[name], "binance")


def make_run(name: str, scenario: Scenario, venue: str = "binance") -> FreqtradeRun:
    sim = SimExchange([VENUE_PAIRS[venue]], seed=11, venue=venue)
    extra = {
        "max_open_trades": 1,
        "unfilledtimeout": {"entry": 300, "exit": 300, "exit_timeout_count": 0,
                            "unit": "seconds"},
        **scenario.extra,
    }
    return FreqtradeRun(f"e2e-{name.replace('@', '-')}", sim, schedule=scenario.schedule,
                        guard=scenario.guard,
                        dry_run=scenario.dry_run, sim_settings={"signal": "long",
                                                                **scenario.settings},
                        extra_config=extra, step_s=scenario.step_s)


@dataclass
class Finished:
    run: FreqtradeRun
    condition_met: bool


_results: dict[str, Finished] = {}
_lock = threading.Lock()


def _run_all(names: list[str]) -> None:
    """Binance USD-M's runs together, then the venue variants together: the Binance runs keep
    the load they were tuned for (their price path moves, and on a machine loaded with twice the
    processes a post-only order can cross between the bot's book read and its create: -5022,
    one more ghost than the scenario has); the variants' frozen price has no such race."""
    for batch in ([n for n in names if "@" not in n], [n for n in names if "@" in n]):
        if batch:
            _run_batch(batch)


def _run_batch(names: list[str]) -> None:
    def one(name: str) -> None:
        scenario, venue = scenario_of(name)
        run = make_run(name, scenario, venue)
        met = run.run(scenario.until, scenario.max_s, scenario.settle_s)
        _results[name] = Finished(run, met)

    threads = [threading.Thread(target=one, args=(n,), name=f"e2e-{n}") for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _needed(session: pytest.Session) -> list[str]:
    names: list[str] = []
    for item in session.items:
        marker = item.get_closest_marker("e2e")
        if marker is not None and marker.args[0] not in names:
            names.append(marker.args[0])
    return names


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e(name): needs the end-to-end run of that scenario")


@pytest.fixture
def e2e(request: pytest.FixtureRequest) -> Finished:
    """The finished run named by the test's `@pytest.mark.e2e(name)`."""
    name = request.node.get_closest_marker("e2e").args[0]
    with _lock:
        if name not in _results:
            pending = [n for n in _needed(request.session) if n not in _results]
            _run_all(pending or [name])
    return _results[name]
