"""Binance USD-M error answers and constants the simulator's handlers share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


Answer = tuple[int, Any]

PERPETUAL_DELIVERY = 4133404800000
FUNDING_INTERVAL_MS = 8 * 3_600_000
FUNDING_RATE = "0.00010000"
MSG_POST_ONLY = (
    "Due to the order could not be executed as maker, the Post Only order will be rejected. "
    "The order will not be recorded in the order book."
)


@dataclass(frozen=True)
class RawBody:
    """An answer whose body is not JSON (a gateway's HTML page, a plain-text refusal): the
    transport and the server send ``text`` as it is, with ``content_type``."""

    text: str
    content_type: str = "text/html"


class BinanceError(Exception):
    """An error answer: HTTP status plus Binance's {"code", "msg"} body."""

    def __init__(self, code: int, msg: str, http: int = 400) -> None:
        super().__init__(f"{http} {code} {msg}")
        self.code = code
        self.msg = msg
        self.http = http

    def answer(self) -> Answer:
        return self.http, {"code": self.code, "msg": self.msg}


def order_not_found() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")
