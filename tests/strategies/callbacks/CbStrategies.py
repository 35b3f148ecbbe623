"""The callback matrix's strategies: one per order-related Freqtrade callback.

Each `CbX(GhostGuardMixin, CbBase)` implements exactly one callback, the way a user writes it:
in its own class body and without calling `super()`. Its twin `CbXPlain(CbBase)` runs the very
same function without the mixin (Freqtrade loads both by name through `StrategyResolver`), so a
test can show the callback's effect is identical with and without GhostGuard.

`SCRIPT` steers the signals and the callbacks' answers; every callback call is appended to
`CALLS` as `(callback name, details)`. Both live in one shared module object, because Freqtrade
executes this file afresh for every strategy it loads.
"""

from __future__ import annotations

import inspect
import sys
import types
from datetime import datetime
from typing import Any

from freqtrade.persistence import Order, Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from ghostguard import GhostGuardMixin


_STATE = sys.modules.setdefault("_ghostguard_cb_state", types.ModuleType("_ghostguard_cb_state"))
SCRIPT_DEFAULTS: dict[str, Any] = {
    "enter_long": 1,
    "exit_long": 0,
    "reprice": False,  # adjust_*_price: follow the book (proposed_rate) instead of keeping
    "confirm_entry": True,
    "confirm_exit": True,
    "entry_timeout": False,
    "exit_timeout": False,
    "dca": False,  # adjust_trade_position: add one entry of the trade's stake
    "price_offset": 2.0,  # custom_*_price: this much further from the book than proposed
    "stoploss": -0.01,  # custom_stoploss: distance below the current rate
}
if not hasattr(_STATE, "SCRIPT"):
    _STATE.SCRIPT = dict(SCRIPT_DEFAULTS)  # type: ignore[attr-defined]
    _STATE.CALLS = []  # type: ignore[attr-defined]
SCRIPT: dict[str, Any] = _STATE.SCRIPT  # type: ignore[attr-defined]
CALLS: list[tuple[str, dict[str, Any]]] = _STATE.CALLS  # type: ignore[attr-defined]


def record(callback: str, **details: Any) -> None:
    CALLS.append((callback, details))


def same_code(strategy: type, callback: str) -> Any:
    """The user's own function of `strategy.callback` (unwrapped if the mixin wrapped it)."""
    return inspect.unwrap(strategy.__dict__[callback])


class CbBase(IStrategy):
    """Long-only maker on 1m candles whose signals come from SCRIPT. Implements no callback."""

    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = False
    startup_candle_count = 0
    minimal_roi = {"0": 10.0}
    stoploss = -0.99
    process_only_new_candles = False
    use_exit_signal = True
    position_adjustment_enable = False
    order_types = {
        "entry": "limit",
        "exit": "limit",
        "emergency_exit": "market",
        "force_entry": "limit",
        "force_exit": "limit",
        "stoploss": "limit",
        "stoploss_on_exchange": False,
    }
    order_time_in_force = {"entry": "PO", "exit": "PO"}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 0
        dataframe.loc[dataframe.index[-1], "enter_long"] = SCRIPT["enter_long"]
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        dataframe.loc[dataframe.index[-1], "exit_long"] = SCRIPT["exit_long"]
        return dataframe


# --- order prices ---------------------------------------------------------------------------


class CbAdjustEntryPrice(GhostGuardMixin, CbBase):
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
        price = proposed_rate if SCRIPT["reprice"] else current_order_rate
        record("adjust_entry_price", price=price, order_id=order.order_id if order else None)
        return price


class CbAdjustExitPrice(GhostGuardMixin, CbBase):
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
        price = proposed_rate if SCRIPT["reprice"] else current_order_rate
        record("adjust_exit_price", price=price, order_id=order.order_id if order else None)
        return price


class CbAdjustOrderPrice(GhostGuardMixin, CbBase):
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
        price = proposed_rate if SCRIPT["reprice"] else current_order_rate
        record(
            "adjust_order_price",
            price=price,
            is_entry=is_entry,
            order_id=order.order_id if order else None,
        )
        return price


class CbCustomEntryPrice(GhostGuardMixin, CbBase):
    def custom_entry_price(
        self,
        pair: str,
        trade: Trade | None,
        current_time: datetime,
        proposed_rate: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        price = proposed_rate - SCRIPT["price_offset"]
        record("custom_entry_price", price=price)
        return price


class CbCustomExitPrice(GhostGuardMixin, CbBase):
    def custom_exit_price(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        proposed_rate: float,
        current_profit: float,
        exit_tag: str | None,
        **kwargs: Any,
    ) -> float:
        price = proposed_rate + SCRIPT["price_offset"]
        record("custom_exit_price", price=price)
        return price


# --- confirmations and timeouts -------------------------------------------------------------


class CbConfirmTradeEntry(GhostGuardMixin, CbBase):
    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> bool:
        record("confirm_trade_entry", answer=SCRIPT["confirm_entry"], rate=rate)
        return bool(SCRIPT["confirm_entry"])


class CbConfirmTradeExit(GhostGuardMixin, CbBase):
    def confirm_trade_exit(
        self,
        pair: str,
        trade: Trade,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        exit_reason: str,
        current_time: datetime,
        **kwargs: Any,
    ) -> bool:
        record("confirm_trade_exit", answer=SCRIPT["confirm_exit"], amount=amount)
        return bool(SCRIPT["confirm_exit"])


class CbCheckEntryTimeout(GhostGuardMixin, CbBase):
    def check_entry_timeout(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any
    ) -> bool:
        record("check_entry_timeout", answer=SCRIPT["entry_timeout"], order_id=order.order_id)
        return bool(SCRIPT["entry_timeout"])


class CbCheckExitTimeout(GhostGuardMixin, CbBase):
    def check_exit_timeout(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any
    ) -> bool:
        record("check_exit_timeout", answer=SCRIPT["exit_timeout"], order_id=order.order_id)
        return bool(SCRIPT["exit_timeout"])


# --- position adjustment, fills, stoploss ---------------------------------------------------


class CbAdjustTradePosition(GhostGuardMixin, CbBase):
    position_adjustment_enable = True
    max_entry_position_adjustment = 1

    def adjust_trade_position(
        self, trade: Trade, current_time: datetime, **kwargs: Any
    ) -> float | None:
        # Add once, as much again, when the first entry has filled and nothing is working.
        if SCRIPT["dca"] and trade.nr_of_successful_entries == 1 and not trade.has_open_orders:
            record("adjust_trade_position", stake=trade.stake_amount)
            return trade.stake_amount
        return None


class CbOrderFilled(GhostGuardMixin, CbBase):
    def order_filled(
        self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any
    ) -> None:
        record(
            "order_filled",
            order_id=order.order_id,
            side=order.ft_order_side,
            filled=order.safe_filled,
        )


class CbCustomStoploss(GhostGuardMixin, CbBase):
    """The pre-2024 signature: no `after_fill` argument."""

    use_custom_stoploss = True

    def custom_stoploss(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        **kwargs: Any,
    ) -> float | None:
        record("custom_stoploss", after_fill=kwargs.get("after_fill"), rate=current_rate)
        return float(SCRIPT["stoploss"])


class CbCustomStoplossAfterFill(GhostGuardMixin, CbBase):
    use_custom_stoploss = True

    def custom_stoploss(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs: Any,
    ) -> float | None:
        record("custom_stoploss", after_fill=after_fill, rate=current_rate)
        return float(SCRIPT["stoploss"])


# --- bot lifecycle --------------------------------------------------------------------------


class CbBotStart(GhostGuardMixin, CbBase):
    def bot_start(self, **kwargs: Any) -> None:
        self.started_by_user = True
        record("bot_start")


class CbBotLoopStart(GhostGuardMixin, CbBase):
    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        record("bot_loop_start", current_time=current_time)


# --- the same user code without the mixin (guard-off twins) ---------------------------------


class CbAdjustEntryPricePlain(CbBase):
    adjust_entry_price = same_code(CbAdjustEntryPrice, "adjust_entry_price")


class CbAdjustExitPricePlain(CbBase):
    adjust_exit_price = same_code(CbAdjustExitPrice, "adjust_exit_price")


class CbAdjustOrderPricePlain(CbBase):
    adjust_order_price = same_code(CbAdjustOrderPrice, "adjust_order_price")


class CbCustomEntryPricePlain(CbBase):
    custom_entry_price = same_code(CbCustomEntryPrice, "custom_entry_price")


class CbCustomExitPricePlain(CbBase):
    custom_exit_price = same_code(CbCustomExitPrice, "custom_exit_price")


class CbConfirmTradeEntryPlain(CbBase):
    confirm_trade_entry = same_code(CbConfirmTradeEntry, "confirm_trade_entry")


class CbConfirmTradeExitPlain(CbBase):
    confirm_trade_exit = same_code(CbConfirmTradeExit, "confirm_trade_exit")


class CbCheckEntryTimeoutPlain(CbBase):
    check_entry_timeout = same_code(CbCheckEntryTimeout, "check_entry_timeout")


class CbCheckExitTimeoutPlain(CbBase):
    check_exit_timeout = same_code(CbCheckExitTimeout, "check_exit_timeout")


class CbAdjustTradePositionPlain(CbBase):
    position_adjustment_enable = True
    max_entry_position_adjustment = 1
    adjust_trade_position = same_code(CbAdjustTradePosition, "adjust_trade_position")


class CbOrderFilledPlain(CbBase):
    order_filled = same_code(CbOrderFilled, "order_filled")


class CbCustomStoplossPlain(CbBase):
    use_custom_stoploss = True
    custom_stoploss = same_code(CbCustomStoploss, "custom_stoploss")


class CbCustomStoplossAfterFillPlain(CbBase):
    use_custom_stoploss = True
    custom_stoploss = same_code(CbCustomStoplossAfterFill, "custom_stoploss")


class CbBotStartPlain(CbBase):
    bot_start = same_code(CbBotStart, "bot_start")


class CbBotLoopStartPlain(CbBase):
    bot_loop_start = same_code(CbBotLoopStart, "bot_loop_start")
