"""Strategy for the chaos campaign (tests/chaos): a post-only maker whose signals, re-pricing
and DCA are scripted through the shared `SCRIPT` dict (the same dict ScriptedMakerStrategy
reads), and which re-prices every candle while `SCRIPT["reprice"]` is on.

A standalone file: Freqtrade loads strategy files as fresh modules, so it does not import the
other test strategies; the script lives in one shared module object in `sys.modules`.
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


_STATE = sys.modules.setdefault(
    "_ghostguard_test_script", types.ModuleType("_ghostguard_test_script")
)
if not hasattr(_STATE, "SCRIPT"):
    _STATE.SCRIPT = {  # type: ignore[attr-defined]
        "enter_long": 1,
        "enter_short": 0,
        "exit_long": 0,
        "exit_short": 0,
        "enter_tag": "scripted",
        "reprice": False,
        "dca": False,
    }
    _STATE.CALLS = []  # type: ignore[attr-defined]
SCRIPT: dict[str, Any] = _STATE.SCRIPT  # type: ignore[attr-defined]
STAKE = 1000.0  # the campaign's stake_amount: orders of ~0.02 BTC, so partial fills exist


class ChaosMakerStrategy(GhostGuardMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = True
    startup_candle_count = 0
    minimal_roi = {"0": 10.0}
    stoploss = -0.99
    process_only_new_candles = False
    use_exit_signal = True
    position_adjustment_enable = True
    max_entry_position_adjustment = 1
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
        if SCRIPT["dca"] and not trade.has_open_orders and trade.nr_of_successful_entries == 1:
            return STAKE
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
