"""One attempt for a tracked order's status query on a venue whose `fetch_order` takes no
retrier `count` (Freqtrade's Hyperliquid class; Bybit's when no adapter is used).

Such an override calls `super().fetch_order(order_id, pair, params)`, which Freqtrade's retrier
wraps with its default `count`: every "order does not exist" is retried with its back-off (1, 2,
5, 10, 17 s: about 35 s a loop). No argument reaches that retrier from outside, so the guard
changes the one thing in between that it can reach on the instance: the bot's ccxt object's
`fetch_order`. While the guard asks (a context variable, set only around its own call), a ccxt
`OrderNotFound` leaves that ccxt call as `NotFoundOnce`, an `InvalidOrder` that Freqtrade maps to
`InvalidOrderException`, which its retrier does not retry. The guard turns it back into the
`RetryableOrderError` Freqtrade itself raises for "not found", with the ccxt error as its cause,
so callers see the same exception type. Network errors and 5xx are still retried by the
override's own retrier, as Freqtrade would. Outside the guard's call nothing changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import ccxt
from freqtrade.exceptions import InvalidOrderException, RetryableOrderError


ASKING: ContextVar[bool] = ContextVar("ghostguard_one_attempt", default=False)
MARK = "_ghostguard_once"


class NotFoundOnce(ccxt.InvalidOrder):
    """A ccxt `OrderNotFound` during the guard's one-attempt query (its cause)."""


@contextmanager
def _asking() -> Iterator[None]:
    token = ASKING.set(True)
    try:
        yield
    finally:
        ASKING.reset(token)


def install(exchange: Any) -> bool:
    """Wrap the ccxt object's `fetch_order` on the instance; False when it has none."""
    api = getattr(exchange, "_api", None)
    own = getattr(api, "fetch_order", None)
    if api is None or not callable(own):
        return False
    if getattr(own, MARK, False):
        return True

    @functools.wraps(own)
    def fetch_order(*args: Any, **kwargs: Any) -> Any:
        try:
            return own(*args, **kwargs)
        except ccxt.OrderNotFound as error:
            if not ASKING.get():
                raise
            raise NotFoundOnce(str(error)) from error

    setattr(fetch_order, MARK, True)
    api.fetch_order = fetch_order
    return True


def installed(exchange: Any) -> bool:
    api = getattr(exchange, "_api", None)
    return bool(getattr(getattr(api, "fetch_order", None), MARK, False))


def uninstall(exchange: Any) -> None:
    api = getattr(exchange, "_api", None)
    if api is not None and getattr(getattr(api, "fetch_order", None), MARK, False):
        api.__dict__.pop("fetch_order", None)


def call(fetch: Callable[..., Any], order_id: str, pair: str, params: dict | None) -> Any:
    """The venue's own `fetch_order`, with "not found" answered after one attempt."""
    try:
        with _asking():
            return fetch(order_id, pair, params)
    except InvalidOrderException as error:
        cause = _not_found_cause(error)
        if cause is None:
            raise
        raise RetryableOrderError(
            f"Order not found (pair: {pair} id: {order_id}). Message: {cause}"
        ) from cause


def _not_found_cause(error: BaseException) -> BaseException | None:
    current: BaseException | None = error
    seen = 0
    while current is not None and seen < 10:
        if isinstance(current, NotFoundOnce):
            return current.__cause__ or current
        current, seen = current.__cause__, seen + 1
    return None


__all__ = ["NotFoundOnce", "call", "install", "installed", "uninstall"]
