"""A sample maker strategy guarded by GhostGuard.

Post-only entries and exits on futures, re-priced to the book on every new candle via
`adjust_order_price`. The only GhostGuard-specific line is the base class `GhostGuardMixin`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.persistence import Order, Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ghostguard import GhostGuardMixin


class GhostMakerStrategy(GhostGuardMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = True
    startup_candle_count = 30
    minimal_roi = {"0": 0.01}
    stoploss = -0.05
    process_only_new_candles = True
    use_exit_signal = True

    order_types = {
        "entry": "limit",
        "exit": "limit",
        "emergency_exit": "market",
        "force_entry": "limit",
        "force_exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }
    # Post-only: Freqtrade sends it as timeInForce=GTX on Binance futures.
    order_time_in_force = {"entry": "PO", "exit": "PO"}

    # Defaults for the `ghost_guard` config section (the config file wins).
    ghost_guard_defaults: dict[str, Any] = {"max_replacements_per_signal": 3}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = dataframe["close"].ewm(span=8, adjust=False).mean()
        dataframe["ema_slow"] = dataframe["close"].ewm(span=21, adjust=False).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        above = dataframe["ema_fast"] > dataframe["ema_slow"]
        dataframe.loc[above & dataframe["volume"].gt(0), ["enter_long", "enter_tag"]] = (
            1,
            "ema_up",
        )
        dataframe.loc[~above & dataframe["volume"].gt(0), ["enter_short", "enter_tag"]] = (
            1,
            "ema_down",
        )
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        above = dataframe["ema_fast"] > dataframe["ema_slow"]
        dataframe.loc[~above, "exit_long"] = 1
        dataframe.loc[above, "exit_short"] = 1
        return dataframe

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
        """Chase the book: re-price a resting maker order to the current best maker price."""
        return proposed_rate
