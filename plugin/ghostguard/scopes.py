"""What Freqtrade is doing when an exchange method is called: two of the bot's own methods open a
scope for the calls made inside them.

- `execute_trade_exit` carries the exit's type and reason (stop-loss, emergency, force, ...) that
  `create_order` does not see: the gate lets risk-reducing exits through, only clamped, and counts
  ordinary exits per exit signal (trade + exit reason).
- `startup_update_open_orders` is Freqtrade's start-up pass over open orders, which takes an order
  it cannot fetch as cancelled: inside it, and only there, a not-found answer is turned into a
  `TemporaryError` (which that method catches) so the breaker verifies the order instead.

And one method of the bot's RPC object: `_rpc_force_exit` (Telegram `/forceexit`, the REST API,
FreqUI) cancels the trade's open orders before it calls `execute_trade_exit`; the scope of a
force exit covers those cancels too, so that nothing the guard does holds them back.

Each wrapper is the bot's own bound method on the instance, with a context variable set around
it; nothing else changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


# Exit types whose order reduces risk and is never held back (Freqtrade's ExitType values).
RISK_REDUCING_EXIT_TYPES = frozenset(
    {"stop_loss", "trailing_stop_loss", "liquidation", "emergency_exit", "force_exit"}
)
SCOPED_BOT_METHODS = ("execute_trade_exit", "startup_update_open_orders")
FORCE_EXIT_METHOD = "_rpc_force_exit"  # on the bot's RPC object (bot.rpc._rpc)


@dataclass(frozen=True)
class ExitIntent:
    trade_id: int | None
    exit_type: str
    exit_reason: str
    # The trade's stop-loss is reached at the exit's price: Freqtrade tries an exit signal
    # before the stop-loss and never reaches the stop-loss when that exit raises, so such an
    # exit is the stop-loss in all but name.
    stop_reached: bool = False

    @property
    def risk_reducing(self) -> bool:
        return self.exit_type in RISK_REDUCING_EXIT_TYPES or self.stop_reached

    @property
    def label(self) -> str:
        if self.stop_reached and self.exit_type not in RISK_REDUCING_EXIT_TYPES:
            return f"{self.exit_type or 'exit'} (stop-loss reached)"
        return self.exit_type or "exit"


EXIT_INTENT: ContextVar[ExitIntent | None] = ContextVar("ghostguard_exit", default=None)
STARTING_UP: ContextVar[bool] = ContextVar("ghostguard_starting_up", default=False)


def stop_reached(trade: Any, limit: Any) -> bool:
    """Whether the trade's stop-loss (as Freqtrade adjusted it this loop) is reached at the
    exit's price."""
    try:
        stop, price = float(trade.stop_loss or 0.0), float(limit or 0.0)
        if stop <= 0.0 or price <= 0.0:
            return False
        return price >= stop if trade.is_short else price <= stop
    except (AttributeError, TypeError, ValueError):
        return False


def exit_intent_of(
    trade: Any, exit_check: Any, exit_tag: str | None, limit: Any = None
) -> ExitIntent:
    exit_type = getattr(getattr(exit_check, "exit_type", None), "value", "") or ""
    reason = exit_tag or getattr(exit_check, "exit_reason", "") or exit_type or "-"
    if exit_type == "custom_exit" and reason in RISK_REDUCING_EXIT_TYPES:
        # Freqtrade re-places a re-priced exit order as a custom exit whose reason is the
        # order's tag: a stop-loss (emergency, force...) exit placed as a limit order and
        # re-priced is still that exit.
        exit_type = reason
    return ExitIntent(
        getattr(trade, "id", None), str(exit_type), str(reason), stop_reached(trade, limit)
    )


def reducing_risk() -> bool:
    """Inside a stop-loss, trailing stop, liquidation, emergency or force exit (its cancels
    of the trade's open orders included)."""
    intent = EXIT_INTENT.get()
    return intent is not None and intent.risk_reducing


@contextmanager
def _set(var: ContextVar[Any], value: Any) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def scoped(name: str, own: Callable[..., Any]) -> Callable[..., Any]:
    """The bot's own bound method `name`, opening its scope around each call."""
    if name == "execute_trade_exit":

        @functools.wraps(own)
        def execute_trade_exit(trade: Any, limit: float, exit_check: Any, **kwargs: Any) -> Any:
            intent = exit_intent_of(trade, exit_check, kwargs.get("exit_tag"), limit)
            with _set(EXIT_INTENT, intent):
                return own(trade, limit, exit_check, **kwargs)

        return execute_trade_exit

    if name == FORCE_EXIT_METHOD:

        @functools.wraps(own)
        def _rpc_force_exit(*args: Any, **kwargs: Any) -> Any:
            with _set(EXIT_INTENT, ExitIntent(None, "force_exit", "force_exit")):
                return own(*args, **kwargs)

        return _rpc_force_exit

    @functools.wraps(own)
    def startup_update_open_orders(*args: Any, **kwargs: Any) -> Any:
        with _set(STARTING_UP, True):
            return own(*args, **kwargs)

    return startup_update_open_orders
