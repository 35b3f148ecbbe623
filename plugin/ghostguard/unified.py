"""Readers of ccxt's unified answers for checks 2 and 3, for every venue but Binance USD-M
(which `ghostguard.binance` reads raw): spot balances, unified positions, unified open orders.

Pure functions: each takes the answer as ccxt returned it and returns the fact, or raises
`ValueError` for an answer it cannot read — the caller turns that into a blocking denial.
"""

from __future__ import annotations

from typing import Any

from ghostguard.checks import Role, as_amount


def spot_position(balances: Any, base: str) -> float:
    """Spot: the position is the base asset's total balance (free + in orders).

    A base asset the account does not list is a balance of 0; a listed one without a readable
    total is an error. The whole balance counts, including coins held outside the bot, so a
    balance the bot did not buy shows as a position it does not know (check 2 blocks).
    """
    if not isinstance(balances, dict):
        raise ValueError(f"balances answer={balances!r}")
    if base not in balances:
        return 0.0
    entry = balances[base]
    total = as_amount(entry.get("total")) if isinstance(entry, dict) else None
    if total is None:
        raise ValueError(f"unreadable {base} balance {entry!r}")
    return total


def same_base_pairs(markets: Any, pair: str, balances: Any, limit: int = 4) -> list[str]:
    """Spot: the other markets of `pair`'s base asset whose quote the account holds (where
    another bot of the account may hold that base through another quote), the largest quote
    balance first, at most `limit`. `balances` None: every other quote of the base, unsorted
    (is there any to read the balances for)."""
    if not isinstance(markets, dict) or not isinstance(balances, dict | None):
        return []
    own = markets.get(pair) or {}
    base, quote = own.get("base"), own.get("quote")
    if balances is None:
        return [symbol for symbol, m in markets.items()
                if isinstance(m, dict) and m.get("spot") and m.get("base") == base
                and m.get("quote") != quote and m.get("active") is not False][:limit]
    held = {
        asset: total for asset, entry in balances.items()
        if isinstance(entry, dict) and (total := as_amount(entry.get("total")) or 0.0) > 0
    }
    found = sorted(
        ((held[m["quote"]], symbol) for symbol, m in markets.items()
         if isinstance(m, dict) and m.get("spot") and m.get("base") == base
         and m.get("quote") != quote and m.get("quote") in held
         and m.get("active") is not False),
        reverse=True,
    )
    return [symbol for _, symbol in found[:limit]]


def net_position(positions: Any, pair: str) -> float:
    """Futures (not Binance USD-M): the pair's net position in base units, short negative."""
    if not isinstance(positions, list):
        raise ValueError(f"positions answer={positions!r}")
    net = 0.0
    for position in positions:
        if not isinstance(position, dict) or position.get("symbol") != pair:
            continue
        contracts = as_amount(position.get("contracts"))
        size = as_amount(position.get("contractSize") or 1.0)
        side = position.get("side")
        if contracts is None or size is None:
            raise ValueError(f"unreadable position {position.get('info', position)!r}")
        if contracts > 0 and side not in ("long", "short"):
            raise ValueError(f"position side={side!r}")
        net += contracts * size * (-1 if side == "short" else 1)
    return net


def is_stop_order(order: dict[str, Any]) -> bool:
    order_type = str(order.get("type") or "").lower()
    return bool(
        order.get("stopPrice")
        or order.get("triggerPrice")
        or "stop" in order_type
        or "take_profit" in order_type
    )


def role_of_order(order: dict[str, Any], futures: bool, entry_side: str) -> Role:
    """Futures: reduce-only orders exit. Spot has no reduce-only: the side tells."""
    if futures:
        return "exit" if order.get("reduceOnly") else "entry"
    return "entry" if order.get("side") == entry_side else "exit"


def open_orders_of_role(
    orders: Any, role: Role, entry_side: str, futures: bool
) -> list[tuple[str, float]]:
    """(id, remaining) of the open orders of one role, stop orders excluded."""
    return [
        (i, r) for i, r, _, of in open_orders_with_ids(orders, entry_side, futures) if of == role
    ]


def open_orders_with_ids(
    orders: Any, entry_side: str, futures: bool
) -> list[tuple[str, float, str, Role]]:
    """(id, remaining, client id, role) of the open orders, stop orders excluded."""
    if not isinstance(orders, list):
        raise ValueError(f"open orders answer={orders!r}")
    found = []
    for order in orders:
        if not isinstance(order, dict) or order.get("id") in (None, ""):
            raise ValueError(f"open order={order!r}")
        if order.get("status") not in (None, "open") or is_stop_order(order):
            continue
        remaining = as_amount(order.get("remaining"))
        if remaining is None:
            raise ValueError(f"open order remaining={order.get('remaining')!r}")
        found.append((
            str(order["id"]), remaining, str(order.get("clientOrderId") or ""),
            role_of_order(order, futures, entry_side),
        ))
    return found
