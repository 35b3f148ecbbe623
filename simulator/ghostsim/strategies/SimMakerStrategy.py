"""A maker strategy for runs against the simulated exchange: it trades as often as it can
(`SimSpotStrategy` below: the same, long only, for spot venues).

Post-only entries and exits, GhostGuard via the mixin. The `ghostsim` config section and a
signal file (rewritten by the fault schedule's `signal` action) steer it:

- `signal` (default `"long"`): `long`, `short`, `auto` (long, or short while Freqtrade's
  one-candle "Auto lock" after an exit blocks longs on the pair: two trades per pair and
  candle) or `none`; the signal file's `{"default": ..., PAIR: ...}` overrides it, re-read at
  every analysis.
- `hold_s` (default none): exit a filled trade after that many seconds (custom exit).
- `reprice` (default false): chase the book in `adjust_order_price`.
- `dca` (default false): add one entry of the same stake to a trade with one filled entry.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from freqtrade.persistence import Order, Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ghostguard import GhostGuardMixin


class SimMakerStrategy(GhostGuardMixin, IStrategy):
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

    def _settings(self) -> dict[str, Any]:
        return dict(self.config.get("ghostsim", {}))

    def _signal(self, pair: str) -> str:
        settings = self._settings()
        value = str(settings.get("signal", "long"))
        signal_file = settings.get("signal_file")
        if signal_file and Path(signal_file).exists():
            try:
                overrides = json.loads(Path(signal_file).read_text() or "{}")
            except ValueError:
                overrides = {}
            value = str(overrides.get(pair, overrides.get("default", value)))
        if value == "auto":
            return "short" if self.is_pair_locked(pair, side="long") else "long"
        return value

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 0
        dataframe["enter_short"] = 0
        dataframe["enter_tag"] = None
        signal = self._signal(metadata["pair"])
        if signal not in ("long", "short"):
            return dataframe
        # A steady signal is on for every candle (one long run: one signal for GhostGuard's
        # attempt counter); `auto` decides per loop, so only the latest candle carries it.
        rows = dataframe.index[-1:] if self._settings().get("signal") == "auto" else dataframe.index
        dataframe.loc[rows, [f"enter_{signal}", "enter_tag"]] = (1, f"sim_{signal}")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        dataframe["exit_short"] = 0
        return dataframe

    def custom_exit(
        self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
        current_profit: float, **kwargs: Any,
    ) -> str | None:
        hold_s = self._settings().get("hold_s")
        if hold_s is None or trade.has_open_orders:
            return None
        if (current_time - trade.open_date_utc).total_seconds() >= float(hold_s):
            return "sim_cycle"
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
        return proposed_rate if self._settings().get("reprice") else current_order_rate

    def adjust_trade_position(self, trade: Trade, current_time: datetime, **kwargs: Any):
        if not self._settings().get("dca") or trade.has_open_orders:
            return None
        if trade.nr_of_successful_entries == 1:
            return float(self.config.get("stake_amount", 100))
        return None


class SimSpotStrategy(SimMakerStrategy):
    """The same maker on a spot venue: long only (Freqtrade refuses a spot strategy that can
    short; spot exits are plain sells). A `short` signal (or `auto`'s short turn) means none."""

    can_short = False

    def _signal(self, pair: str) -> str:
        value = super()._signal(pair)
        return "none" if value == "short" else value
