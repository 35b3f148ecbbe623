"""Orders, fills and positions of the simulated exchange, shaped like Binance USD-M JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ghostsim.market import SymbolSpec


OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
MAKER_FEE = 0.0002
TAKER_FEE = 0.0005


@dataclass
class SimOrder:
    """One order as the matching engine knows it (the truth)."""

    order_id: int
    client_order_id: str
    spec: SymbolSpec
    side: str  # BUY / SELL
    type: str  # LIMIT / MARKET
    time_in_force: str  # GTC / GTX / IOC / FOK
    price: float
    orig_qty: float
    reduce_only: bool
    time: int
    update_time: int
    visible_at: int
    executed_qty: float = 0.0
    cum_quote: float = 0.0
    status: str = "NEW"
    # (sim ms, Binance JSON) at every change: what a lagging view shows (ghostsim.views).
    history: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return self.spec.id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> float:
        return round(self.orig_qty - self.executed_qty, self.spec.qty_decimals)

    @property
    def avg_price(self) -> float:
        return self.cum_quote / self.executed_qty if self.executed_qty else 0.0

    def to_binance(self, *, with_time: bool = True) -> dict[str, Any]:
        """The order exactly as Binance's /fapi/v1/order answers it."""
        spec = self.spec
        data: dict[str, Any] = {
            "orderId": self.order_id,
            "symbol": spec.id,
            "status": self.status,
            "clientOrderId": self.client_order_id,
            "price": spec.fmt_price(self.price) if self.type == "LIMIT" else "0",
            "avgPrice": f"{self.avg_price:.{spec.price_decimals + 2}f}",
            "origQty": spec.fmt_qty(self.orig_qty),
            "executedQty": spec.fmt_qty(self.executed_qty),
            "cumQty": spec.fmt_qty(self.executed_qty),
            "cumQuote": f"{self.cum_quote:.8f}",
            "timeInForce": self.time_in_force,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "updateTime": self.update_time,
        }
        if with_time:
            data["time"] = self.time
        return data


@dataclass
class SimTrade:
    """One fill (a Binance userTrades row)."""

    trade_id: int
    order: SimOrder
    price: float
    qty: float
    commission: float
    realized_pnl: float
    time: int
    maker: bool

    def to_binance(self) -> dict[str, Any]:
        spec = self.order.spec
        return {
            "symbol": spec.id,
            "id": self.trade_id,
            "orderId": self.order.order_id,
            "side": self.order.side,
            "price": spec.fmt_price(self.price),
            "qty": spec.fmt_qty(self.qty),
            "realizedPnl": f"{self.realized_pnl:.8f}",
            "quoteQty": f"{self.price * self.qty:.8f}",
            "commission": f"{self.commission:.8f}",
            "commissionAsset": spec.quote,
            "time": self.time,
            "buyer": self.order.side == "BUY",
            "maker": self.maker,
            "positionSide": "BOTH",
            "marginAsset": spec.quote,
        }


@dataclass
class Position:
    """A one-way-mode position: signed quantity and average entry price."""

    qty: float = 0.0
    entry_price: float = 0.0
    leverage: int = 20
    margin_type: str = "CROSSED"
    update_time: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)

    def apply_fill(self, side: str, qty: float, price: float, decimals: int) -> float:
        """Apply a fill; return the realized PnL."""
        delta = qty if side == "BUY" else -qty
        realized = 0.0
        if self.qty == 0 or (self.qty > 0) == (delta > 0):
            new_abs = abs(self.qty) + qty
            self.entry_price = (abs(self.qty) * self.entry_price + qty * price) / new_abs
        else:
            closed = min(qty, abs(self.qty))
            realized = closed * (price - self.entry_price) * (1 if self.qty > 0 else -1)
            if qty > abs(self.qty):
                self.entry_price = price
        self.qty = round(self.qty + delta, decimals)
        if self.qty == 0:
            self.entry_price = 0.0
        return realized

    def unrealized(self, mark: float) -> float:
        return self.qty * (mark - self.entry_price)

    def initial_margin(self) -> float:
        return abs(self.qty) * self.entry_price / max(self.leverage, 1)
