"""Pure maths on exchange answers and errors: what an error means, what a fill really is.

No I/O: functions of an answer (a ccxt order dict), an error, or the amounts on a trade's
orders.
"""

from __future__ import annotations

import re
from typing import Any

import ccxt
from freqtrade.exceptions import InvalidOrderException, RetryableOrderError

from ghostguard import events
from ghostguard.checks import AMOUNT_EPS, GONE_STATUSES, as_amount


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__
    return seen


def is_not_found(error: BaseException) -> bool:
    """A definitive "order does not exist", recognised the way Freqtrade itself marks it: ccxt's
    `OrderNotFound` in the cause chain, Freqtrade's `RetryableOrderError` (its not-found
    class), or a venue override's own "Order not found" (Kraken Futures raises a plain
    `InvalidOrderException("Order not found in any endpoint ...")` with no ccxt cause)."""
    for e in _chain(error):
        if isinstance(e, ccxt.OrderNotFound | RetryableOrderError):
            return True
        if isinstance(e, InvalidOrderException) and "order not found" in str(e).lower():
            return True
    return False


def is_post_only_rejection(error: BaseException) -> bool:
    """A post-only order refused at placement because it would have taken liquidity."""
    return any(
        isinstance(e, ccxt.OrderImmediatelyFillable | ccxt.OrderNotFillable) for e in _chain(error)
    )


# How venues refuse a second order with a client id already in use: the order EXISTS.
# Binance -4116 "ClientOrderId is duplicated."; Bybit 110072 "OrderLinkedID is duplicate";
# OKX 51016 "Duplicated clOrdId"; Binance spot -2010 "Duplicate order sent." (-2010 alone
# also means "insufficient balance": only its text says which).
_DUPLICATE_ID_MARKERS = ("-4116", "clientorderid is duplicated", "110072",
                         "orderlinkedid is duplicate", "51016", "duplicated clordid",
                         "duplicate order sent")


def is_duplicate_client_id(error: BaseException) -> bool:
    """A create refused because its client order id is taken: an order with that id exists."""
    return any(
        marker in str(e).lower() for e in _chain(error) for marker in _DUPLICATE_ID_MARKERS
    )


def refused_without_order(error: BaseException) -> bool:
    """A create the exchange refused, leaving no order behind (so its intent can go)."""
    return isinstance(error, InvalidOrderException) and not is_duplicate_client_id(error)


def error_text(error: BaseException) -> str:
    return events.scrub(f"{type(error).__name__}: {error}")[:300]


def signed_position(orders: list[tuple[bool, float, float]], is_short: bool) -> float:
    """Net amount a trade holds, long > 0, short < 0, from its orders `(is_entry, filled,
    fee in the base currency)`: a fee taken in the base asset (spot) is not held."""
    net = sum(filled - fee if is_entry else -filled for is_entry, filled, fee in orders)
    return -net if is_short else net


def with_verified_fill(
    answer: dict[str, Any], filled: float, amount: float, traded: float, cost: float | None
) -> dict[str, Any]:
    """A copy of an order answer carrying the fill the exchange verified (`filled`; `traded`
    and `cost` are what its trades record): `remaining` follows, a gone status becomes closed
    when the order is in fact fully filled, and cost and average come from the trades."""
    corrected = dict(answer)
    corrected["filled"] = filled
    corrected["remaining"] = max(amount - filled, 0.0)
    if corrected.get("status") in GONE_STATUSES and filled >= amount - AMOUNT_EPS:
        corrected["status"] = "closed"
    if cost is not None and traded > 0:
        corrected["cost"] = cost
        corrected["average"] = cost / traded
    return corrected


def with_booked_fill(
    answer: dict[str, Any],
    booked_filled: float,
    booked_amount: float,
    booked_status: str | None,
    booked_average: float | None,
) -> dict[str, Any] | None:
    """A later answer may lag or be stale (Freqtrade fetches closed orders again for fees, and
    open ones every loop): it never lowers a fill the database already holds, since an order's
    fill never falls. `booked_status` None keeps the answer's status. Returns the corrected
    answer, or None when the answer needs no correction."""
    reported = as_amount(answer.get("filled"))
    if reported is not None and reported >= booked_filled - AMOUNT_EPS:
        return None
    corrected = dict(answer)
    corrected["filled"] = booked_filled
    corrected["remaining"] = max(booked_amount - booked_filled, 0.0)
    corrected["status"] = booked_status or answer.get("status")
    if booked_average:
        corrected["average"] = booked_average
        corrected["cost"] = booked_average * booked_filled
    return corrected


def traded_amounts(fills: Any) -> tuple[float, float | None]:
    """(amount, cost) of an order's trades; raises `ValueError` when the answer is unreadable."""
    if not isinstance(fills, list):
        raise ValueError(f"trades answer={fills!r}")
    amounts = [as_amount(t.get("amount")) if isinstance(t, dict) else None for t in fills]
    if any(a is None for a in amounts):
        raise ValueError("unreadable trade amount")
    costs = [as_amount(t.get("cost")) for t in fills]
    cost = sum(c or 0.0 for c in costs) if all(c is not None for c in costs) else None
    return sum(a or 0.0 for a in amounts), cost


def settings_text(values: dict[str, Any]) -> str:
    return " ".join(
        f"{key}={str(value).lower() if isinstance(value, bool) else _shown(key, value)}"
        for key, value in values.items()
    )


def _shown(key: str, value: Any) -> Any:
    """A URL's password is never shown (the account registry's)."""
    if key == "account_registry" and value:
        return _URL_PASSWORD.sub(r"\1***@", str(value))
    return value


_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def as_venue_answers(order: dict[str, Any]) -> dict[str, Any]:
    """A Bybit order as Freqtrade's Bybit class returns it: "Canceled orders will have
    remaining=0 on bybit", so a cancelled unfilled order's remaining is None."""
    if (
        order.get("status") == "canceled"
        and order.get("filled") == 0.0
        and order.get("remaining") == 0.0
    ):
        order = {**order, "remaining": None}
    return order


def gone_status(order: Any) -> str | None:
    """The status of an order that ended without filling completely, or None. Besides
    cancelled / expired / rejected, a "closed" order with less filled than its amount ended
    early: Bybit's "PartiallyFilledCanceled" reaches ccxt (4.5.90) as "closed"."""
    if not isinstance(order, dict):
        return None
    status = order.get("status")
    if status in GONE_STATUSES:
        return str(status)
    if status == "closed":
        amount, filled = as_amount(order.get("amount")), as_amount(order.get("filled"))
        if amount is not None and filled is not None and filled < amount - AMOUNT_EPS:
            return "canceled"
    return None


def is_booked_stop_fill(
    listed: dict[str, Any], stops: list[tuple[str, float, float | None]]
) -> bool:
    """A listed order the database does not know by its id is the order a stop the database
    booked placed when it triggered: the same side, fill and average price as one of the
    booked stops `(side, filled, average)`. On venues whose stop is an algo order (Binance
    USD-M, OKX), Freqtrade books the stop under the algo id, with the fill of the order it
    placed; the order list shows that order under its own id."""
    filled = as_amount(listed.get("filled")) or 0.0
    average = as_amount(listed.get("average"))
    side = str(listed.get("side") or "").lower()
    if filled <= AMOUNT_EPS or average is None:
        return False
    return any(
        side == stop_side
        and abs(filled - stop_filled) <= AMOUNT_EPS
        and stop_average is not None
        and abs(average - stop_average) <= max(abs(stop_average) * 1e-9, 1e-12)
        for stop_side, stop_filled, stop_average in stops
    )
