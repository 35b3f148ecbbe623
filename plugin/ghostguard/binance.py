"""Strict readers of Binance USD-M raw answers for checks 2 and 3.

ccxt's unified parsers are forgiving: a malformed positions or open-orders answer comes back as
an empty list, which reads as "flat, no orders" and would let a replacement through. For Binance
USD-M (the primary venue) the guard therefore reads the raw endpoints and accepts only answers
of the documented shape; anything else raises `ValueError`, which blocks (fail safe).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ghostguard.checks import as_amount


STOP_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)


@dataclass(frozen=True)
class RawOpenOrder:
    order_id: str
    reduce_only: bool
    side: str
    is_stop: bool
    remaining: float
    client_id: str = ""


def _signed_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what}={value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what}={value!r}") from error
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{what}={value!r}")
    return number


def parse_position_risk(answer: Any, market_id: str, contract_size: float) -> float:
    """Signed position in base units from `GET /fapi/v2|v3/positionRisk` (long > 0)."""
    if not isinstance(answer, list):
        raise ValueError(f"positionRisk answer is {type(answer).__name__}, not a list")
    net = 0.0
    for row in answer:
        if not isinstance(row, dict) or not isinstance(row.get("symbol"), str):
            raise ValueError(f"positionRisk row={row!r}")
        if row["symbol"] != market_id:
            continue
        net += _signed_number(row.get("positionAmt"), "positionAmt") * contract_size
    return net


def parse_open_orders(answer: Any, market_id: str) -> list[RawOpenOrder]:
    """Open orders of the symbol from `GET /fapi/v1/openOrders`."""
    if not isinstance(answer, list):
        raise ValueError(f"openOrders answer is {type(answer).__name__}, not a list")
    orders = []
    for row in answer:
        if not isinstance(row, dict):
            raise ValueError(f"openOrders row={row!r}")
        if row.get("symbol") != market_id:
            continue
        order_id = row.get("orderId")
        side = row.get("side")
        order_type = row.get("origType") or row.get("type")
        reduce_only = row.get("reduceOnly")
        if order_id in (None, "") or side not in ("BUY", "SELL"):
            raise ValueError(f"openOrders row={row!r}")
        if not isinstance(order_type, str) or not isinstance(reduce_only, bool):
            raise ValueError(f"openOrders row={row!r}")
        if row.get("closePosition") is True:
            reduce_only = True
        remaining = _signed_number(row.get("origQty"), "origQty") - _signed_number(
            row.get("executedQty"), "executedQty"
        )
        orders.append(
            RawOpenOrder(
                order_id=str(order_id),
                reduce_only=reduce_only,
                side=side.lower(),
                is_stop=order_type in STOP_TYPES,
                remaining=max(remaining, 0.0),
                client_id=str(row.get("clientOrderId") or ""),
            )
        )
    return orders


def contract_size_of(market: Any) -> float:
    size = as_amount(market.get("contractSize") if isinstance(market, dict) else None)
    return size if size else 1.0
