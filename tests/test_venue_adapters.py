"""The guard's venue adapters (ghostguard.adapters) against the simulator's venues: what
differs where the guard looks, and what happens on a venue no adapter is proven on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freqtrade.exceptions import OperationalException, StrategyError

from ghostguard import adapters
from ghostsim import SimExchange
from tests.conftest import loop
from tests.harness import sim_bot


DAY_S = 86_400.0


def _guarded(venue: str, pair: str, strategy: str, extra: dict | None = None):
    config = {"ghost_guard": {"replacement_cooldown_s": 0.0, **(extra or {})},
              "exchange": {"pair_whitelist": [pair]}}
    return sim_bot(sim=SimExchange(symbols=(pair,), venue=venue), strategy=strategy,
                   extra_config=config)


@pytest.mark.parametrize(
    ("venue", "pair", "strategy"),
    [
        ("binance", "BTC/USDT:USDT", "ScriptedMakerStrategy"),
        ("binance-spot", "BTC/USDT", "ScriptedSpotStrategy"),
        ("bybit", "BTC/USDT:USDT", "ScriptedMakerStrategy"),
        ("okx", "BTC/USDT:USDT", "ScriptedMakerStrategy"),
    ],
)
def test_an_orders_fills_are_read_over_its_whole_life(venue, pair, strategy) -> None:
    """An order placed 8 days ago filled yesterday: its fills are found on every venue, within
    the venue's window per request (Binance spot: 24 hours; Binance USD-M, Bybit: 7 days;
    OKX: fills-history, one request). Before the adapters, spot asked for 7-day pages (-1127)
    and Bybit's 7-day window from the order's creation missed the fill."""
    with _guarded(venue, pair, strategy) as (sim, bot):
        guard = bot.strategy.ghost_guard
        guard.clock = lambda: sim.now_ms / 1000.0
        loop(bot)
        [entry] = [o for o in sim.orders if o.spec.symbol == pair]
        created = datetime.fromtimestamp(entry.time / 1000, UTC)
        sim.advance(7 * DAY_S)
        sim.fill_order(entry.order_id)
        sim.advance(1 * DAY_S)
        sim.reset_requests()
        amount, _cost = guard.ctx.venue.traded(str(entry.order_id), pair, created)
        assert amount == pytest.approx(entry.orig_qty)
        pages = [r for r in sim.requests if r.path == "/fapi/v1/userTrades"]
        expected = {"binance": 2, "binance-spot": 9, "bybit": 2, "okx": 1}[venue]
        assert len(pages) == expected


def test_a_live_bot_on_a_venue_without_adapter_refuses_to_start_naming_the_key(
    monkeypatch, caplog
) -> None:
    """Freqtrade's own start-up (bot_start, not suppressed) stops the bot with the message,
    and no traceback: Freqtrade's strategy wrapper logged one for the refusal before."""
    monkeypatch.delitem(adapters.ADAPTERS, ("bybit", True))
    with pytest.raises((OperationalException, StrategyError), match="unproven_venue") as refused:
        with _guarded("bybit", "BTC/USDT:USDT", "ScriptedMakerStrategy"):
            pass
    assert "no proven adapter for Bybit" in str(refused.value)
    tracebacks = [r for r in caplog.records if r.exc_info or r.exc_text]
    assert tracebacks == []


@pytest.mark.parametrize("acknowledged", [False, True])
def test_a_dry_run_on_a_venue_without_adapter_says_live_will_refuse(
    monkeypatch, caplog, acknowledged: bool
) -> None:
    """Dry-run reads no venue answers and starts; unless venue-neutral was chosen, it says at
    start-up that a live start would be refused, naming the key."""
    monkeypatch.delitem(adapters.ADAPTERS, ("bybit", True))
    extra = {"unproven_venue": "venue_neutral"} if acknowledged else {}
    pair = "BTC/USDT:USDT"
    config = {"ghost_guard": extra, "exchange": {"pair_whitelist": [pair]}}
    with sim_bot(sim=SimExchange(symbols=(pair,), venue="bybit"),
                 strategy="ScriptedMakerStrategy", extra_config=config, dry_run=True) as (_, bot):
        assert bot.strategy.ghost_guard is not None
    said = [r.getMessage() for r in caplog.records if "live start will be refused" in
            r.getMessage()]
    if acknowledged:
        assert said == []
    else:
        assert len(said) == 1 and "no proven adapter for Bybit" in said[0]
        assert '"unproven_venue": "venue_neutral"' in said[0]


def test_venue_neutral_when_acknowledged(monkeypatch, events) -> None:
    """Acknowledged, the guard runs with ccxt's unified readers, one trades request per order
    read, and says so; it still blocks the double entry of scenario 2."""
    monkeypatch.delitem(adapters.ADAPTERS, ("bybit", True))
    pair = "BTC/USDT:USDT"
    with _guarded("bybit", pair, "ScriptedMakerStrategy",
                  {"unproven_venue": "venue_neutral"}) as (sim, bot):
        assert bot.strategy.ghost_guard.ctx.venue.adapter is adapters.VENUE_NEUTRAL
        loop(bot)
        [first] = [o for o in sim.orders if o.spec.symbol == pair]
        sim.fill_order(first.order_id)
        sim.fault_stale_status(first.order_id, "CANCELED")
        loop(bot, 3)
        for order in sim.orders:
            if order.is_open:
                sim.fill_order(order.order_id)
        assert sim.max_abs_position(pair) == pytest.approx(first.orig_qty)


def test_unproven_venue_is_validated_and_venue_wide() -> None:
    from freqtrade.exceptions import ConfigurationError

    from ghostguard.config import parse_guard_config

    assert parse_guard_config({"unproven_venue": "venue_neutral"}).default.unproven_venue == (
        "venue_neutral"
    )
    with pytest.raises(ConfigurationError, match="ghost_guard.unproven_venue"):
        parse_guard_config({"unproven_venue": "yes"})
    with pytest.raises(ConfigurationError, match="pairs"):
        parse_guard_config({"pairs": {"BTC/USDT": {"unproven_venue": "venue_neutral"}}})


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_bybit_a_tracked_orders_not_found_costs_no_back_off(guard) -> None:
    """Freqtrade's Bybit `fetch_order` takes no retrier `count`: the guard asks through the
    base class's one-attempt `fetch_order` with Bybit's own params, so a tracked order's
    not-found sleeps 0 s (Freqtrade alone: its retrier's back-off). Found by the four-venue
    campaign (invariant f)."""
    from tests import harness

    pair = "BTC/USDT:USDT"
    config = {"ghost_guard": {"enabled": guard}, "exchange": {"pair_whitelist": [pair]}}
    with sim_bot(sim=SimExchange(symbols=(pair,), venue="bybit"),
                 strategy="ScriptedMakerStrategy", extra_config=config) as (sim, bot):
        loop(bot)
        [entry] = [o for o in sim.orders if o.spec.symbol == pair]
        sim.fault_not_found(entry.order_id, 3)
        harness.SLEEPS.clear()
        loop(bot)
        slept = sum(harness.SLEEPS)
        if guard:
            assert slept == 0
        else:
            assert slept > 0
