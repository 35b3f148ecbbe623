"""What Freqtrade is doing when an exchange method is called: two of the bot's own methods open a
scope for the calls made inside them.

- `execute_trade_exit` carries the exit's type and reason (stop-loss, emergency, force, ...) that
  `create_order` does not see: the gate lets risk-reducing exits through, only clamped, and counts
  ordinary exits per exit signal (trade + exit reason).
- `startup_update_open_orders` is Freqtrade's start-up pass over open orders, which takes an order
  it cannot fetch as cancelled: inside it, and only there, a not-found answer is turned into a
  `TemporaryError` (which that method catches) so the breaker verifies the order instead.

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


@dataclass(frozen=True)
class ExitIntent:
    trade_id: int | None
    exit_type: str
    exit_reason: str

    @property
    def risk_reducing(self) -> bool:
        return self.exit_type in RISK_REDUCING_EXIT_TYPES


EXIT_INTENT: ContextVar[ExitIntent | None] = ContextVar("ghostguard_exit", default=None)
STARTING_UP: ContextVar[bool] = ContextVar("ghostguard_starting_up", default=False)


def exit_intent_of(trade: Any, exit_check: Any, exit_tag: str | None) -> ExitIntent:
    exit_type = getattr(getattr(exit_check, "exit_type", None), "value", "") or ""
    reason = exit_tag or getattr(exit_check, "exit_reason", "") or exit_type or "-"
    return ExitIntent(getattr(trade, "id", None), str(exit_type), str(reason))


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
            intent = exit_intent_of(trade, exit_check, kwargs.get("exit_tag"))
            with _set(EXIT_INTENT, intent):
                return own(trade, limit, exit_check, **kwargs)

        return execute_trade_exit

    @functools.wraps(own)
    def startup_update_open_orders(*args: Any, **kwargs: Any) -> Any:
        with _set(STARTING_UP, True):
            return own(*args, **kwargs)

    return startup_update_open_orders
