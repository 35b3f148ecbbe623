"""A deterministic simulated Binance USD-M futures exchange: matching engine + fapi REST handler.

Real ccxt ``binance`` objects talk to it unchanged through ``ghostsim.transport``.
Everything is driven by a sim clock that starts at the real "now" and only moves forward
(``advance``); nothing depends on wall time while matching.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from ghostsim.book import (
    MAKER_FEE,
    OPEN_STATUSES,
    TAKER_FEE,
    Position,
    SimOrder,
    SimTrade,
)
from ghostsim.faults import FailRule, Faults, LostResponse, NotFoundRule
from ghostsim.market import (
    DEFAULT_START_PRICES,
    INTERVAL_MS,
    PricePath,
    SymbolSpec,
    candle_opens,
    fmt,
    make_spec,
    market_id,
)


logger = logging.getLogger(__name__)

Json = Any
Answer = tuple[int, Json]
PostOnlyMode = Literal["reject", "expire"]

PERPETUAL_DELIVERY = 4133404800000
FUNDING_INTERVAL_MS = 8 * 3_600_000
FUNDING_RATE = "0.00010000"
MSG_POST_ONLY = (
    "Due to the order could not be executed as maker, the Post Only order will be rejected. "
    "The order will not be recorded in the order book."
)


class BinanceError(Exception):
    """An error answer: HTTP status plus Binance's {"code", "msg"} body."""

    def __init__(self, code: int, msg: str, http: int = 400) -> None:
        super().__init__(f"{http} {code} {msg}")
        self.code = code
        self.msg = msg
        self.http = http

    def answer(self) -> Answer:
        return self.http, {"code": self.code, "msg": self.msg}


def _order_not_found() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def _unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


@dataclass(frozen=True)
class RequestRecord:
    """One request the exchange received (signature removed)."""

    method: str
    path: str
    params: dict[str, str]
    time: int
    status: int = 0


Handler = Callable[[dict[str, str]], Json]


class SimExchange:
    """Simulated Binance USD-M futures exchange (one-way mode, USDT margined)."""

    SIM_API_KEY = "sim-api-key-0123456789"
    SIM_API_SECRET = "sim-api-secret-0123456789"

    def __init__(
        self,
        symbols: Iterable[str] = ("BTC/USDT:USDT", "ETH/USDT:USDT"),
        start_price: Mapping[str, float] | None = None,
        seed: int = 0,
        balance: float = 100000.0,
        *,
        rules: Mapping[str, tuple[float, float, float, float]] | None = None,
        post_only_mode: PostOnlyMode = "reject",
        start_time_ms: int | None = None,
        book_depth_qty: float = 5.0,
        check_signature: bool = True,
    ) -> None:
        self.now_ms: int = int(time.time() * 1000) if start_time_ms is None else start_time_ms
        self.seed = seed
        self.post_only_mode: PostOnlyMode = post_only_mode
        self.book_depth_qty = book_depth_qty
        self.check_signature = check_signature
        self.wallet_balance = float(balance)
        self.specs: dict[str, SymbolSpec] = {}
        self.paths: dict[str, PricePath] = {}
        self.positions: dict[str, Position] = {}
        prices = {**DEFAULT_START_PRICES, **{market_id(k) if "/" in k else k: v
                                             for k, v in (start_price or {}).items()}}
        for symbol in symbols:
            spec = make_spec(symbol, dict(rules or {}))
            self.specs[spec.id] = spec
            first = spec.round_price(prices.get(spec.id, 100.0))
            self.paths[spec.id] = PricePath(spec.id, self.now_ms, first, seed, spec.tick)
            self.positions[spec.id] = Position(update_time=self.now_ms)
        self._orders: dict[int, SimOrder] = {}
        self._trades: list[SimTrade] = []
        self._next_order_id = 1_000_000 + seed
        self._next_trade_id = 5_000_000 + seed
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.unknown_requests: list[RequestRecord] = []
        self.ledger: list[dict[str, Any]] = []
        # Called with every new ledger entry (under the exchange lock); used by fault schedules.
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        # Orders the price path never fills (they rest until cancelled, expired or filled by hand).
        self.held: set[int] = set()
        self._lock = threading.RLock()
        self._routes: dict[tuple[str, str], tuple[Handler, bool]] = self._build_routes()

    # ------------------------------------------------------------------ public helpers

    def spec(self, symbol: str) -> SymbolSpec:
        """Spec of a symbol given as ccxt symbol ('BTC/USDT:USDT') or id ('BTCUSDT')."""
        return self.specs[market_id(symbol) if "/" in symbol else symbol]

    @property
    def orders(self) -> list[SimOrder]:
        return list(self._orders.values())

    @property
    def trades(self) -> list[SimTrade]:
        return list(self._trades)

    def order(self, order_id: int | str) -> SimOrder:
        return self._orders[int(order_id)]

    def open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        sid = self.spec(symbol).id if symbol else None
        return [o for o in self._orders.values() if o.is_open and (sid is None or o.symbol == sid)]

    def position(self, symbol: str) -> float:
        return self.positions[self.spec(symbol).id].qty

    def price(self, symbol: str) -> float:
        return self.paths[self.spec(symbol).id].current

    def best_bid_ask(self, symbol: str) -> tuple[float, float]:
        spec = self.spec(symbol)
        price = self.paths[spec.id].current
        return spec.round_price(price - spec.tick), spec.round_price(price + spec.tick)

    def max_abs_position(self, symbol: str) -> float:
        sid = self.spec(symbol).id
        return max(
            (abs(e["position"]) for e in self.ledger if e["symbol"] == sid and "position" in e),
            default=0.0,
        )

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        )

    def reset_requests(self) -> None:
        self.requests.clear()

    # ------------------------------------------------------------------ deterministic controls

    def advance(self, seconds: float) -> None:
        """Move the sim clock forward (never backward)."""
        with self._lock:
            self.now_ms += max(0, int(seconds * 1000))

    def set_time(self, time_ms: int) -> None:
        with self._lock:
            self.now_ms = max(self.now_ms, int(time_ms))

    def set_price(self, symbol: str, price: float) -> None:
        """Move the book; resting limit orders whose price is reached fill fully at their price."""
        with self._lock:
            spec = self.spec(symbol)
            self.paths[spec.id].set(self.now_ms, spec.round_price(price))
            self._log("price", spec.id, price=spec.round_price(price))
            for order in sorted(self.open_orders(spec.id), key=lambda o: o.order_id):
                if order.order_id in self.held:
                    continue
                if order.type == "LIMIT" and self._reached(order, price):
                    self._fill(order, order.remaining, order.price, maker=True)

    def fill_order(self, order_id: int | str, qty: float | None = None) -> SimOrder:
        """Fill an open order fully or partially at its own price (as maker)."""
        with self._lock:
            order = self.order(order_id)
            if not order.is_open:
                raise ValueError(f"order {order_id} is {order.status}")
            amount = order.remaining if qty is None else min(qty, order.remaining)
            self._fill(order, amount, order.price, maker=True)
            return order

    def hold_order(self, order_id: int | str) -> None:
        """The price path never fills this order (it rests until closed some other way)."""
        self.held.add(int(order_id))

    def place_order(
        self,
        symbol: str,
        side: str,
        qty: float,
        price: float,
        *,
        reduce_only: bool = False,
        client_order_id: str | None = None,
    ) -> SimOrder:
        """Place a resting GTC limit order directly (one the bot does not know about)."""
        with self._lock:
            spec = self.spec(symbol)
            params = {"symbol": spec.id, "side": side.upper(), "type": "LIMIT",
                      "timeInForce": "GTC", "quantity": spec.fmt_qty(qty),
                      "price": spec.fmt_price(spec.round_price(price)),
                      "reduceOnly": str(reduce_only).lower()}
            if client_order_id:
                params["newClientOrderId"] = client_order_id
            answer = self._create_order(params)
            return self.order(answer["orderId"])

    def expire_order(self, order_id: int | str) -> SimOrder:
        return self._close_order(order_id, "EXPIRED")

    def cancel_on_exchange(self, order_id: int | str) -> SimOrder:
        return self._close_order(order_id, "CANCELED")

    def age_order(self, order_id: int | str, seconds: float) -> SimOrder:
        """Make an order look older (shift its creation time back)."""
        with self._lock:
            order = self.order(order_id)
            order.time -= int(seconds * 1000)
            return order

    # ------------------------------------------------------------------ fault injection

    def fault_stale_status(self, order_id: int | str, status: str = "CANCELED") -> None:
        """GET of that order answers ``status`` with executedQty 0 until cleared."""
        self.faults.stale_status[int(order_id)] = status

    def fault_not_found(
        self, order_id: int | str, count: int | None = 1, *, on_cancel: bool = False
    ) -> None:
        """Next ``count`` GETs (None = forever) answer -2013.

        With ``on_cancel`` DELETEs answer -2011 too (and consume the count).
        """
        self.faults.not_found[int(order_id)] = NotFoundRule(count, on_cancel)

    def fault_fill_during_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order fills it first, then answers -2011 'Unknown order sent.'."""
        self.faults.fill_during_cancel.add(int(order_id))

    def fault_expire_on_cancel(self, order_id: int | str) -> None:
        """A DELETE of that order finds it already EXPIRED and answers -2011."""
        self.faults.expire_on_cancel.add(int(order_id))

    def fault_fail(
        self,
        method: str | None,
        path: str | None,
        count: int = 1,
        code: int = -1001,
        http: int = 503,
        msg: str = "Internal error; unable to process your request. Please try again.",
    ) -> None:
        """The next ``count`` matching requests fail with that error (None matches any)."""
        self.faults.fail_rules.append(FailRule(method, path, count, code, http, msg))

    def fault_lost_create(self, count: int = 1) -> None:
        """The next ``count`` POST orders are placed but their answers are lost (timeout)."""
        self.faults.lost_create += count

    def fault_delay_visibility(self, seconds: float) -> None:
        """New orders appear in /openOrders only ``seconds`` sim seconds after placement."""
        self.faults.visibility_delay_ms = int(seconds * 1000)

    def clear_faults(self, order_id: int | str | None = None) -> None:
        if order_id is None:
            self.faults = Faults()
            return
        oid = int(order_id)
        self.faults.stale_status.pop(oid, None)
        self.faults.not_found.pop(oid, None)
        self.faults.fill_during_cancel.discard(oid)
        self.faults.expire_on_cancel.discard(oid)

    # ------------------------------------------------------------------ REST entry point

    def handle(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        signed_payload: str | None = None,
    ) -> Answer:
        """Answer one REST request the way Binance fapi does: (HTTP status, JSON body)."""
        method = method.upper()
        with self._lock:
            clean = {k: v for k, v in params.items() if k != "signature"}
            try:
                status, body = self._dispatch(
                    method, path, dict(params), headers or {}, signed_payload
                )
            except LostResponse:
                self.requests.append(RequestRecord(method, path, clean, self.now_ms, 408))
                raise
            self.requests.append(RequestRecord(method, path, clean, self.now_ms, status))
            return status, body

    def _dispatch(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        signed_payload: str | None,
    ) -> Answer:
        route = self._routes.get((method, path))
        if route is None:
            record = RequestRecord(method, path, dict(params), self.now_ms, 404)
            self.unknown_requests.append(record)
            logger.error("SimExchange: UNKNOWN ENDPOINT %s %s %s", method, path, params)
            return 404, {"code": -5000, "msg": f"SimExchange does not implement {method} {path}"}
        handler, signed = route
        try:
            if signed:
                self._authenticate(params, headers, signed_payload)
            rule = self.faults.take_fail(method, path)
            if rule is not None:
                return rule.http, {"code": rule.code, "msg": rule.msg}
            return 200, handler(params)
        except BinanceError as err:
            return err.answer()

    def _authenticate(
        self, params: dict[str, str], headers: Mapping[str, str], signed_payload: str | None
    ) -> None:
        if not self.check_signature:
            return
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("x-mbx-apikey") != self.SIM_API_KEY:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        signature = params.get("signature")
        if signature is None:
            raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent.")
        if signed_payload is not None:
            payload = signed_payload.rsplit("&signature=", 1)[0]
        else:
            payload = urlencode([(k, v) for k, v in params.items() if k != "signature"])
        expected = hmac.new(
            self.SIM_API_SECRET.encode(), payload.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise BinanceError(-1022, "Signature for this request is not valid.")

    def _build_routes(self) -> dict[tuple[str, str], tuple[Handler, bool]]:
        public: dict[str, Handler] = {
            "/fapi/v1/ping": lambda p: {},
            "/fapi/v1/time": lambda p: {"serverTime": self.now_ms},
            "/fapi/v1/exchangeInfo": self._exchange_info,
            "/fapi/v1/klines": self._klines,
            "/fapi/v1/markPriceKlines": self._price_klines,
            "/fapi/v1/indexPriceKlines": self._price_klines,
            "/fapi/v1/premiumIndexKlines": self._premium_klines,
            "/fapi/v1/depth": self._depth,
            "/fapi/v1/ticker/bookTicker": self._book_ticker,
            "/fapi/v1/ticker/24hr": self._ticker_24hr,
            "/fapi/v1/ticker/price": self._ticker_price,
            "/fapi/v2/ticker/price": self._ticker_price,
            "/fapi/v1/premiumIndex": self._premium_index,
            "/fapi/v1/fundingRate": self._funding_rate,
            "/fapi/v1/fundingInfo": lambda p: [],
        }
        signed: dict[tuple[str, str], Handler] = {
            ("GET", "/fapi/v1/leverageBracket"): self._leverage_bracket,
            ("GET", "/fapi/v1/positionSide/dual"): lambda p: {"dualSidePosition": False},
            ("GET", "/fapi/v1/multiAssetsMargin"): lambda p: {"multiAssetsMargin": False},
            ("GET", "/fapi/v2/account"): self._account,
            ("GET", "/fapi/v3/account"): self._account,
            ("GET", "/fapi/v2/balance"): self._balance,
            ("GET", "/fapi/v3/balance"): self._balance,
            ("GET", "/fapi/v2/positionRisk"): lambda p: self._position_risk(p, v2=True),
            ("GET", "/fapi/v3/positionRisk"): lambda p: self._position_risk(p, v2=False),
            ("POST", "/fapi/v1/marginType"): self._margin_type,
            ("POST", "/fapi/v1/leverage"): self._leverage,
            ("POST", "/fapi/v1/order"): self._create_order,
            ("GET", "/fapi/v1/order"): self._get_order,
            ("DELETE", "/fapi/v1/order"): self._cancel_order,
            ("GET", "/fapi/v1/openOrders"): self._open_orders,
            ("GET", "/fapi/v1/openOrder"): self._open_order,
            ("GET", "/fapi/v1/allOrders"): self._all_orders,
            ("DELETE", "/fapi/v1/allOpenOrders"): self._cancel_all,
            ("GET", "/fapi/v1/userTrades"): self._user_trades,
            ("GET", "/fapi/v1/income"): lambda p: [],
            ("GET", "/fapi/v1/commissionRate"): self._commission_rate,
        }
        routes: dict[tuple[str, str], tuple[Handler, bool]] = {
            ("GET", path): (handler, False) for path, handler in public.items()
        }
        routes.update({key: (handler, True) for key, handler in signed.items()})
        return routes

    # ------------------------------------------------------------------ helpers

    def _require_symbol(self, params: Mapping[str, str]) -> SymbolSpec:
        sid = params.get("symbol")
        if sid is None:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent.")
        if sid not in self.specs:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.specs[sid]

    def _symbols_of(self, params: Mapping[str, str]) -> list[SymbolSpec]:
        if "symbol" in params:
            return [self._require_symbol(params)]
        return list(self.specs.values())

    def _log(self, event: str, symbol: str, **data: Any) -> None:
        entry: dict[str, Any] = {"time": self.now_ms, "event": event, "symbol": symbol, **data}
        self.ledger.append(entry)
        for listener in list(self.listeners):
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - a listener never breaks the exchange
                logger.exception("SimExchange: ledger listener failed")

    @staticmethod
    def _reached(order: SimOrder, price: float) -> bool:
        return price <= order.price if order.side == "BUY" else price >= order.price

    def _would_cross(self, spec: SymbolSpec, side: str, price: float) -> bool:
        bid, ask = self.best_bid_ask(spec.id)
        return price >= ask if side == "BUY" else price <= bid

    def _taker_price(self, spec: SymbolSpec, side: str) -> float:
        bid, ask = self.best_bid_ask(spec.id)
        return ask if side == "BUY" else bid

    # ------------------------------------------------------------------ matching

    def _fill(self, order: SimOrder, qty: float, price: float, *, maker: bool) -> None:
        spec = order.spec
        qty = round(qty, spec.qty_decimals)
        if qty <= 0:
            return
        position = self.positions[spec.id]
        realized = position.apply_fill(order.side, qty, price, spec.qty_decimals)
        commission = qty * price * (MAKER_FEE if maker else TAKER_FEE)
        self.wallet_balance += realized - commission
        order.executed_qty = round(order.executed_qty + qty, spec.qty_decimals)
        order.cum_quote += qty * price
        order.status = "FILLED" if order.remaining <= 0 else "PARTIALLY_FILLED"
        order.update_time = self.now_ms
        position.update_time = self.now_ms
        position.history.append((self.now_ms, position.qty))
        self._next_trade_id += 1
        trade = SimTrade(
            self._next_trade_id, order, price, qty, commission, realized, self.now_ms, maker
        )
        self._trades.append(trade)
        self._log(
            "fill",
            spec.id,
            order_id=order.order_id,
            side=order.side,
            qty=qty,
            price=price,
            maker=maker,
            realized_pnl=realized,
            status=order.status,
            position=position.qty,
        )

    def _close_order(self, order_id: int | str, status: str) -> SimOrder:
        with self._lock:
            order = self.order(order_id)
            if not order.is_open:
                raise ValueError(f"order {order_id} is {order.status}")
            self._set_closed(order, status)
            return order

    def _set_closed(self, order: SimOrder, status: str) -> None:
        order.status = status
        order.update_time = self.now_ms
        self._log(status.lower(), order.symbol, order_id=order.order_id, side=order.side,
                  executed=order.executed_qty)

    # ------------------------------------------------------------------ market data

    def _exchange_info(self, params: dict[str, str]) -> Json:
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms,
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 2400},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [self._symbol_info(spec) for spec in self.specs.values()],
        }

    def _symbol_info(self, spec: SymbolSpec) -> Json:
        return {
            "symbol": spec.id,
            "pair": spec.id,
            "contractType": "PERPETUAL",
            "deliveryDate": PERPETUAL_DELIVERY,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": spec.base,
            "quoteAsset": spec.quote,
            "marginAsset": spec.quote,
            "pricePrecision": spec.price_decimals,
            "quantityPrecision": spec.qty_decimals,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": [],
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": spec.fmt_price(spec.tick),
                 "maxPrice": "10000000", "tickSize": spec.fmt_price(spec.tick)},
                {"filterType": "LOT_SIZE", "minQty": spec.fmt_qty(spec.min_qty),
                 "maxQty": "100000", "stepSize": spec.fmt_qty(spec.step)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": spec.fmt_qty(spec.min_qty),
                 "maxQty": "10000", "stepSize": spec.fmt_qty(spec.step)},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": fmt(spec.min_notional, 1)},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500",
                 "multiplierDown": "0.9500", "multiplierDecimal": "4"},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                           "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            "permissionSets": ["GRID", "COPY"],
        }

    def _klines(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        interval = params.get("interval", "")
        if interval not in INTERVAL_MS:
            raise BinanceError(-1120, "Invalid interval.")
        tf = INTERVAL_MS[interval]
        path = self.paths[spec.id]
        rows: list[list[Any]] = []
        for open_ms in candle_opens(interval, self.now_ms, params):
            o, h, low, c = path.candle(interval, open_ms, self.now_ms)
            vol = path.volume(interval, open_ms)
            rows.append([
                open_ms, spec.fmt_price(o), spec.fmt_price(h), spec.fmt_price(low),
                spec.fmt_price(c), fmt(vol, 3), open_ms + tf - 1, fmt(vol * c, 4), 100,
                fmt(vol / 2, 3), fmt(vol * c / 2, 4), "0",
            ])
        return rows

    def _price_klines(self, params: dict[str, str]) -> Json:
        """Mark / index price candles: Binance documents them as klines whose trade fields
        (volume, quote volume, trade count, taker volumes) are "Ignore" and answers "0" / 0."""
        return [[*r[:5], "0", r[6], "0", 0, "0", "0", "0"] for r in self._klines(params)]

    def _premium_klines(self, params: dict[str, str]) -> Json:
        rows = self._klines(params)
        return [[r[0], "0.0001", "0.0001", "0.0001", "0.0001", "0", r[6], "0", 0, "0", "0", "0"]
                for r in rows]

    def _depth(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        limit = int(params.get("limit", "500"))
        bid, ask = self.best_bid_ask(spec.id)
        levels = range(min(limit, 1000))
        qty = spec.fmt_qty(self.book_depth_qty)
        return {
            "lastUpdateId": self.now_ms,
            "E": self.now_ms,
            "T": self.now_ms,
            "bids": [[spec.fmt_price(spec.round_price(bid - i * spec.tick)), qty] for i in levels],
            "asks": [[spec.fmt_price(spec.round_price(ask + i * spec.tick)), qty] for i in levels],
        }

    def _book_ticker_of(self, spec: SymbolSpec) -> Json:
        bid, ask = self.best_bid_ask(spec.id)
        qty = spec.fmt_qty(self.book_depth_qty)
        return {"symbol": spec.id, "bidPrice": spec.fmt_price(bid), "bidQty": qty,
                "askPrice": spec.fmt_price(ask), "askQty": qty, "time": self.now_ms}

    def _book_ticker(self, params: dict[str, str]) -> Json:
        items = [self._book_ticker_of(s) for s in self._symbols_of(params)]
        return items[0] if "symbol" in params else items

    def _ticker_24hr_of(self, spec: SymbolSpec) -> Json:
        path = self.paths[spec.id]
        last = path.current
        open_ = path.price_at(self.now_ms - 86_400_000)
        return {
            "symbol": spec.id, "priceChange": spec.fmt_price(last - open_),
            "priceChangePercent": fmt((last - open_) / open_ * 100, 3),
            "weightedAvgPrice": spec.fmt_price(last), "lastPrice": spec.fmt_price(last),
            "lastQty": "0.010", "openPrice": spec.fmt_price(open_),
            "highPrice": spec.fmt_price(max(last, open_)),
            "lowPrice": spec.fmt_price(min(last, open_)), "volume": "1000.000",
            "quoteVolume": fmt(1000 * last, 2), "openTime": self.now_ms - 86_400_000,
            "closeTime": self.now_ms, "firstId": 1, "lastId": 1000, "count": 1000,
        }

    def _ticker_24hr(self, params: dict[str, str]) -> Json:
        items = [self._ticker_24hr_of(s) for s in self._symbols_of(params)]
        return items[0] if "symbol" in params else items

    def _ticker_price(self, params: dict[str, str]) -> Json:
        items = [{"symbol": s.id, "price": s.fmt_price(self.paths[s.id].current),
                  "time": self.now_ms} for s in self._symbols_of(params)]
        return items[0] if "symbol" in params else items

    def _next_funding_ms(self) -> int:
        return (self.now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS

    def _premium_index_of(self, spec: SymbolSpec) -> Json:
        mark = spec.fmt_price(self.paths[spec.id].current)
        return {"symbol": spec.id, "markPrice": mark, "indexPrice": mark,
                "estimatedSettlePrice": mark, "lastFundingRate": FUNDING_RATE,
                "interestRate": "0.00010000", "nextFundingTime": self._next_funding_ms(),
                "time": self.now_ms}

    def _premium_index(self, params: dict[str, str]) -> Json:
        items = [self._premium_index_of(s) for s in self._symbols_of(params)]
        return items[0] if "symbol" in params else items

    def _funding_rate(self, params: dict[str, str]) -> Json:
        specs = self._symbols_of(params)
        limit = min(int(params.get("limit", "100")), 1000)
        end = min(int(params.get("endTime", self.now_ms)), self.now_ms)
        start = int(params.get("startTime", end - limit * FUNDING_INTERVAL_MS))
        first = -(-start // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
        rows = [
            {"symbol": s.id, "fundingTime": t, "fundingRate": FUNDING_RATE,
             "markPrice": s.fmt_price(self.paths[s.id].price_at(t))}
            for s in specs
            for t in range(first, end + 1, FUNDING_INTERVAL_MS)
        ]
        return rows[:limit]

    # ------------------------------------------------------------------ account

    def _leverage_bracket(self, params: dict[str, str]) -> Json:
        tiers = _bundled_leverage_tiers()
        result = []
        for spec in self._symbols_of(params):
            brackets = [t["info"] for t in tiers.get(spec.symbol, [])] or [_DEFAULT_BRACKET]
            result.append({"symbol": spec.id, "notionalCoef": 1.0, "brackets": brackets})
        return result[0] if "symbol" in params else result

    def _order_margin(self, spec: SymbolSpec) -> float:
        leverage = max(self.positions[spec.id].leverage, 1)
        return sum(o.remaining * o.price / leverage
                   for o in self.open_orders(spec.id) if not o.reduce_only)

    def _totals(self) -> dict[str, float]:
        position_margin = sum(p.initial_margin() for p in self.positions.values())
        order_margin = sum(self._order_margin(s) for s in self.specs.values())
        upnl = sum(p.unrealized(self.paths[sid].current) for sid, p in self.positions.items())
        available = max(0.0, self.wallet_balance - position_margin - order_margin + min(upnl, 0))
        return {"wallet": self.wallet_balance, "position_margin": position_margin,
                "order_margin": order_margin, "upnl": upnl, "available": available}

    def _account(self, params: dict[str, str]) -> Json:
        t = self._totals()
        f8 = lambda x: fmt(x, 8)  # noqa: E731
        asset = {
            "asset": "USDT", "walletBalance": f8(t["wallet"]), "unrealizedProfit": f8(t["upnl"]),
            "marginBalance": f8(t["wallet"] + t["upnl"]), "maintMargin": f8(0.0),
            "initialMargin": f8(t["position_margin"] + t["order_margin"]),
            "positionInitialMargin": f8(t["position_margin"]),
            "openOrderInitialMargin": f8(t["order_margin"]),
            "crossWalletBalance": f8(t["wallet"]), "crossUnPnl": f8(0.0),
            "availableBalance": f8(t["available"]), "maxWithdrawAmount": f8(t["available"]),
            "marginAvailable": True, "updateTime": self.now_ms,
        }
        return {
            "feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
            "multiAssetsMargin": False, "tradeGroupId": -1, "updateTime": 0,
            "totalInitialMargin": asset["initialMargin"], "totalMaintMargin": f8(0.0),
            "totalWalletBalance": asset["walletBalance"],
            "totalUnrealizedProfit": asset["unrealizedProfit"],
            "totalMarginBalance": asset["marginBalance"],
            "totalPositionInitialMargin": asset["positionInitialMargin"],
            "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
            "totalCrossWalletBalance": asset["crossWalletBalance"],
            "totalCrossUnPnl": f8(0.0), "availableBalance": asset["availableBalance"],
            "maxWithdrawAmount": asset["maxWithdrawAmount"],
            "assets": [asset],
            "positions": [self._account_position(s) for s in self.specs.values()
                          if self.positions[s.id].qty != 0],
        }

    def _account_position(self, spec: SymbolSpec) -> Json:
        pos = self.positions[spec.id]
        mark = self.paths[spec.id].current
        return {
            "symbol": spec.id, "positionSide": "BOTH", "positionAmt": spec.fmt_qty(pos.qty),
            "unrealizedProfit": fmt(pos.unrealized(mark), 8),
            "isolatedMargin": fmt(self._isolated_wallet(spec) + pos.unrealized(mark), 8),
            "notional": fmt(pos.qty * mark, 8),
            "isolatedWallet": fmt(self._isolated_wallet(spec), 8),
            "initialMargin": fmt(pos.initial_margin(), 8), "maintMargin": fmt(0.0, 8),
            "updateTime": pos.update_time,
        }

    def _isolated_wallet(self, spec: SymbolSpec) -> float:
        pos = self.positions[spec.id]
        return pos.initial_margin() if pos.margin_type == "ISOLATED" else 0.0

    def _balance(self, params: dict[str, str]) -> Json:
        t = self._totals()
        return [{
            "accountAlias": "SgsR", "asset": "USDT", "balance": fmt(t["wallet"], 8),
            "crossWalletBalance": fmt(t["wallet"], 8), "crossUnPnl": fmt(t["upnl"], 8),
            "availableBalance": fmt(t["available"], 8),
            "maxWithdrawAmount": fmt(t["available"], 8), "marginAvailable": True,
            "updateTime": self.now_ms,
        }]

    def _position_risk(self, params: dict[str, str], *, v2: bool) -> Json:
        specs = self._symbols_of(params)
        if not v2:
            specs = [s for s in specs if self.positions[s.id].qty != 0 or self.open_orders(s.id)]
        return [self._position_risk_of(s, v2=v2) for s in specs]

    def _position_risk_of(self, spec: SymbolSpec, *, v2: bool) -> Json:
        pos = self.positions[spec.id]
        mark = self.paths[spec.id].current
        upnl = pos.unrealized(mark)
        iso = self._isolated_wallet(spec)
        data: dict[str, Any] = {
            "symbol": spec.id, "positionSide": "BOTH", "positionAmt": spec.fmt_qty(pos.qty),
            "entryPrice": fmt(pos.entry_price, 8), "breakEvenPrice": fmt(pos.entry_price, 8),
            "markPrice": fmt(mark, 8), "unRealizedProfit": fmt(upnl, 8),
            "liquidationPrice": "0", "isolatedMargin": fmt(iso + upnl if iso else 0.0, 8),
            "notional": fmt(pos.qty * mark, 8), "marginAsset": spec.quote,
            "isolatedWallet": fmt(iso, 8), "initialMargin": fmt(pos.initial_margin(), 8),
            "maintMargin": "0", "positionInitialMargin": fmt(pos.initial_margin(), 8),
            "openOrderInitialMargin": fmt(self._order_margin(spec), 8), "adl": 0,
            "bidNotional": "0", "askNotional": "0", "updateTime": pos.update_time,
        }
        if v2:
            data.update({"leverage": str(pos.leverage), "maxNotionalValue": "1000000",
                         "marginType": "isolated" if pos.margin_type == "ISOLATED" else "cross",
                         "isAutoAddMargin": "false", "adlQuantile": 0})
        return data

    def _margin_type(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        wanted = params.get("marginType", "").upper()
        if wanted not in ("ISOLATED", "CROSSED"):
            raise BinanceError(-1102, "Mandatory parameter 'marginType' was not sent.")
        position = self.positions[spec.id]
        if position.margin_type == wanted:
            # Binance USD-M error code -4046 NO_NEED_TO_CHANGE_MARGIN_TYPE, HTTP 400: the answer
            # to every repeated POST /fapi/v1/marginType. Kept exactly so: ccxt >= 4.5.65 raises
            # it as MarginModeAlreadySet by default (option throwMarginModeAlreadySet), and
            # Freqtrade < 2026.7 turns that into TemporaryError for an initial entry order, as
            # it does in production (tests/test_sim_versions.py).
            raise BinanceError(-4046, "No need to change margin type.")
        if position.qty != 0 or self.open_orders(spec.id):
            raise BinanceError(-4048, "Margin type cannot be changed if there exists position.")
        position.margin_type = wanted
        return {"code": 200, "msg": "success"}

    def _leverage(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        leverage = int(params.get("leverage", "0"))
        if not 1 <= leverage <= 125:
            raise BinanceError(-4028, f"Leverage {leverage} is not valid")
        self.positions[spec.id].leverage = leverage
        return {"leverage": leverage, "maxNotionalValue": "1000000", "symbol": spec.id}

    def _commission_rate(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        return {"symbol": spec.id, "makerCommissionRate": str(MAKER_FEE),
                "takerCommissionRate": str(TAKER_FEE)}

    # ------------------------------------------------------------------ orders (REST)

    def _create_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._new_order(spec, params)
        self._orders[order.order_id] = order
        self._log("new", spec.id, order_id=order.order_id, client_order_id=order.client_order_id,
                  side=order.side, type=order.type, tif=order.time_in_force, price=order.price,
                  qty=order.orig_qty, reduce_only=order.reduce_only)
        self._match_new(order)
        answer = order.to_binance(with_time=False)
        if self.faults.take_lost_create():
            self._log("lost_response", spec.id, order_id=order.order_id)
            raise LostResponse(f"POST /fapi/v1/order {order.order_id}")
        return answer

    def _new_order(self, spec: SymbolSpec, params: dict[str, str]) -> SimOrder:
        side = params.get("side", "").upper()
        otype = params.get("type", "").upper()
        if side not in ("BUY", "SELL") or otype not in ("LIMIT", "MARKET"):
            raise BinanceError(-1116, "Invalid orderType.")
        qty = self._parse_qty(spec, params)
        price = self._parse_price(spec, params, otype)
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        tif = params.get("timeInForce", "GTC" if otype == "LIMIT" else "GTC").upper()
        client_id = params.get("newClientOrderId") or f"sim{self._next_order_id + 1}"
        if any(o.client_order_id == client_id for o in self.open_orders(spec.id)):
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        self._check_reduce_only(spec, side, qty, reduce_only)
        ref_price = price if otype == "LIMIT" else self._taker_price(spec, side)
        if not reduce_only and qty * ref_price < spec.min_notional:
            raise BinanceError(-4164, f"Order's notional must be no smaller than "
                                      f"{spec.min_notional} (unless you choose reduce only).")
        if not reduce_only:
            leverage = max(self.positions[spec.id].leverage, 1)
            if qty * ref_price / leverage > self._totals()["available"]:
                raise BinanceError(-2019, "Margin is insufficient.")
        self._next_order_id += 1
        visible_at = self.now_ms + self.faults.visibility_delay_ms
        return SimOrder(self._next_order_id, client_id, spec, side, otype, tif, price, qty,
                        reduce_only, self.now_ms, self.now_ms, visible_at)

    def _parse_qty(self, spec: SymbolSpec, params: dict[str, str]) -> float:
        try:
            qty = float(params["quantity"])
        except (KeyError, ValueError) as e:
            raise BinanceError(-1102, "Mandatory parameter 'quantity' was not sent.") from e
        if not spec.is_qty_on_step(qty):
            raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
        if qty < spec.min_qty:
            raise BinanceError(-4003, "Quantity less than or equal to zero.")
        return round(qty, spec.qty_decimals)

    def _parse_price(self, spec: SymbolSpec, params: dict[str, str], otype: str) -> float:
        if otype == "MARKET":
            return 0.0
        try:
            price = float(params["price"])
        except (KeyError, ValueError) as e:
            raise BinanceError(-1102, "Mandatory parameter 'price' was not sent.") from e
        if price <= 0 or not spec.is_price_on_tick(price):
            raise BinanceError(-4014, "Price not increased by tick size.")
        return spec.round_price(price)

    def _check_reduce_only(
        self, spec: SymbolSpec, side: str, qty: float, reduce_only: bool
    ) -> None:
        if not reduce_only:
            return
        pos = self.positions[spec.id].qty
        reduces = (pos > 0 and side == "SELL") or (pos < 0 and side == "BUY")
        if not reduces or qty > abs(pos) + spec.step / 2:
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")

    def _match_new(self, order: SimOrder) -> None:
        spec = order.spec
        if order.type == "MARKET":
            self._fill(order, order.remaining, self._taker_price(spec, order.side), maker=False)
            return
        crosses = self._would_cross(spec, order.side, order.price)
        if order.time_in_force == "GTX" and crosses:
            if self.post_only_mode == "reject":
                del self._orders[order.order_id]
                self._log("reject", spec.id, order_id=order.order_id, reason="post_only")
                raise BinanceError(-5022, MSG_POST_ONLY)
            self._set_closed(order, "EXPIRED")
        elif crosses:
            self._fill(order, order.remaining, self._taker_price(spec, order.side), maker=False)
        elif order.time_in_force in ("IOC", "FOK"):
            self._set_closed(order, "EXPIRED")

    def _find_order(self, params: dict[str, str], spec: SymbolSpec) -> SimOrder | None:
        if "orderId" in params:
            order = self._orders.get(int(params["orderId"]))
        elif "origClientOrderId" in params:
            cid = params["origClientOrderId"]
            matches = [o for o in self._orders.values() if o.client_order_id == cid]
            order = max(matches, key=lambda o: o.order_id) if matches else None
        else:
            raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, "
                                      "but both were empty/null!")
        if order is None or order.symbol != spec.id:
            return None
        return order

    def _get_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._find_order(params, spec)
        if order is None or self.faults.take_not_found(order.order_id, cancel=False):
            raise _order_not_found()
        answer = order.to_binance()
        stale = self.faults.stale_status.get(order.order_id)
        if stale is not None:
            answer.update({"status": stale, "executedQty": spec.fmt_qty(0), "cumQty":
                           spec.fmt_qty(0), "cumQuote": "0", "avgPrice": "0.00"})
        return answer

    def _cancel_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._find_order(params, spec)
        if order is None or self.faults.take_not_found(order.order_id, cancel=True):
            raise _unknown_order()
        if order.order_id in self.faults.expire_on_cancel:
            self.faults.expire_on_cancel.discard(order.order_id)
            if order.is_open:
                self._set_closed(order, "EXPIRED")
            raise _unknown_order()
        if order.order_id in self.faults.fill_during_cancel:
            self.faults.fill_during_cancel.discard(order.order_id)
            if order.is_open:
                self._fill(order, order.remaining, order.price, maker=True)
            raise _unknown_order()
        if not order.is_open:
            raise _unknown_order()
        self._set_closed(order, "CANCELED")
        return order.to_binance(with_time=False)

    def _visible_open(self, spec_id: str | None) -> list[SimOrder]:
        return [o for o in self.open_orders(spec_id) if o.visible_at <= self.now_ms]

    def _open_orders(self, params: dict[str, str]) -> Json:
        spec_id = self._require_symbol(params).id if "symbol" in params else None
        return [o.to_binance() for o in self._visible_open(spec_id)]

    def _open_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._find_order(params, spec)
        if order is None or not order.is_open or order.visible_at > self.now_ms:
            raise BinanceError(-2013, "Order does not exist.")
        return order.to_binance()

    def _all_orders(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        limit = min(int(params.get("limit", "500")), 1000)
        orders = [o for o in self._orders.values() if o.symbol == spec.id]
        if "orderId" in params:
            orders = [o for o in orders if o.order_id >= int(params["orderId"])]
        if "startTime" in params:
            orders = [o for o in orders if o.time >= int(params["startTime"])]
        if "endTime" in params:
            orders = [o for o in orders if o.time <= int(params["endTime"])]
        orders.sort(key=lambda o: o.order_id)
        return [o.to_binance() for o in orders[-limit:]]

    def _cancel_all(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        for order in self.open_orders(spec.id):
            self._set_closed(order, "CANCELED")
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _user_trades(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        limit = min(int(params.get("limit", "500")), 1000)
        rows = [t for t in self._trades if t.order.symbol == spec.id]
        if "orderId" in params:
            rows = [t for t in rows if t.order.order_id == int(params["orderId"])]
        if "fromId" in params:
            rows = [t for t in rows if t.trade_id >= int(params["fromId"])]
            return [t.to_binance() for t in rows[:limit]]
        end = int(params.get("endTime", self.now_ms))
        start = int(params.get("startTime", end - 7 * 86_400_000))
        rows = [t for t in rows if start <= t.time <= end]
        return [t.to_binance() for t in rows[-limit:]]


_DEFAULT_BRACKET: dict[str, Any] = {
    "bracket": 1, "initialLeverage": 125, "notionalCap": 10_000_000, "notionalFloor": 0,
    "maintMarginRatio": 0.004, "cum": 0.0,
}

_TIERS_CACHE: dict[str, list[dict[str, Any]]] = {}


def _bundled_leverage_tiers() -> dict[str, list[dict[str, Any]]]:
    """Freqtrade's bundled Binance leverage tiers (ccxt format with the raw bracket in 'info')."""
    if not _TIERS_CACHE:
        import freqtrade.exchange as ft_exchange

        path = Path(ft_exchange.__file__).parent / "binance_leverage_tiers.json"
        _TIERS_CACHE.update(json.loads(path.read_text()))
    return _TIERS_CACHE


__all__ = ["BinanceError", "LostResponse", "RequestRecord", "SimExchange", "OPEN_STATUSES"]
