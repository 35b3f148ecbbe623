"""Test strategies: real IStrategy subclasses with GhostGuardMixin whose signals a test scripts.

`SCRIPT` is read on every analysis: the latest candle gets exactly the signals it names, so a
test decides when the signal is on, flips or ends. `ChaosMakerStrategy` (the fault campaign's,
tests/chaos) also re-prices while `SCRIPT["reprice"]` is on and adds one entry while
`SCRIPT["dca"]` is.
"""

from __future__ import annotations

import sys
import types
from datetime import datetime
from typing import Any

from freqtrade.persistence import Order, Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ghostguard import GhostGuardMixin


# Freqtrade loads this file as a fresh module; the script lives in one shared module object so
# that the test and every loaded copy of the strategy see the same dict.
_STATE = sys.modules.setdefault(
    "_ghostguard_test_script", types.ModuleType("_ghostguard_test_script")
)
SCRIPT_DEFAULTS: dict[str, Any] = {
    "enter_long": 1,
    "enter_short": 0,
    "exit_long": 0,
    "exit_short": 0,
    "enter_tag": "scripted",
    "reprice": False,
    "dca": False,
}
if not hasattr(_STATE, "SCRIPT"):
    _STATE.SCRIPT = dict(SCRIPT_DEFAULTS)  # type: ignore[attr-defined]
    _STATE.CALLS = []  # type: ignore[attr-defined]
SCRIPT: dict[str, Any] = _STATE.SCRIPT  # type: ignore[attr-defined]
CALLS: list[str] = _STATE.CALLS  # type: ignore[attr-defined]
CHAOS_STAKE = 1000.0  # the campaign's stake_amount: orders of ~0.02 BTC, so partial fills exist


class _Scripted(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = True
    startup_candle_count = 0
    minimal_roi = {"0": 10.0}
    stoploss = -0.99
    process_only_new_candles = False
    use_exit_signal = True
    position_adjustment_enable = True
    max_entry_position_adjustment = -1
    order_types = {
        "entry": "limit",
        "exit": "limit",
        "emergency_exit": "market",
        "force_entry": "limit",
        "force_exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }
    order_time_in_force = {"entry": "PO", "exit": "PO"}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 0
        dataframe["enter_short"] = 0
        dataframe["enter_tag"] = None
        last = dataframe.index[-1]
        dataframe.loc[last, "enter_long"] = SCRIPT["enter_long"]
        dataframe.loc[last, "enter_short"] = SCRIPT["enter_short"]
        dataframe.loc[last, "enter_tag"] = SCRIPT["enter_tag"]
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        dataframe["exit_short"] = 0
        last = dataframe.index[-1]
        dataframe.loc[last, "exit_long"] = SCRIPT["exit_long"]
        dataframe.loc[last, "exit_short"] = SCRIPT["exit_short"]
        return dataframe

    def adjust_trade_position(self, trade: Trade, current_time: datetime, **kwargs: Any):
        # Top the position up to the target stake (the way a DCA strategy sizes its orders).
        if SCRIPT["dca"] and not trade.has_open_orders:
            missing = float(SCRIPT.get("dca_target", 200.0)) - trade.stake_amount
            if missing > 1.0:
                return missing
        return None


class ScriptedMakerStrategy(GhostGuardMixin, _Scripted):
    """Uses the mixin's default callbacks."""


class ScriptedSpotStrategy(GhostGuardMixin, _Scripted):
    """`ScriptedMakerStrategy` for spot markets (Freqtrade refuses a shorting strategy there)."""

    can_short = False


class OverridingMakerStrategy(GhostGuardMixin, _Scripted):
    """Overrides the callbacks the guard needs, without calling super(): the guard must hold."""

    def bot_start(self, **kwargs: Any) -> None:
        CALLS.append("bot_start")

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        CALLS.append("bot_loop_start")

    def confirm_trade_entry(self, *args: Any, **kwargs: Any) -> bool:
        CALLS.append("confirm_trade_entry")
        return True

    def adjust_order_price(
        self,
        trade: Trade,
        order: Order | None,
        pair: str,
        current_time: datetime,
        proposed_rate: float,
        current_order_rate: float,
        entry_tag: str | None,
        side: str,
        is_entry: bool,
        **kwargs: Any,
    ) -> float | None:
        CALLS.append("adjust_order_price")
        if SCRIPT["reprice"]:
            return proposed_rate
        return current_order_rate


class ChaosMakerStrategy(GhostGuardMixin, _Scripted):
    """The fault campaign's maker: re-prices to the book and adds one entry on script."""

    max_entry_position_adjustment = 1

    def adjust_trade_position(self, trade: Trade, current_time: datetime, **kwargs: Any):
        if SCRIPT["dca"] and not trade.has_open_orders and trade.nr_of_successful_entries == 1:
            return CHAOS_STAKE
        return None

    def adjust_order_price(
        self,
        trade: Trade,
        order: Order | None,
        pair: str,
        current_time: datetime,
        proposed_rate: float,
        current_order_rate: float,
        entry_tag: str | None,
        side: str,
        is_entry: bool,
        **kwargs: Any,
    ) -> float | None:
        if SCRIPT["reprice"]:
            return proposed_rate
        return current_order_rate


class ChaosSpotStrategy(ChaosMakerStrategy):
    """The campaign's maker on spot markets (long only)."""

    can_short = False


class ChasingMakerStrategy(GhostGuardMixin, _Scripted):
    """Chases the book with Freqtrade's `adjust_entry_price` / `adjust_exit_price` (not
    `adjust_order_price`): while `SCRIPT["reprice"]` is on, every new candle moves the order to
    the proposed price."""

    def adjust_entry_price(
        self,
        trade: Trade,
        order: Order | None,
        pair: str,
        current_time: datetime,
        proposed_rate: float,
        current_order_rate: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float | None:
        CALLS.append("adjust_entry_price")
        return proposed_rate if SCRIPT["reprice"] else current_order_rate

    def adjust_exit_price(
        self,
        trade: Trade,
        order: Order | None,
        pair: str,
        current_time: datetime,
        proposed_rate: float,
        current_order_rate: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float | None:
        CALLS.append("adjust_exit_price")
        return proposed_rate if SCRIPT["reprice"] else current_order_rate


class OverridingSpotStrategy(OverridingMakerStrategy):
    """`OverridingMakerStrategy` for spot markets (Freqtrade refuses a shorting strategy there)."""

    can_short = False
