"""Scenarios 1, 2 (with its guard-off twin), 7 and 8 as real `freqtrade trade` processes on the
other venues the simulator speaks: Binance spot, Bybit v5 linear and OKX v5 swap, each through
Freqtrade's own venue class (spot: `SimSpotStrategy`, long only; OKX: GTC, amounts in contracts).
Each test asserts what its Binance USD-M twin in test_e2e_scenarios.py asserts; the runs are
`s1@bybit` and so on (conftest.scenario_of), their fills all driven by the fault schedule.
"""

from __future__ import annotations

from typing import Any

import pytest

from ghostsim.ftrun import (
    FreqtradeRun,
    bot_orders,
    double_position_episodes,
    intended_size,
    is_exit,
    max_working_orders,
)
from tests.e2e.conftest import SID, VENUE_PAIRS, VENUES, Finished, run_name
from tests.e2e.test_e2e_scenarios import _assert_ran, _detected, _locks


def _venues(scenario: str) -> Any:
    return pytest.mark.parametrize("venue", [
        pytest.param(v, marks=pytest.mark.e2e(run_name(scenario, v)), id=v) for v in VENUES
    ])


def _entries(run: FreqtradeRun) -> list[dict[str, Any]]:
    return [e for e in bot_orders(run.sim, SID) if not is_exit(run.sim, e)]


def _exits(run: FreqtradeRun) -> list[dict[str, Any]]:
    return [e for e in bot_orders(run.sim, SID) if is_exit(run.sim, e)]


def _rel(venue: str) -> float:
    """How close Freqtrade's trade amount is to the order's: a spot BUY pays its 0.1 % fee in
    BTC and Freqtrade floors the rest to the step (0.00219 -> 0.00218); futures amounts are
    exact (OKX: contracts x 0.01 BTC)."""
    return 0.01 if venue == "binance-spot" else 1e-9


def _assert_safe(run: FreqtradeRun, venue: str) -> None:
    """The properties every guarded scenario keeps: one order's size, one working order."""
    pair = VENUE_PAIRS[venue]
    size = intended_size(run.sim, SID)
    assert size > 0
    assert run.sim.max_abs_position(pair) <= size + 1e-12
    assert double_position_episodes(run.sim, SID) == 0
    assert max_working_orders(run.sim, SID, reduce_only=False) <= 1
    assert max_working_orders(run.sim, SID, reduce_only=True) <= 1


def _assert_venue(done: Finished, venue: str) -> None:
    """The run spoke the venue's own dialect (not the engine's) and traded its pair."""
    run = done.run
    assert run.sim.venue == venue and run.sim.face is not None
    assert [s.symbol for s in run.sim.specs.values()] == [VENUE_PAIRS[venue]]


@_venues("s1")
def test_s1_true_cancellation_is_replaced_once(e2e: Finished, venue: str) -> None:
    _assert_ran(e2e, "expire")
    _assert_venue(e2e, venue)
    run = e2e.run
    first = _entries(run)[0]
    [detected] = run.events("GHOST_ORDER_DETECTED")
    assert detected.get("detection") == "rest_status"
    assert detected.get("order_id") == str(first["order_id"])
    assert len(run.events("GHOST_ORDER_RECOVERY_APPROVED")) == 1
    [replaced] = run.events("GHOST_ORDER_REPLACED")
    assert replaced.get("attempt") == "1/3"
    assert run.events("REPLACEMENT_BLOCKED") == []
    assert len(_entries(run)) == 2
    _assert_safe(run, venue)
    [trade] = [t for t in run.trades() if t["is_open"]]
    assert trade["amount"] == pytest.approx(first["qty"], rel=_rel(venue))
    assert run.sim.position(VENUE_PAIRS[venue]) == pytest.approx(first["qty"])


@_venues("s2")
def test_s2_stale_cancelled_answer_never_doubles(e2e: Finished, venue: str) -> None:
    _assert_ran(e2e, "fill_stale")
    _assert_venue(e2e, venue)
    run = e2e.run
    first = _entries(run)[0]
    assert len(_entries(run)) == 1  # no second order
    _assert_safe(run, venue)
    [detected] = run.events("GHOST_ORDER_DETECTED")
    assert detected.get("detection") == "rest_status"
    blocked = run.events("REPLACEMENT_BLOCKED")
    if blocked:
        assert "position_already_exists" in blocked[0].get("reason")
        assert "original_order" not in blocked[0].get("reason")
        assert any(r["reason"].startswith("GhostGuard") for r in _locks(run))
    else:
        [trade] = [t for t in run.trades() if t["is_open"]]
        assert trade["amount"] == pytest.approx(first["qty"], rel=_rel(venue))


@_venues("s2_off")
def test_s2_guard_off_twin_doubles_the_position(e2e: Finished, venue: str) -> None:
    _assert_ran(e2e, "fill_stale")
    _assert_venue(e2e, venue)
    run = e2e.run
    size = _entries(run)[0]["qty"]
    assert run.events() == []  # GhostGuard disabled: no guard events at all
    assert len(_entries(run)) >= 2
    assert run.sim.max_abs_position(VENUE_PAIRS[venue]) == pytest.approx(2 * size)
    assert double_position_episodes(run.sim, SID) >= 1


@_venues("s7")
def test_s7_circuit_breaker_on_a_filled_order(e2e: Finished, venue: str) -> None:
    _assert_ran(e2e, "fill", "not_found")
    _assert_venue(e2e, venue)
    run = e2e.run
    first = _entries(run)[0]
    assert len(run.events("CIRCUIT_BREAKER_TRIGGERED")) == 1
    [detected] = _detected(run, "circuit_breaker")
    assert detected.get("order_id") == str(first["order_id"])
    assert len(_entries(run)) == 1  # nothing placed: the order had filled
    [trade] = [t for t in run.trades() if t["is_open"]]
    assert trade["amount"] == pytest.approx(first["qty"], rel=_rel(venue))
    _assert_safe(run, venue)


@_venues("s8")
def test_s8_cancelled_exit_is_replaced_within_the_position(e2e: Finished, venue: str) -> None:
    _assert_ran(e2e, "fill", "expire")
    _assert_venue(e2e, venue)
    run = e2e.run
    size = _entries(run)[0]["qty"]
    exits = _exits(run)
    assert len(exits) >= 2
    assert all(e["qty"] <= size + 1e-12 for e in exits)
    assert all(e["side"] == "SELL" for e in exits)
    assert any(e.get("type") == "exit" for e in _detected(run, "rest_status"))
    assert any(e.get("type") == "exit" for e in run.events("GHOST_ORDER_REPLACED"))
    positions = [e["position"] for e in run.sim.ledger if e["event"] == "fill"]
    assert min(positions) >= -1e-12  # the long was never turned into a short
    _assert_safe(run, venue)
