"""Binance USD-M rules the simulator enforces where GhostGuard looks, each with its source.

Every rule here is a sentence of Binance's USD-M futures REST documentation
(developers.binance.com/docs/derivatives/usds-margined-futures/...), quoted in the comment above
it, and is pinned by ``tests/test_sim_conformance.py`` through real ccxt. docs/simulator.md lists
them with the rules that are not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ghostsim.book import SimOrder
from ghostsim.errors import BinanceError


DAY_MS = 86_400_000

# trade/rest-api/Account-Trade-List (GET /fapi/v1/userTrades):
#   "If startTime and endTime are both not sent, then the last 7 days' data will be returned."
#   "The time between startTime and endTime cannot be longer than 7 days."
#   "The parameter fromId cannot be sent with startTime or endTime."
#   "Only support querying trade in the past 6 months"
# Error codes (error-code page): -1127 INVALID_INTERVAL "More than %s hours between startTime and
# endTime.", -1128 "Combination of optional parameters invalid."
TRADE_WINDOW_MS = 7 * DAY_MS
TRADE_HISTORY_MS = 180 * DAY_MS

# trade/rest-api/Query-Order (GET /fapi/v1/order), also All-Orders and Query-Current-Open-Order:
#   "These orders will not be found:
#    - order status is CANCELED or EXPIRED AND order has NO filled trade AND created time + 3 days
#      < current time
#    - order create time + 90 days < current time"
ARCHIVE_UNFILLED_MS = 3 * DAY_MS
ARCHIVE_ANY_MS = 90 * DAY_MS

# trade/rest-api/New-Order: newClientOrderId "A unique id among open orders. Automatically
# generated if not sent. Can only be string following the rule: ^[\.A-Z\:/a-z0-9_-]{1,36}$".
# Binance answers a violation with -1100 ILLEGAL_CHARS naming the parameter and the legal range
# (the error-code page also lists -4015 "Client order id is not valid."; the answer observed for
# a bad newClientOrderId, and the one ccxt's own comment quotes for -1100, is the -1100 form).
CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
ORDER_ID_RE = re.compile(r"^[0-9]{1,20}$")

# general-info "Timing security": "if (timestamp < (serverTime + 1000) && (serverTime -
# timestamp) <= recvWindow) { process } else { reject }"; recvWindow defaults to 5000 and
# "cannot be greater than 60000". Rejected with -1021 INVALID_TIMESTAMP.
RECV_WINDOW_DEFAULT_MS = 5000
RECV_WINDOW_MAX_MS = 60_000


def illegal_chars(param: str, legal: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{param}'; legal range is '{legal}'."
    )


def check_client_order_id(value: str | None, param: str = "newClientOrderId") -> None:
    if value is not None and not CLIENT_ID_RE.match(value):
        raise illegal_chars(param, CLIENT_ID_RANGE)


def parse_order_id(value: str, param: str = "orderId") -> int:
    """A numeric order id, or -1100 as Binance answers a malformed one (never a ValueError)."""
    if not ORDER_ID_RE.match(value or ""):
        raise illegal_chars(param, "^[0-9]{1,20}$")
    return int(value)


def parse_time(params: Mapping[str, str], key: str) -> int | None:
    if key not in params:
        return None
    value = params[key]
    if not re.match(r"^-?[0-9]{1,20}$", value or ""):
        raise illegal_chars(key, "^[0-9]{1,20}$")
    return int(value)


def check_timestamp(params: Mapping[str, str], now_ms: int) -> None:
    """The signed-request timing rule (general-info, "Timing security")."""
    stamp = parse_time(params, "timestamp")
    if stamp is None:
        raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, "
                                  "or malformed.")
    window = parse_time(params, "recvWindow")
    window = RECV_WINDOW_DEFAULT_MS if window is None else window
    if window > RECV_WINDOW_MAX_MS:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    if stamp >= now_ms + 1000:
        raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's "
                                  "time.")
    if now_ms - stamp > window:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def trade_window(params: Mapping[str, str], now_ms: int) -> tuple[int, int] | None:
    """(start, end) of a userTrades request, or None when it pages by ``fromId``.

    Raises Binance's answer for a window longer than 7 days or ``fromId`` with times.
    """
    start = parse_time(params, "startTime")
    end = parse_time(params, "endTime")
    if "fromId" in params:
        if start is not None or end is not None:
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
        return None
    if start is not None and end is not None:
        if end - start > TRADE_WINDOW_MS:
            raise BinanceError(-1127, "More than 168 hours between startTime and endTime.")
        return start, end
    if start is not None:
        return start, start + TRADE_WINDOW_MS
    if end is not None:
        return end - TRADE_WINDOW_MS, end
    return now_ms - TRADE_WINDOW_MS, now_ms


def archived(order: SimOrder, now_ms: int) -> bool:
    """Query Order no longer finds it (the two documented archival rules)."""
    if order.time + ARCHIVE_ANY_MS < now_ms:
        return True
    return (
        order.status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH")
        and order.executed_qty <= 0
        and order.time + ARCHIVE_UNFILLED_MS < now_ms
    )


__all__ = [
    "ARCHIVE_ANY_MS",
    "ARCHIVE_UNFILLED_MS",
    "TRADE_WINDOW_MS",
    "archived",
    "check_client_order_id",
    "check_timestamp",
    "parse_order_id",
    "trade_window",
]
