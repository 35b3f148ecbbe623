"""Bybit v5 rules the face answers by: windows, retention, client-id format, error codes.

Each rule names its Bybit v5 page (bybit-exchange.github.io/docs/v5/...) and is pinned by
``tests/test_sim_bybit.py``; docs/sim-venues/bybit.md lists them with what is not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


Json = Any

DAY_MS = 86_400_000

# order/create-order: orderLinkId "A max of 36 characters. Combinations of numbers, letters
# (upper and lower cases), dashes, and underscores are supported. Futures & Perps: orderLinkId
# rules: optional param, always unique". (An older text, "An orderLinkId can be reused once the
# original order is either Filled or Cancelled", is gone from v5: a reuse is refused even for
# a closed order.) error-code page: 110072 "OrderLinkedID is duplicate"; a malformed one is a
# parameter error, 10001.
LINK_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")

# order/open-order (GET /v5/order/realtime): "Primarily query unfilled or partially filled orders
# in real-time, but also supports querying recent 500 closed status (Cancelled, Filled) orders."
# openOnly "0(default): ... query open status orders (e.g., New, PartiallyFilled) only"; "1: UTA2.0
# ... Query a maximum of recent 500 closed status records are kept under each account each
# category"; "openOnly param will be ignored when query by orderId or orderLinkId"; "After a server
# release or restart, filled, cancelled, and rejected orders of Unified account should only be
# queried through order history." (Face.service_restart). limit "[1, 50]. Default: 20".
REALTIME_CLOSED_KEPT = 500

# order/order-list (GET /v5/order/history), UTA2.0 linear: "The orders in the last 7 days: ...
# support querying all closed status except "Cancelled", "Rejected", "Deactivated" status." "The
# orders in the last 24 hours: ... for the orders with "Cancelled" (fully cancelled order),
# "Rejected", "Deactivated" can be query" "The orders beyond 7 days: All account supports querying
# orders which have fills only" "support querying the past 2 years data." orderStatus "UTA2.0 ...
# return all closed status orders if not passed". startTime "startTime and endTime are not passed,
# return 7 days by default; Only startTime is passed, return range between startTime and
# startTime+7 days; Only endTime is passed, return range between endTime-7 days and endTime; If
# both are passed, the rule is endTime - startTime <= 7 days". Same window text on
# position/execution (GET /v5/execution/list), limit "[1, 100]. Default: 50", where "orderId and
# orderLinkId have a higher priority and as long as these two parameters are in the input
# parameters, other input parameters will be ignored."
WINDOW_MS = 7 * DAY_MS
CANCELLED_KEPT_MS = 1 * DAY_MS
HISTORY_KEPT_MS = 730 * DAY_MS

# Binance error code (engine) -> Bybit (retCode, retMsg) from Bybit's UTA error-code page.
ERROR_MAP: dict[int, tuple[int, str]] = {
    -2011: (110001, "Order does not exist"),
    -2013: (110001, "Order does not exist"),
    -2022: (110017, "Reduce-only rule not satisfied"),
    -2019: (110007, "Available balance is insufficient"),
    -4164: (110094, "Order notional value below the lower limit"),
    -4003: (10001, "The number of contracts exceeds minimum limit allowed"),
    -1111: (10001, "Qty invalid"),
    -4014: (10001, "Price invalid"),
    -4116: (110072, "OrderLinkedID is duplicate"),
    -1100: (10001, "Request parameter error"),
    -1102: (10001, "Request parameter error"),
    -1121: (10001, "params error: Symbol Is Invalid"),
    -1127: (10001, "params error: the time range between startTime and endTime exceeds 7 days"),
    -1128: (10001, "Request parameter error"),
    -4028: (10001, "params error: leverage invalid"),
    -4068: (110024, "You have an existing position, so the position mode cannot be switched."),
    -1021: (10002, "The request time exceeds the time window range."),
    -1003: (10006, "Too many visits. Exceeded the API Rate Limit."),
    # 503 "Unknown error" (-1000) and -1007 timeout: Bybit's 10016 family; ccxt maps the
    # "Request timeout" message to RequestTimeout, other 10016 to ExchangeError.
    -1000: (10016, "Server error."),
    -1007: (10016, "Request timeout, please try again later"),
}


class BybitError(Exception):
    """A Bybit error answer: retCode, retMsg (and HTTP status, 200 for business errors)."""

    def __init__(self, code: int, msg: str, http: int = 200, result: Json = None) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.http = http
        self.result = {} if result is None else result


def bybit_error(status: int, body: Mapping[str, Any]) -> BybitError:
    """An engine (Binance) error answer in Bybit's words."""
    code = int(body.get("code", 0)) if isinstance(body, Mapping) else 0
    if status == 418:  # rate-limit: "HTTP 403 (Access Denied) ... your IP has been ... banned"
        return BybitError(10009, "IP has been banned.", 403)
    ret_code, msg = ERROR_MAP.get(code, (10016, "Server error."))
    http = 200 if status < 500 else status
    return BybitError(ret_code, msg, http)


def fmt_num(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


_TIF = {"GTC": "GTC", "GTX": "PostOnly", "IOC": "IOC", "FOK": "FOK"}
_TIF_IN = {"GTC": "GTC", "POSTONLY": "GTX", "IOC": "IOC", "FOK": "FOK"}


def _limit(params: Mapping[str, Any], default: int, top: int) -> int:
    value = params.get("limit")
    if value in (None, ""):
        return default
    if not str(value).isdigit() or not 1 <= int(value) <= top:
        raise BybitError(10001, f"params error: limit must be in [1, {top}]")
    return int(value)


def _float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as e:
        raise BybitError(10001, f"params error: {name} invalid") from e
    if number <= 0:
        raise BybitError(10001, f"params error: {name} invalid")
    return number


def _time(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value in (None, ""):
        return None
    if not re.match(r"^[0-9]{1,20}$", str(value)):
        raise BybitError(10001, f"params error: {key} invalid")
    return int(value)


def _window(params: Mapping[str, Any], now_ms: int) -> tuple[int, int]:
    """startTime/endTime as order-history and execution-list document them."""
    start, end = _time(params, "startTime"), _time(params, "endTime")
    if start is not None and end is not None:
        if end - start > WINDOW_MS or end < start:
            raise BybitError(10001, "params error: the time range between startTime and "
                                    "endTime exceeds 7 days")
        return start, end
    if start is not None:
        return start, start + WINDOW_MS
    if end is not None:
        return end - WINDOW_MS, end
    return now_ms - WINDOW_MS, now_ms


__all__ = [
    "CANCELLED_KEPT_MS", "HISTORY_KEPT_MS", "LINK_ID_RE", "REALTIME_CLOSED_KEPT", "WINDOW_MS",
    "BybitError", "bybit_error", "fmt_num",
]
