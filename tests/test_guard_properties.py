"""Properties beyond the scenarios: request counts, concurrency, restart persistence, config
errors at start-up, malformed exchange answers, user overrides, dry-run, backtesting."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from freqtrade.enums import RunMode
from freqtrade.persistence import Order, Trade

from ghostguard.events import scrub
from ghostguard.records import OrderRecord
from ghostsim import SimExchange
from tests.conftest import PAIR, loop, orders_of
from tests.harness import make_bot, restart_bot


def _entries(sim: SimExchange) -> list[Any]:
    return orders_of(sim, reduce_only=False)


def _guard_threads_only(sim: SimExchange, rewrite: Any) -> list[tuple[str, str]]:
    """Route requests sent from the guard's worker threads through `rewrite`; log them."""
    real_handle = sim.handle
    seen: list[tuple[str, str]] = []

    def handle(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name.startswith("ghostguard"):
            seen.append((method, path))
            return rewrite(method, path, lambda: real_handle(method, path, *args, **kwargs))
        return real_handle(method, path, *args, **kwargs)

    sim.handle = handle  # type: ignore[method-assign]
    return seen


# --- requests -------------------------------------------------------------------------------


def _steady_state_requests(bot_on_sim: Any, guard: bool) -> list[tuple[str, str]]:
    with bot_on_sim(guard=guard) as (sim, bot):
        loop(bot)  # the entry order goes out
        loop(bot, 3)  # it rests: no ghost, no replacement
        sim.fill_order(_entries(sim)[0].order_id)
        loop(bot, 3)  # an open trade, nothing pending
        return [(r.method, r.path) for r in sim.requests]


def test_no_extra_request_in_steady_state(bot_on_sim) -> None:
    guarded = _steady_state_requests(bot_on_sim, guard=True)
    unguarded = _steady_state_requests(bot_on_sim, guard=False)
    assert guarded == unguarded


def test_a_decision_costs_three_concurrent_requests(bot_on_sim, events) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        sim.expire_order(_entries(sim)[0].order_id)
        # All three must be in flight at once to pass this barrier; sequential requests would
        # break it (the first would wait alone) and the checks would fail, blocking the order.
        barrier = threading.Barrier(3, timeout=30)

        def together(method: str, path: str, send: Any) -> Any:
            barrier.wait()
            return send()

        seen = _guard_threads_only(sim, together)
        loop(bot)
        assert sorted(seen) == [
            ("GET", "/fapi/v1/openOrders"),
            ("GET", "/fapi/v1/order"),
            ("GET", "/fapi/v3/positionRisk"),
        ]
        assert not barrier.broken
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1


# --- malformed exchange answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_path", "body", "reason"),
    [
        ("/fapi/v3/positionRisk", {"unexpected": "object"}, "position_check_failed"),
        ("/fapi/v3/positionRisk", [{"symbol": "BTCUSDT", "positionAmt": "abc"}], "position"),
        ("/fapi/v3/positionRisk", None, "position_check_failed"),
        ("/fapi/v1/openOrders", None, "open_orders_check_failed"),
        ("/fapi/v1/openOrders", [{"symbol": "BTCUSDT", "orderId": None}], "open_orders"),
        ("/fapi/v1/order", {"orderId": 1, "symbol": "BTCUSDT"}, "original_order"),
        ("/fapi/v1/order", {"orderId": 1, "status": 7, "executedQty": None}, "original_order"),
        ("/fapi/v1/order", [], "original_order"),
    ],
)
def test_malformed_answers_block_and_never_crash(bot_on_sim, events, bad_path, body, reason):
    with bot_on_sim() as (sim, bot):
        loop(bot)
        sim.expire_order(_entries(sim)[0].order_id)

        def malformed(method: str, path: str, send: Any) -> Any:
            if path == bad_path:
                return 200, body
            return send()

        _guard_threads_only(sim, malformed)
        caught = loop(bot, 2)
        assert caught == []
        assert len(_entries(sim)) == 1
        blocked = events.named("REPLACEMENT_BLOCKED")
        assert blocked and all(reason in line for line in blocked)


def test_exchange_errors_block_with_the_error_in_the_reason(bot_on_sim, events) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        sim.expire_order(_entries(sim)[0].order_id)

        def unavailable(method: str, path: str, send: Any) -> Any:
            if path == "/fapi/v3/positionRisk":
                return 503, {"code": -1001, "msg": "Internal error"}
            return send()

        _guard_threads_only(sim, unavailable)
        assert loop(bot) == []
        assert len(_entries(sim)) == 1
        [blocked] = events.named("REPLACEMENT_BLOCKED")
        assert "position_check_failed" in blocked and "Internal error" in blocked


# --- restart persistence ----------------------------------------------------------------------


def test_restart_does_not_reset_the_attempt_counter(bot_on_sim, events, tmp_path) -> None:
    with bot_on_sim(db_url=f"sqlite:///{tmp_path / 'gg.sqlite'}") as (sim, bot):
        loop(bot)
        sim.expire_order(_entries(sim)[0].order_id)
        loop(bot)
        assert "attempt=1/3" in events.named("GHOST_ORDER_REPLACED")[-1]
        bot = restart_bot(bot)
        bot.startup()
        sim.expire_order(_entries(sim)[-1].order_id)
        loop(bot)
        assert "attempt=2/3" in events.named("GHOST_ORDER_REPLACED")[-1]


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_restart_does_not_forget_a_half_resolved_ghost(bot_on_sim, events, tmp_path, guard):
    with bot_on_sim(guard=guard, db_url=f"sqlite:///{tmp_path / 'gg.sqlite'}") as (sim, bot):
        loop(bot)
        [first] = _entries(sim)
        sim.fault_not_found(first.order_id, None)
        loop(bot, 2)  # two not-found answers so far
        sim.fill_order(first.order_id)  # it filled while the query side could not see it
        bot = restart_bot(bot)
        bot.startup()  # Freqtrade's start-up takes an unfetchable order as cancelled ...
        loop(bot, 2)
        trade = Trade.get_open_trades()
        if guard:
            # ... the guard kept it open; the breaker count survived (one more answer trips it)
            # and the verified fill is in the database.
            assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
            assert trade and trade[0].amount == pytest.approx(first.orig_qty)
            assert len(_entries(sim)) == 1
        else:
            # ... Freqtrade alone took the database's fill (0), dropped the trade and re-entered.
            assert len(_entries(sim)) == 2
            assert sim.position(PAIR) == pytest.approx(first.orig_qty)
            assert not (trade and trade[0].amount == pytest.approx(first.orig_qty))


# --- start-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"replacement_cooldown_s": -1}, "ghost_guard.replacement_cooldown_s"),
        ({"circuit_breaker_threshold": 0}, "ghost_guard.circuit_breaker_threshold"),
        ({"no_such_key": 1}, "ghost_guard.no_such_key"),
    ],
)
def test_bad_config_stops_the_bot_at_start_up(section: dict, named: str) -> None:
    sim = SimExchange()
    with pytest.raises(Exception, match="Allowed") as error:
        make_bot(sim, strategy="ScriptedMakerStrategy", extra_config={"ghost_guard": section})
    assert named in str(error.value)
    assert sim.count("POST", "/fapi/v1/order") == 0


def test_guard_holds_when_the_strategy_overrides_its_callbacks(bot_on_sim, events) -> None:
    from tests.strategies.ScriptedMakerStrategy import CALLS

    with bot_on_sim(strategy="OverridingMakerStrategy") as (sim, bot):
        assert bot.strategy.ghost_guard is not None
        assert "create_order" in vars(bot.exchange)  # the gate is on the bot's exchange
        loop(bot)
        sim.expire_order(_entries(sim)[0].order_id)
        loop(bot)
        assert {"bot_start", "bot_loop_start", "confirm_trade_entry"} <= set(CALLS)
        assert len(events.named("GHOST_ORDER_DETECTED")) == 1
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1


def test_auto_replace_off_detects_but_never_replaces(bot_on_sim, events) -> None:
    with bot_on_sim(extra={"ghost_guard": {"auto_replace_cancelled_orders": False}}) as (
        sim,
        bot,
    ):
        loop(bot)
        sim.expire_order(_entries(sim)[0].order_id)
        loop(bot, 3)
        assert len(_entries(sim)) == 1
        assert len(events.named("GHOST_ORDER_DETECTED")) == 1
        assert all("auto_replace_disabled" in b for b in events.named("REPLACEMENT_BLOCKED"))


def test_post_only_rejected_at_placement_is_detected(bot_on_sim, events) -> None:
    crossing = {"entry_pricing": {"price_side": "other"}}  # a buy at the ask: -5022
    with bot_on_sim(extra=crossing) as (sim, bot):
        loop(bot, 6)
        assert sim.count("POST", "/fapi/v1/order") == 4  # the first and 3 approved attempts
        detected = events.named("GHOST_ORDER_DETECTED")
        assert detected and all("detection=create_rejected" in d for d in detected)
        assert len(events.named("MAX_REPLACEMENT_ATTEMPTS_REACHED")) == 1
        assert sim.position(PAIR) == 0


def test_no_secret_in_any_log_line(bot_on_sim, events) -> None:
    with bot_on_sim() as (sim, bot):
        loop(bot)
        sim.expire_order(_entries(sim)[0].order_id)
        sim.fault_fail("GET", "/fapi/v3/positionRisk", count=10, code=-1001, http=503)
        loop(bot, 2)
        text = "\n".join(events.lines)
        assert SimExchange.SIM_API_SECRET not in text and SimExchange.SIM_API_KEY not in text
        assert "signature=" not in text or "signature=<redacted>" in text
    leaked = "GET https://fapi.binance.com/fapi/v1/order?symbol=X&timestamp=1&signature=abc 503"
    assert "abc" not in scrub(leaked)


# --- where it runs ----------------------------------------------------------------------------


def test_dry_run_uses_freqtrades_own_simulation(events) -> None:
    from tests.harness import sim_bot

    config = {
        "ghost_guard": {"replacement_cooldown_s": 0.0},
        "exchange": {"pair_whitelist": [PAIR]},
    }
    with sim_bot(strategy="OverridingMakerStrategy", extra_config=config, dry_run=True) as (
        sim,
        bot,
    ):
        from tests.strategies.ScriptedMakerStrategy import SCRIPT

        assert bot.strategy.ghost_guard is not None
        loop(bot)
        [row] = Order.session.query(Order).all()
        assert row.order_id.startswith("dry_run")
        SCRIPT["reprice"] = True  # a re-price cancels in the simulation, then a replacement
        bot.exchange._dry_run_open_orders[row.order_id]["timestamp"] -= 120_000
        bot.exchange._dry_run_open_orders[row.order_id]["price"] -= 5
        loop(bot)
        SCRIPT["reprice"] = False
        private = [r for r in sim.requests if r.path in ("/fapi/v3/positionRisk", "/fapi/v1/order")]
        assert private == []  # dry-run never asks the exchange's private endpoints
        stats = bot.strategy.ghost_guard.stats
        assert stats["decisions"] >= 1, "the re-price went through the gate"
        # A re-price passes the checks without using up a ghost replacement's attempt.
        assert stats["reprices_approved"] + stats["blocked"] >= 1
        assert events.named("GHOST_ORDER_RECOVERY_APPROVED") == []


def test_inert_in_backtesting() -> None:
    from tests.strategies.ScriptedMakerStrategy import ScriptedMakerStrategy

    strategy = ScriptedMakerStrategy({"runmode": RunMode.BACKTEST, "stake_currency": "USDT"})
    strategy.ghost_guard_start()
    assert strategy.ghost_guard is None


def test_state_of_finished_trades_is_pruned(bot_on_sim, script) -> None:
    with bot_on_sim() as (sim, bot):
        guard = bot.strategy.ghost_guard
        now = [1_000.0]
        guard.clock = lambda: now[0]
        loop(bot)
        sim.fill_order(_entries(sim)[0].order_id)
        loop(bot)
        script.update(enter_long=0, exit_long=1)
        loop(bot)
        sim.fill_order(orders_of(sim, reduce_only=True)[0].order_id)
        loop(bot)
        assert Trade.get_open_trades() == []
        assert guard.store.all(OrderRecord)
        now[0] += 601
        loop(bot)
        assert guard.store.all(OrderRecord) == []
