"""Binance spot's model on top of the engine: symbol rules, filters, balances and answer shapes.

The face (``ghostsim.venues.binance_spot``) parses the requests; this module holds what is
spot-specific about the answers. Every rule quotes its source: Binance's spot API docs
(github.com/binance/binance-spot-api-docs: ``rest-api.md``, ``filters.md``, ``errors.md``,
``CHANGELOG.md``), the same text as developers.binance.com/docs/binance-spot-api-docs.

Balance model. The engine keeps a signed position per symbol; on spot it is the gross base
bought minus sold and never goes below zero, because the face forwards a SELL only when the
account's FREE base balance covers it. The face's ``SpotLedger`` holds the balances: it starts
with the quote asset (``SimExchange(balance=...)``, USDT) and follows every engine fill
(``sim.listeners``). Fees are charged in the asset received (Binance's default without BNB
fee payment): a BUY pays its commission in the BASE asset, a SELL in the QUOTE asset. Resting
orders lock what they would spend: a BUY locks price x remaining quote, a SELL its remaining base.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ghostsim.errors import BinanceError
from ghostsim.market import _DEFAULT_RULES, SymbolSpec, make_spec
from ghostsim.rules import DAY_MS


if TYPE_CHECKING:
    from ghostsim.book import SimOrder, SimTrade
    from ghostsim.engine import SimExchange


# Binance's regular (VIP 0) spot commission: 0.1% maker and taker, paid in the asset received.
SPOT_MAKER_FEE = 0.001
SPOT_TAKER_FEE = 0.001

# Binance's own spot filters for the simulator's default symbols (exchangeInfo, BTCUSDT /
# ETHUSDT): (tickSize, stepSize, minQty, NOTIONAL minNotional). Used unless the test passed
# its own ``rules`` (the engine's futures defaults are replaced, an override is kept).
SPOT_RULES: dict[str, tuple[float, float, float, float]] = {
    "BTCUSDT": (0.01, 0.00001, 0.00001, 5.0),
    "ETHUSDT": (0.01, 0.0001, 0.0001, 5.0),
    "BTCUSDC": (0.01, 0.00001, 0.00001, 5.0),
}
MAX_PRICE = 1_000_000.0
RATE_LIMITS: list[dict[str, Any]] = [  # exchangeInfo's (informative: not counted)
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
]
MAX_QTY = 9_000.0
ASSET_PRECISION = 8  # baseAssetPrecision / quoteAssetPrecision

# rest-api.md, All orders and Account trade list: "The time between `startTime` and `endTime`
# can't be longer than 24 hours." errors.md -1127 MORE_THAN_XX_HOURS "More than %s hours between
# startTime and endTime."
SPOT_WINDOW_MS = DAY_MS

# errors.md -2026 ORDER_ARCHIVED: "Order was canceled or expired with no executed qty over 90 days
# ago and has been archived." (CHANGELOG: an archived order is one "with status `CANCELED` or
# `EXPIRED` where `executedQty` == 0 that occurred more than 90 days in the past"; since the
# STP change also `EXPIRED_IN_MATCH`). Spot documents no other archival: filled orders stay.
SPOT_ARCHIVE_MS = 90 * DAY_MS
MSG_ARCHIVED = ("Order was canceled or expired with no executed qty over 90 days ago and has "
                "been archived.")

# errors.md, "Messages for -1010 ERROR_MSG_RECEIVED, -2010 NEW_ORDER_REJECTED, -2011
# CANCEL_REJECTED": the matching engine's answers the simulator gives.
MSG_WOULD_TAKE = "Order would immediately match and take."  # LIMIT_MAKER that would cross
MSG_INSUFFICIENT = "Account has insufficient balance for requested action."
MSG_DUPLICATE = "Duplicate order sent."  # "The `clOrdId` is already in use."
MSG_UNSUPPORTED = {  # order types exchangeInfo does not list for the simulated symbols
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}

# rest-api.md, Account trade list: "These are the supported combinations of all parameters:
# symbol; symbol + orderId; symbol + startTime; symbol + endTime; symbol + fromId; symbol +
# startTime + endTime; symbol + orderId + fromId" (CHANGELOG 2024-12-09: any other combination
# answers -1128 "Combination of optional parameters invalid.").
TRADE_COMBOS: tuple[frozenset[str], ...] = tuple(frozenset(c) for c in (
    (), ("orderId",), ("startTime",), ("endTime",), ("fromId",), ("startTime", "endTime"),
    ("orderId", "fromId"),
))

# rest-api.md, New order: the parameters POST /api/v3/order reads. Anything else is answered
# -1104 "Not all sent parameters were read; read '%s' parameter(s) but was sent '%s'." (what
# Binance spot answered ccxt for an unread `reduceOnly`, ccxt PR #21608; the count includes the
# signature). Spot has no reduce-only: `reduceOnly` is such an unread parameter.
ORDER_PARAMS = frozenset({
    "symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price",
    "newClientOrderId", "strategyId", "strategyType", "stopPrice", "trailingDelta", "icebergQty",
    "newOrderRespType", "selfTradePreventionMode", "pegPriceType", "pegOffsetValue",
    "pegOffsetType", "recvWindow", "timestamp", "signature",
})


# fix-api.md: "Client order ID fields must conform to the regex `^[a-zA-Z0-9-_]{1,36}$`" (the
# spot REST docs publish no pattern; the USD-M one also allows '.', ':' and '/'). A violation is
# answered as Binance answers a parameter outside its legal range: errors.md -1100
# ILLEGAL_CHARS "Illegal characters found in parameter '%s'; legal range is '%s'."
SPOT_CLIENT_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,36}$")
SPOT_CLIENT_ID_RANGE = "^[a-zA-Z0-9-_]{1,36}$"


def check_client_id(value: str | None, param: str = "newClientOrderId") -> None:
    """A spot client order id (New order, and Cancel order's own ``newClientOrderId``)."""
    if value is not None and not SPOT_CLIENT_ID_RE.match(value):
        raise err(-1100, f"Illegal characters found in parameter '{param}'; legal range is "
                         f"'{SPOT_CLIENT_ID_RANGE}'.")


def err(code: int, msg: str) -> BinanceError:
    return BinanceError(code, msg)


def filter_failure(name: str) -> BinanceError:
    """errors.md "Filter failures": -1013 "Filter failure: <FILTER>"."""
    return BinanceError(-1013, f"Filter failure: {name}")


def spot_spec(spec: SymbolSpec) -> SymbolSpec:
    """The symbol with Binance's spot filters, unless the test chose its own rules."""
    mine = (spec.tick, spec.step, spec.min_qty, spec.min_notional)
    rules = SPOT_RULES[spec.id] if spec.id in SPOT_RULES and mine == _DEFAULT_RULES.get(
        spec.id) else mine
    symbol = spec.symbol.split(":", 1)[0]  # a spot pair has no settle currency
    if rules == mine and symbol == spec.symbol:
        return spec
    return make_spec(symbol, {spec.id: rules})


def f8(value: float) -> str:
    return f"{value:.8f}"


def decimal(params: Mapping[str, str], key: str) -> Decimal:
    """A DECIMAL parameter; -1102 when absent or malformed, -1111 beyond 8 decimals
    (errors.md -1111 BAD_PRECISION "Parameter '%s' has too much precision.")."""
    raw = params.get(key)
    try:
        value = Decimal(raw or "")
    except InvalidOperation as e:
        raise err(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or "
                         "malformed.") from e
    if not value.is_finite():
        raise err(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or "
                         "malformed.")
    if -int(value.normalize().as_tuple().exponent) > ASSET_PRECISION:
        raise err(-1111, f"Parameter '{key}' has too much precision.")
    return value


def _on_step(value: Decimal, step: float) -> bool:
    return value % Decimal(str(step)) == 0


def check_price(spec: SymbolSpec, price: Decimal) -> None:
    """filters.md PRICE_FILTER: "price >= minPrice", "price <= maxPrice", "price % tickSize ==
    0"; errors.md: "Filter failure: PRICE_FILTER"."""
    if price < Decimal(str(spec.tick)) or price > Decimal(str(MAX_PRICE)) or not _on_step(
            price, spec.tick):
        raise filter_failure("PRICE_FILTER")


def check_qty(spec: SymbolSpec, qty: Decimal) -> None:
    """filters.md LOT_SIZE: "quantity >= minQty", "quantity <= maxQty", "quantity % stepSize ==
    0"; errors.md: "Filter failure: LOT_SIZE"."""
    if qty < Decimal(str(spec.min_qty)) or qty > Decimal(str(MAX_QTY)) or not _on_step(
            qty, spec.step):
        raise filter_failure("LOT_SIZE")


def check_notional(spec: SymbolSpec, price: float, qty: float) -> None:
    """filters.md NOTIONAL: "price * quantity >= minNotional" (MARKET orders, applyMinToMarket,
    avgPriceMins 0: "the last price is used as price"); "Filter failure: NOTIONAL"."""
    if price * qty < spec.min_notional - 1e-12:
        raise filter_failure("NOTIONAL")


def commission(trade: SimTrade) -> tuple[float, str]:
    """(commission, asset) of a fill: in the asset received (BUY: base, SELL: quote)."""
    spec = trade.order.spec
    rate = SPOT_MAKER_FEE if trade.maker else SPOT_TAKER_FEE
    if trade.order.side == "BUY":
        return round(trade.qty * rate, ASSET_PRECISION), spec.base
    return round(trade.qty * trade.price * rate, ASSET_PRECISION), spec.quote


class SpotLedger:
    """The account's spot balances (totals per asset), fed by the engine's fills."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        quotes = {spec.quote for spec in sim.specs.values()} or {"USDT"}
        self.totals: dict[str, float] = {asset: 0.0 for asset in sorted(quotes)}
        self.totals["USDT" if "USDT" in quotes else sorted(quotes)[0]] = sim.wallet_balance
        for spec in sim.specs.values():
            self.totals.setdefault(spec.base, 0.0)
        self._listener: Callable[[dict[str, Any]], None] = self._on_entry
        sim.listeners.append(self._listener)

    def _on_entry(self, entry: dict[str, Any]) -> None:
        if entry.get("event") != "fill":
            return
        trade = next((t for t in reversed(self.sim._trades)
                      if t.order.order_id == entry["order_id"]), None)
        if trade is None:
            return
        spec = trade.order.spec
        fee, _ = commission(trade)
        value = trade.qty * trade.price
        if trade.order.side == "BUY":
            self._add(spec.quote, -value)
            self._add(spec.base, trade.qty - fee)
        else:
            self._add(spec.base, -trade.qty)
            self._add(spec.quote, value - fee)
        # What the account holds after this fill (the engine's `position` is gross of the fee
        # a BUY pays in the base asset): the spot position as the venue shows it.
        entry["base_balance"] = self.totals[spec.base]

    def _add(self, asset: str, amount: float) -> None:
        self.totals[asset] = round(self.totals.get(asset, 0.0) + amount, ASSET_PRECISION)

    def locked(self) -> dict[str, float]:
        """What resting orders hold: BUY price x remaining quote, SELL remaining base."""
        held: dict[str, float] = {}
        for order in self.sim.open_orders():
            asset = order.spec.quote if order.side == "BUY" else order.spec.base
            amount = order.remaining * order.price if order.side == "BUY" else order.remaining
            held[asset] = held.get(asset, 0.0) + amount
        return held

    def free(self, asset: str) -> float:
        return self.totals.get(asset, 0.0) - self.locked().get(asset, 0.0)

    def balances(self, omit_zero: bool = False) -> list[dict[str, str]]:
        held = self.locked()
        rows = []
        for asset, total in self.totals.items():
            locked = min(held.get(asset, 0.0), total)
            if omit_zero and total == 0:
                continue
            rows.append({"asset": asset, "free": f8(max(total - locked, 0.0)),
                         "locked": f8(locked)})
        return rows


def rates(maker: float = SPOT_MAKER_FEE, taker: float = SPOT_TAKER_FEE) -> dict[str, str]:
    return {"maker": f8(maker), "taker": f8(taker), "buyer": f8(0.0), "seller": f8(0.0)}


def fill_shape(trade: SimTrade) -> dict[str, Any]:
    """One ``fills`` row of a FULL New order answer."""
    fee, asset = commission(trade)
    return {"price": f8(trade.price), "qty": f8(trade.qty), "commission": f8(fee),
            "commissionAsset": asset, "tradeId": trade.trade_id}


def spot_archived(order: SimOrder, now_ms: int) -> bool:
    """-2026: canceled or expired with nothing executed, more than 90 days ago."""
    return (order.status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH")
            and order.executed_qty <= 0 and order.update_time + SPOT_ARCHIVE_MS < now_ms)


def order_shape(row: Mapping[str, Any], *, now_ms: int | None = None) -> dict[str, Any]:
    """An engine (USD-M) order row in spot's shape (rest-api.md, Query order). A post-only
    order (the engine's GTX) is spot's LIMIT_MAKER; spot shows timeInForce GTC for it and for
    MARKET orders."""
    post_only = row.get("timeInForce") == "GTX"
    otype = "LIMIT_MAKER" if post_only else row["type"]
    tif = "GTC" if post_only or otype == "MARKET" else row["timeInForce"]
    created = row.get("time", now_ms)
    return {
        "symbol": row["symbol"], "orderId": row["orderId"], "orderListId": -1,
        "clientOrderId": row["clientOrderId"], "price": f8(float(row["price"])),
        "origQty": f8(float(row["origQty"])), "executedQty": f8(float(row["executedQty"])),
        "cummulativeQuoteQty": f8(float(row["cumQuote"])), "status": row["status"],
        "timeInForce": tif, "type": otype, "side": row["side"], "stopPrice": f8(0.0),
        "icebergQty": f8(0.0), "time": created, "updateTime": row["updateTime"],
        "isWorking": True, "workingTime": created, "origQuoteOrderQty": f8(0.0),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def trade_shape(row: Mapping[str, Any], sim: SimExchange) -> dict[str, Any]:
    """An engine userTrades row in spot's myTrades shape, commission in the asset received."""
    trade = next((t for t in sim._trades if t.trade_id == int(row["id"])), None)
    if trade is not None:
        fee, asset = commission(trade)
    else:  # not the engine's (a test-made row): the fee as the row says, in the quote asset
        fee, asset = float(row.get("commission", 0.0)), row.get("commissionAsset", "USDT")
    return {
        "symbol": row["symbol"], "id": row["id"], "orderId": row["orderId"], "orderListId": -1,
        "price": f8(float(row["price"])), "qty": f8(float(row["qty"])),
        "quoteQty": f8(float(row["quoteQty"])), "commission": f8(fee), "commissionAsset": asset,
        "time": row["time"], "isBuyer": row["side"] == "BUY", "isMaker": row["maker"],
        "isBestMatch": True,
    }


def symbol_info(spec: SymbolSpec) -> dict[str, Any]:
    """One exchangeInfo symbol (rest-api.md, Exchange information; filters.md formats)."""
    return {
        "symbol": spec.id, "status": "TRADING", "baseAsset": spec.base,
        "baseAssetPrecision": ASSET_PRECISION, "quoteAsset": spec.quote,
        "quotePrecision": ASSET_PRECISION, "quoteAssetPrecision": ASSET_PRECISION,
        "baseCommissionPrecision": ASSET_PRECISION, "quoteCommissionPrecision": ASSET_PRECISION,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False,
        "cancelReplaceAllowed": False, "amendAllowed": False, "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": f8(spec.tick), "maxPrice": f8(MAX_PRICE),
             "tickSize": f8(spec.tick)},
            {"filterType": "LOT_SIZE", "minQty": f8(spec.min_qty), "maxQty": f8(MAX_QTY),
             "stepSize": f8(spec.step)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": f8(0.0), "maxQty": f8(MAX_QTY),
             "stepSize": f8(0.0)},
            {"filterType": "NOTIONAL", "minNotional": f8(spec.min_notional),
             "applyMinToMarket": True, "maxNotional": f8(9_000_000.0),
             "applyMaxToMarket": False, "avgPriceMins": 0},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER",
                                            "EXPIRE_BOTH"],
    }


def check_trade_query(params: Mapping[str, str]) -> None:
    """myTrades' supported parameter combinations and its 24-hour window."""
    given = frozenset(k for k in ("orderId", "startTime", "endTime", "fromId") if k in params)
    if given not in TRADE_COMBOS:
        raise err(-1128, "Combination of optional parameters invalid.")
    check_window(params)


def check_window(params: Mapping[str, str]) -> None:
    start, end = params.get("startTime"), params.get("endTime")
    for key, value in (("startTime", start), ("endTime", end)):
        if value is not None and not re.match(r"^[0-9]{1,20}$", value):
            raise err(-1100, f"Illegal characters found in parameter '{key}'; legal range is "
                             "'^[0-9]{1,20}$'.")
    if start is not None and end is not None and int(end) - int(start) > SPOT_WINDOW_MS:
        raise err(-1127, "More than 24 hours between startTime and endTime.")


def page(rows: list[Any], params: Mapping[str, str], time_of: Callable[[Any], int],
         limit: int) -> list[Any]:
    """rest-api.md General API Information: "Without startTime or endTime, returns the most
    recent items up to the limit. With startTime, returns oldest items from startTime up to the
    limit. With endTime, returns most recent items up to endTime and the limit. With both,
    behaves like startTime but does not exceed endTime." (rows: ascending)."""
    start, end = params.get("startTime"), params.get("endTime")
    if start is not None:
        rows = [r for r in rows if time_of(r) >= int(start)]
    if end is not None:
        rows = [r for r in rows if time_of(r) <= int(end)]
    if start is not None or "fromId" in params or (
            "orderId" in params and end is None):
        return rows[:limit]
    return rows[-limit:]


__all__ = [
    "MSG_ARCHIVED", "MSG_DUPLICATE", "MSG_INSUFFICIENT", "MSG_WOULD_TAKE", "SPOT_MAKER_FEE",
    "SPOT_RULES", "SPOT_TAKER_FEE", "SPOT_WINDOW_MS", "SpotLedger", "check_notional",
    "check_price", "check_qty", "check_trade_query", "check_window", "commission", "decimal",
    "fill_shape", "order_shape", "page", "rates", "spot_archived", "spot_spec", "symbol_info",
    "trade_shape",
]
