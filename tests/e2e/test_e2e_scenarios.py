"""The spec's acceptance scenarios 1-8, each a real `freqtrade trade` process against the loopback
simulator with its fault schedule (see conftest.SCENARIOS), plus `--dry-run` and the guard-off
twin of scenario 2. Assertions read the simulator's ledger, the bot's log and its database."""

from __future__ import annotations

from typing import Any

import pytest

from ghostsim.ftrun import (
    FreqtradeRun,
    bot_orders,
    double_position_episodes,
    intended_size,
    max_working_orders,
)
from tests.e2e.conftest import PAIR, SID, Finished


def _entries(run: FreqtradeRun) -> list[dict[str, Any]]:
    return [e for e in bot_orders(run.sim, SID) if not e.get("reduce_only")]


def _exits(run: FreqtradeRun) -> list[dict[str, Any]]:
    return [e for e in bot_orders(run.sim, SID) if e.get("reduce_only")]


def _fired(run: FreqtradeRun) -> list[str]:
    assert run.server is not None and run.server.schedule is not None
    return [f.action for f in run.server.schedule.fired if "error" not in f.args]


def _assert_safe(run: FreqtradeRun) -> None:
    """The properties every guarded scenario keeps: one order's size, one working order."""
    size = intended_size(run.sim, SID)
    assert size > 0
    assert run.sim.max_abs_position(PAIR) <= size + 1e-12
    assert double_position_episodes(run.sim, SID) == 0
    assert max_working_orders(run.sim, SID, reduce_only=False) <= 1
    assert max_working_orders(run.sim, SID, reduce_only=True) <= 1


def _assert_ran(done: Finished, *actions: str) -> None:
    run = done.run
    assert done.condition_met, f"condition not reached; log: {run.log_path}"
    assert set(actions) <= set(_fired(run)), run.server.schedule.fired  # type: ignore[union-attr]
    assert run.exit_code is not None


def _detected(run: FreqtradeRun, detection: str) -> list[Any]:
    return [e for e in run.events("GHOST_ORDER_DETECTED") if e.get("detection") == detection]


@pytest.mark.e2e("s1")
def test_s1_true_cancellation_is_replaced_once(e2e: Finished) -> None:
    _assert_ran(e2e, "expire")
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
    _assert_safe(run)
    [trade] = [t for t in run.trades() if t["is_open"]]
    assert trade["amount"] == pytest.approx(first["qty"])
    assert run.sim.position(PAIR) == pytest.approx(first["qty"])


@pytest.mark.e2e("s2")
def test_s2_stale_cancelled_answer_never_doubles(e2e: Finished) -> None:
    """The stale answer is caught one of two ways, both safe: the guard takes the fill from the
    exchange's trades (the trade keeps it), or check 2 blocks the replacement (check 1 fooled)."""
    _assert_ran(e2e, "fill_stale")
    run = e2e.run
    first = _entries(run)[0]
    assert len(_entries(run)) == 1  # no second order
    _assert_safe(run)
    [detected] = run.events("GHOST_ORDER_DETECTED")
    assert detected.get("detection") == "rest_status"
    blocked = run.events("REPLACEMENT_BLOCKED")
    if blocked:
        assert "position_already_exists" in blocked[0].get("reason")
        assert "original_order" not in blocked[0].get("reason")
        assert any(r["reason"].startswith("GhostGuard") for r in _locks(run))
    else:
        [trade] = [t for t in run.trades() if t["is_open"]]
        assert trade["amount"] == pytest.approx(first["qty"])  # the fill is in the database


@pytest.mark.e2e("s2_off")
def test_s2_guard_off_twin_doubles_the_position(e2e: Finished) -> None:
    _assert_ran(e2e, "fill_stale")
    run = e2e.run
    size = _entries(run)[0]["qty"]
    assert run.events() == []  # GhostGuard disabled: no guard events at all
    assert len(_entries(run)) >= 2
    assert run.sim.max_abs_position(PAIR) == pytest.approx(2 * size)
    assert double_position_episodes(run.sim, SID) >= 1


@pytest.mark.e2e("s3")
def test_s3_partial_fill_then_cancel_keeps_the_trade(e2e: Finished) -> None:
    _assert_ran(e2e, "partial_cancel")
    run = e2e.run
    first = _entries(run)[0]
    assert any("original_order_partial" in e.get("reason")
               for e in run.events("REPLACEMENT_BLOCKED"))
    assert len(_entries(run)) == 1  # the DCA order never went out
    [trade] = [t for t in run.trades() if t["is_open"]]
    assert trade["amount"] == pytest.approx(first["qty"] / 2)  # Freqtrade kept the partial fill
    _assert_safe(run)


@pytest.mark.e2e("s4")
def test_s4_second_working_order_blocks(e2e: Finished) -> None:
    _assert_ran(e2e, "foreign_order", "expire")
    run = e2e.run
    assert any("duplicate_working_order" in e.get("reason")
               for e in run.events("REPLACEMENT_BLOCKED"))
    assert len(_entries(run)) == 1  # nothing placed next to the foreign order
    working = [o for o in run.sim.open_orders(PAIR) if not o.reduce_only]
    assert [o.client_order_id.startswith("foreign-") for o in working] == [True]
    assert any(r["reason"].startswith("GhostGuard") for r in _locks(run))


@pytest.mark.e2e("s5")
def test_s5_signal_flip_blocks_the_old_direction(e2e: Finished) -> None:
    _assert_ran(e2e, "hold", "signal", "age")
    run = e2e.run
    assert any("signal_no_longer_active" in e.get("reason")
               for e in run.events("REPLACEMENT_BLOCKED"))
    buys = [e for e in _entries(run) if e["side"] == "BUY"]
    assert len(buys) == 1  # no order in the old direction
    _assert_safe(run)


@pytest.mark.e2e("s6")
def test_s6_rapid_cancellations_at_most_three_replacements(e2e: Finished) -> None:
    _assert_ran(e2e, "expire")
    run = e2e.run
    replaced = run.events("GHOST_ORDER_REPLACED")
    assert [e.get("attempt") for e in replaced] == ["1/3", "2/3", "3/3"]
    assert len(run.events("MAX_REPLACEMENT_ATTEMPTS_REACHED")) == 1
    entries = _entries(run)
    assert len(entries) == 4  # the original and three replacements
    gaps = [b["time"] - a["time"] for a, b in zip(entries[1:], entries[2:], strict=False)]
    assert all(gap >= 1000 for gap in gaps), gaps  # the cooldown, on the exchange's clock
    assert any("max_replacement_attempts" in e.get("reason")
               for e in run.events("REPLACEMENT_BLOCKED"))
    _assert_safe(run)


@pytest.mark.e2e("s7")
def test_s7_circuit_breaker_on_a_filled_order(e2e: Finished) -> None:
    _assert_ran(e2e, "fill", "not_found")
    run = e2e.run
    first = _entries(run)[0]
    assert len(run.events("CIRCUIT_BREAKER_TRIGGERED")) == 1
    [detected] = _detected(run, "circuit_breaker")
    assert detected.get("order_id") == str(first["order_id"])
    assert len(_entries(run)) == 1  # nothing placed: the order had filled
    [trade] = [t for t in run.trades() if t["is_open"]]
    assert trade["amount"] == pytest.approx(first["qty"])  # the fill is in the database
    _assert_safe(run)


@pytest.mark.e2e("s8")
def test_s8_cancelled_exit_is_replaced_within_the_position(e2e: Finished) -> None:
    _assert_ran(e2e, "expire")
    run = e2e.run
    size = _entries(run)[0]["qty"]
    exits = _exits(run)
    assert len(exits) >= 2
    assert all(e["qty"] <= size + 1e-12 for e in exits)
    assert any(e.get("type") == "exit" for e in _detected(run, "rest_status"))
    assert any(e.get("type") == "exit" for e in run.events("GHOST_ORDER_REPLACED"))
    positions = [e["position"] for e in run.sim.ledger if e["event"] == "fill"]
    assert min(positions) >= -1e-12  # the long was never turned into a short
    _assert_safe(run)


@pytest.mark.e2e("dry_run")
def test_dry_run_trades_on_the_simulators_market_data(e2e: Finished) -> None:
    run = e2e.run
    assert e2e.condition_met, f"no filled dry-run order; log: {run.log_path}"
    assert run.sim.count("POST", "/fapi/v1/order") == 0  # Freqtrade's own simulation
    assert run.sim.count("GET", "/fapi/v1/klines") > 0
    assert run.trades()
    assert run.errors() == []


def _locks(run: FreqtradeRun) -> list[Any]:
    from ghostsim.ftrun import db_rows

    return db_rows(run.db_path, "SELECT * FROM pairlocks")
