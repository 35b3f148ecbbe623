"""What the gate knows about an order Freqtrade is about to send: its pair, role, direction,
signal, and the gone order (if any) it replaces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freqtrade.persistence import Trade

from ghostguard import ftmodel, lifecycle, scopes
from ghostguard.checks import Role
from ghostguard.ledger import Ledger
from ghostguard.records import PendingReplacement


@dataclass(frozen=True)
class Placement:
    pair: str
    role: Role
    direction: int  # +1 long, -1 short
    signal: str
    trade_id: int | None
    initial: bool
    gone: PendingReplacement | None  # the earlier order of this pair and role that went away

    @property
    def is_replacement(self) -> bool:
        return self.gone is not None

    @property
    def rationed(self) -> bool:
        """A ghost replacement counts against checks 5 and 6; a re-price does not."""
        return lifecycle.is_rationed(self.gone)

    @property
    def entry_side(self) -> str:
        """The order side that opens this direction (buy for long, sell for short)."""
        return "buy" if self.direction > 0 else "sell"

    @property
    def exit_side(self) -> str:
        """The order side that reduces this direction."""
        return "sell" if self.direction > 0 else "buy"


def trade_signal_key(ledger: Ledger, trade: Trade) -> str:
    """The signal a trade was opened on (recorded at its first order), else the trade id."""
    for order in trade.orders:
        if order.ft_order_side != trade.entry_side:
            continue
        record = ledger.ctx.store.order(order.order_id)
        if record is not None and record.signal:
            return record.signal
    return f"entry|{trade.pair}|trade{trade.id}"


def adjustment_signal_key(opening: str, trade: Trade) -> str:
    """Each position-adjustment decision is its own signal: the opening signal while the first
    entry has not filled, then one per number of filled entries (its own attempt budget)."""
    filled_entries = trade.nr_of_successful_entries
    return opening if filled_entries == 0 else f"{opening}|adjust{filled_entries}"


def exit_signal_key(pair: str, trade: Trade | None, exit_reason: str | None) -> str:
    """An exit signal: the trade and the exit reason (a new reason is a new signal)."""
    return f"exit|{pair}|trade{trade.id if trade else '-'}|{exit_reason or '-'}"


def plan_placement(ledger: Ledger, kwargs: dict[str, Any]) -> Placement:
    """Read the order Freqtrade is sending (`Exchange.create_order`'s keyword arguments)."""
    pair = kwargs["pair"]
    side = kwargs["side"]
    trade = ftmodel.open_trade(pair)
    if ledger.ctx.venue.futures:
        is_exit = bool(kwargs.get("reduceOnly"))
    else:
        is_exit = trade is not None and side == trade.exit_side
    role: Role = "exit" if is_exit else "entry"
    initial = bool(kwargs.get("initial_order", True)) and role == "entry"
    if role == "exit":
        direction = -1 if (trade is not None and trade.is_short) else 1
        intent = scopes.EXIT_INTENT.get()
        signal = exit_signal_key(pair, trade, intent.exit_reason if intent else None)
    else:
        direction = 1 if side == "buy" else -1
        if initial or trade is None:
            signal = ftmodel.entry_signal_key(ledger.ctx.strategy, pair, direction)
        else:
            signal = adjustment_signal_key(trade_signal_key(ledger, trade), trade)
    return Placement(
        pair=pair,
        role=role,
        direction=direction,
        signal=signal,
        trade_id=trade.id if trade else None,
        initial=initial,
        gone=ledger.pending(pair, role),
    )
