"""Minimal plain strategy for the simulator smoke tests: enter long on every candle, post-only."""

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class PlainMakerStrategy(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "5m"
    can_short = False
    process_only_new_candles = False
    startup_candle_count = 0
    minimal_roi = {"0": 100.0}
    stoploss = -0.99
    use_exit_signal = False
    order_types = {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe
