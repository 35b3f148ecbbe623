"""The mixin is invisible to Freqtrade, cannot be placed where it would never run, and the bot
does not start when it could only trade unguarded."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import ConfigurationError, OperationalException
from freqtrade.exchange import Exchange
from freqtrade.resolvers.strategy_resolver import check_override
from freqtrade.strategy import IStrategy

from ghostguard import GhostGuardMixin, compat
from ghostguard.mixin import misspelled_sections
from tests.conftest import PAIR
from tests.strategies.ScriptedMakerStrategy import (
    ChasingMakerStrategy,
    OverridingMakerStrategy,
    ScriptedMakerStrategy,
    _Scripted,
)


def _callbacks() -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(IStrategy, inspect.isfunction)
        if not name.startswith("_") and not name.startswith("ft_")
    ]


@pytest.mark.parametrize(
    "guarded", [ScriptedMakerStrategy, OverridingMakerStrategy, ChasingMakerStrategy]
)
def test_freqtrade_sees_the_same_callbacks_with_the_mixin(guarded: type) -> None:
    """`check_override` (what Freqtrade's resolver asks) answers the same for every public
    IStrategy method with or without the mixin in front."""
    bases = tuple(b for b in guarded.__bases__ if b is not GhostGuardMixin)
    plain = type("Plain", bases, {k: v for k, v in vars(guarded).items() if k[:2] != "__"})
    config = {"runmode": RunMode.DRY_RUN, "stake_currency": "USDT"}
    with_mixin, without = guarded(config), plain(config)
    for name in _callbacks():
        assert check_override(with_mixin, IStrategy, name) == check_override(
            without, IStrategy, name
        ), name


def test_the_guard_takes_the_strategys_own_callbacks_on_the_instance_only() -> None:
    live = OverridingMakerStrategy({"runmode": RunMode.LIVE, "stake_currency": "USDT"})
    for name in ("bot_start", "bot_loop_start", "adjust_order_price"):
        assert name in vars(live)  # wrapped on the instance
        assert getattr(type(live), name) is getattr(OverridingMakerStrategy, name)
        # Freqtrade's strategy_safe_wrapper decides by the qualified name: unchanged.
        assert getattr(live, name).__qualname__ == getattr(type(live), name).__qualname__
    backtest = OverridingMakerStrategy({"runmode": RunMode.BACKTEST, "stake_currency": "USDT"})
    assert not {"bot_start", "bot_loop_start", "adjust_order_price"} & set(vars(backtest))


def test_adjust_entry_price_is_guarded_through_freqtrades_own_dispatch() -> None:
    """A strategy that re-prices with adjust_entry_price: Freqtrade's own adjust_order_price
    calls it, and the guard sees the answer before anything is cancelled."""
    from tests.strategies.ScriptedMakerStrategy import CALLS, SCRIPT

    strategy = ChasingMakerStrategy({"runmode": RunMode.LIVE, "stake_currency": "USDT"})
    seen: list[Any] = []
    strategy.ghost_guard_filter_reprice = lambda proposed, **kw: seen.append(proposed) or proposed
    SCRIPT["reprice"] = True
    answer = strategy.adjust_order_price(
        trade=None, order=None, pair=PAIR, current_time=None, proposed_rate=101.0,
        current_order_rate=100.0, entry_tag=None, side="long", is_entry=True,
    )
    assert answer == 101.0 and seen == [101.0] and CALLS[-1] == "adjust_entry_price"


def test_mixin_after_istrategy_stops_the_strategy_from_loading() -> None:
    with pytest.raises(OperationalException, match=r"comes after IStrategy.*Put the mixin first"):
        type("Wrong", (_Scripted, GhostGuardMixin), {})
    # A base strategy with the mixin in front, subclassed again, stays right.
    type("Child", (ScriptedMakerStrategy,), {})


@pytest.mark.parametrize("key", ["ghostguard", "GhostGuard", "ghost-guard", "ghost_gaurd"])
def test_a_misspelled_section_stops_start_up(key: str) -> None:
    assert misspelled_sections({key: {}, "ghost_guard": {}, "exchange": {}}) == [key]
    with pytest.raises(ConfigurationError, match=f"section '{key}' is not read"):
        ScriptedMakerStrategy({key: {"enabled": True}, "runmode": RunMode.DRY_RUN})


def test_sections_that_only_look_alike_are_left_alone() -> None:
    config = {"ghost_guard": {}, "ghostsim": {}, "guard": 1, "exchange": {}, "api_server": {}}
    assert misspelled_sections(config) == []


def test_the_self_check_passes_on_this_freqtrade(bot_on_sim) -> None:
    with bot_on_sim() as (_, bot):
        # The live objects (wrapped by the guard now) still have every shape it relies on.
        assert compat.problems(bot.exchange, bot) == []


def test_a_moved_internal_stops_start_up_naming_it(monkeypatch, bot_on_sim) -> None:
    def create_order(self: Any, *, pair: str, ordertype: str, side: str, amount: float,
                     rate: float, leverage: float, time_in_force: str = "GTC",
                     reduceOnly: bool = False) -> Any:  # 'initial_order' went away
        raise AssertionError("never called")

    monkeypatch.setattr(Exchange, "create_order", create_order)
    with pytest.raises(Exception, match=r"create_order no longer accepts initial_order"):
        with bot_on_sim():
            pass


def test_a_venue_method_without_count_is_called_without_it(bot_on_sim) -> None:
    """Bybit's and Hyperliquid's fetch_order take no retrier `count`: the guard never passes an
    argument a venue's method does not accept."""
    with bot_on_sim() as (_, bot):
        guard = bot.strategy.ghost_guard

        def venue_fetch_order(order_id: str, pair: str, params: dict | None = None) -> Any:
            return {}

        venue = guard.ctx.venue
        assert compat.accepts_retry_count(venue.original["fetch_order"])
        assert not compat.accepts_retry_count(venue_fetch_order)
        venue.takes_count["fetch_order"] = compat.accepts_retry_count(venue_fetch_order)
        assert venue.once("fetch_order") == {}
        assert venue.once("cancel_order") == {"count": 0}


def test_the_start_up_line_names_version_venue_mode_settings_and_range(bot_on_sim, caplog):
    extra = {"ghost_guard": {"pairs": {PAIR: {"max_replacements_per_signal": 5}}}}
    with caplog.at_level(logging.INFO, logger="ghostguard"), bot_on_sim(extra=extra):
        pass
    [line] = [r.getMessage() for r in caplog.records if "GhostGuard" in r.getMessage()
              and "installed on" in r.getMessage()]
    assert line.startswith(f"GhostGuard {compat.guard_version()} installed on Binance (live, ")
    assert "futures" in line
    assert "max_replacements_per_signal=3" in line and "replacement_cooldown_s=0.0" in line
    assert f"per-pair {PAIR}{{max_replacements_per_signal=5}}" in line
    assert "within the proven range" in line
