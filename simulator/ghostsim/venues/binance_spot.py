"""Binance spot (``/api/v3/...``): a face on the engine (see ``ghostsim.venues``).

The face parses spot requests (query / form parameters, HMAC-SHA256 ``signature`` checked with
the engine's own ``_authenticate``), checks what is spot-only before the engine sees the order
(filters, balances, LIMIT_MAKER), then does the work through the engine's USD-M routes with
``sim.handle(..., trusted=True)`` -- so the faults, request records and request patches keyed by
``/fapi/v1/order`` and friends apply here too -- and answers in spot's shapes and error codes.

Design: **reject before forwarding** for what spot rejects and the engine would not (or would
with a futures code), plus a **spot ledger** (``binance_spot_model.SpotLedger``) fed by the
engine's fills for the balances (quote asset, base asset net of base fees). Engine answers that
are futures-only are translated (``ENGINE_TO_SPOT``). The rules and their sources are in
``binance_spot_model`` and docs/sim-venues/binance-spot.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from ghostsim.errors import BinanceError
from ghostsim.rules import archived, check_timestamp
from ghostsim.venues import Answer, VenueProfile
from ghostsim.venues import binance_spot_model as spot
from ghostsim.venues.binance_futures import binance_server_config


if TYPE_CHECKING:
    from ghostsim.engine import SimExchange
    from ghostsim.market import SymbolSpec


logger = logging.getLogger(__name__)

PROFILE = VenueProfile(
    name="binance-spot",
    exchange="binance",
    trading_mode="spot",
    margin_mode="",
    symbols=("BTC/USDT", "ETH/USDT"),
    ccxt_options={
        "options": {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,  # no sapi capital/config/getall
            "fetchMargins": False,
        },
    },
    server_config=lambda url: binance_server_config(url, "api.binance.com"),
    face_module="ghostsim.venues.binance_spot",
)

# What a futures-only engine answer means on spot (the face pre-empts most of them; these are
# the safety net): code -> (spot code, spot message).
ENGINE_TO_SPOT: dict[int, tuple[int, str]] = {
    -2019: (-2010, spot.MSG_INSUFFICIENT),  # "Margin is insufficient."
    -5022: (-2010, spot.MSG_WOULD_TAKE),  # post-only would cross
    -4116: (-2010, spot.MSG_DUPLICATE),  # "ClientOrderId is duplicated."
    -4164: (-1013, "Filter failure: NOTIONAL"),  # min notional
    -4014: (-1013, "Filter failure: PRICE_FILTER"),  # price off tick
    -4003: (-1013, "Filter failure: LOT_SIZE"),  # quantity below minimum
    -1111: (-1013, "Filter failure: LOT_SIZE"),  # quantity off step
}

Handler = Callable[[dict[str, str]], Any]
SYMBOLS_RANGE = r'^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$'


class Face:
    """Binance spot REST on a ``SimExchange``."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        for sid, spec in list(sim.specs.items()):
            listed = spot.spot_spec(spec)
            if listed is not spec:
                sim.specs[sid] = listed
                sim.paths[sid].tick = listed.tick
        self.ledger = spot.SpotLedger(sim)
        self.requests: list[tuple[str, str, dict[str, str], int]] = []
        self.unknown_requests: list[tuple[str, str, dict[str, str], int]] = []
        public: dict[str, Handler] = {
            "/api/v3/ping": lambda p: self._engine("GET", "/fapi/v1/ping", {}),
            "/api/v3/time": lambda p: self._engine("GET", "/fapi/v1/time", {}),
            "/api/v3/exchangeInfo": self._exchange_info,
            "/api/v3/klines": self._klines,
            "/api/v3/uiKlines": self._klines,
            "/api/v3/depth": self._depth,
            "/api/v3/ticker/bookTicker": lambda p: self._each(
                p, "/fapi/v1/ticker/bookTicker", _book_ticker),
            "/api/v3/ticker/24hr": lambda p: self._each(p, "/fapi/v1/ticker/24hr", self._t24),
            "/api/v3/ticker/price": lambda p: self._each(
                p, "/fapi/v1/ticker/price", lambda r: {"symbol": r["symbol"],
                                                      "price": r["price"]}),
            "/api/v3/avgPrice": self._avg_price,
        }
        signed: dict[tuple[str, str], Handler] = {
            ("GET", "/api/v3/account"): self._account,
            ("POST", "/api/v3/order"): self._create,
            ("GET", "/api/v3/order"): self._query,
            ("DELETE", "/api/v3/order"): self._cancel,
            ("GET", "/api/v3/openOrders"): self._open_orders,
            ("DELETE", "/api/v3/openOrders"): self._cancel_all,
            ("GET", "/api/v3/allOrders"): self._all_orders,
            ("GET", "/api/v3/myTrades"): self._my_trades,
            ("GET", "/api/v3/account/commission"): self._commission,
            # Binance.check_delisting_time (Freqtrade, spot, live): no symbol is being delisted.
            ("GET", "/sapi/v1/spot/delist-schedule"): lambda p: [],
        }
        self.routes: dict[tuple[str, str], tuple[Handler, bool]] = {
            ("GET", path): (handler, False) for path, handler in public.items()
        }
        self.routes.update({key: (handler, True) for key, handler in signed.items()})

    # ------------------------------------------------------------------ dispatch

    def handle_http(
        self, method: str, url: str, headers: Mapping[str, str], body: str | None
    ) -> Answer:
        from ghostsim.transport import _split_request

        path, params, signed_payload = _split_request(url, body)
        method = method.upper()
        sim = self.sim
        with sim._lock:
            clean = {k: v for k, v in params.items() if k != "signature"}
            route = self.routes.get((method, path))
            if route is None:
                self.unknown_requests.append((method, path, clean, sim.now_ms))
                logger.error("SimExchange (binance-spot): UNKNOWN ENDPOINT %s %s %s",
                             method, path, clean)
                return 404, {"code": -5000, "msg": f"SimExchange does not implement "
                                                   f"{method} {path} (binance-spot)"}
            handler, is_signed = route
            try:
                if is_signed:
                    sim._authenticate(params, headers, signed_payload)
                    if sim.check_recv_window:
                        check_timestamp(params, sim.now_ms)
                answer: Answer = (200, handler(params if path == "/api/v3/order"
                                               and method == "POST" else clean))
            except BinanceError as error:
                answer = error.answer()
            self.requests.append((method, path, clean, answer[0]))
            return answer

    def _engine(self, method: str, path: str, params: dict[str, str]) -> Any:
        """One engine route; its error answers in spot's codes."""
        status, body = self.sim.handle(method, path, params, trusted=True)
        if status == 200:
            return body
        code = body.get("code") if isinstance(body, dict) else None
        msg = body.get("msg", "") if isinstance(body, dict) else str(body)
        if code in ENGINE_TO_SPOT:
            code, msg = ENGINE_TO_SPOT[code]
        raise BinanceError(int(code) if code is not None else -1000, msg, status)

    def _spec(self, params: Mapping[str, str]) -> SymbolSpec:
        sid = params.get("symbol")
        if not sid:
            raise spot.err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or "
                             "malformed.")
        if sid not in self.sim.specs:
            raise spot.err(-1121, "Invalid symbol.")
        return self.sim.specs[sid]

    # ------------------------------------------------------------------ market data

    def _exchange_info(self, params: dict[str, str]) -> Any:
        self._engine("GET", "/fapi/v1/exchangeInfo", {})
        specs = list(self.sim.specs.values())
        if "symbol" in params:
            specs = [self._spec(params)]
        return {
            "timezone": "UTC", "serverTime": self.sim.now_ms,
            "rateLimits": spot.RATE_LIMITS,
            "exchangeFilters": [],
            "symbols": [spot.symbol_info(spec) for spec in specs],
        }

    def _klines(self, params: dict[str, str]) -> Any:
        keys = ("symbol", "interval", "startTime", "endTime", "limit")
        query = {k: params[k] for k in keys if k in params}
        query["limit"] = str(min(int(params.get("limit", "500")), 1000))
        return self._engine("GET", "/fapi/v1/klines", query)

    def _depth(self, params: dict[str, str]) -> Any:
        query = {k: params[k] for k in ("symbol", "limit") if k in params}
        book = self._engine("GET", "/fapi/v1/depth", query)
        return {"lastUpdateId": book["lastUpdateId"], "bids": book["bids"], "asks": book["asks"]}

    def _each(self, params: dict[str, str], path: str, shape: Callable[[Any], Any]) -> Any:
        """One symbol (``symbol``), some (``symbols``: a JSON list) or all."""
        if "symbol" in params:
            return shape(self._engine("GET", path, {"symbol": self._spec(params).id}))
        rows = self._engine("GET", path, {})
        if "symbols" in params:
            try:
                wanted = json.loads(params["symbols"])
            except ValueError as e:
                raise spot.err(-1100, "Illegal characters found in parameter 'symbols'; legal "
                                 f"range is '{SYMBOLS_RANGE}'.") from e
            for sid in wanted:
                self._spec({"symbol": sid})
            rows = [r for r in rows if r["symbol"] in wanted]
        return [shape(r) for r in rows]

    def _t24(self, row: dict[str, Any]) -> dict[str, Any]:
        """USD-M's 24hr row has every spot field but the previous close and the book's top."""
        spec = self.sim.specs[row["symbol"]]
        bid, ask = self.sim.best_bid_ask(spec.id)
        qty = spot.f8(self.sim.book_depth_qty)
        return {**row, "prevClosePrice": row["openPrice"], "bidPrice": spec.fmt_price(bid),
                "bidQty": qty, "askPrice": spec.fmt_price(ask), "askQty": qty}

    def _avg_price(self, params: dict[str, str]) -> Any:
        row = self._engine("GET", "/fapi/v1/ticker/price", {"symbol": self._spec(params).id})
        return {"mins": 0, "price": row["price"], "closeTime": self.sim.now_ms}

    # ------------------------------------------------------------------ account

    def _account(self, params: dict[str, str]) -> Any:
        self._engine("GET", "/fapi/v3/account", {})
        omit = params.get("omitZeroBalances", "false").lower() == "true"
        maker, taker = int(spot.SPOT_MAKER_FEE * 10_000), int(spot.SPOT_TAKER_FEE * 10_000)
        return {
            "makerCommission": maker, "takerCommission": taker, "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": spot.rates(),
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": self.sim.now_ms, "accountType": "SPOT",
            "balances": self.ledger.balances(omit), "permissions": ["SPOT"], "uid": 354937868,
        }

    def _commission(self, params: dict[str, str]) -> Any:
        spec = self._spec(params)
        zero = spot.rates(0.0, 0.0)
        return {
            "symbol": spec.id,
            "standardCommission": spot.rates(),
            "specialCommission": zero, "taxCommission": zero,
            "discount": {"enabledForAccount": False, "enabledForSymbol": False,
                         "discountAsset": "BNB", "discount": spot.f8(0.0)},
        }

    # ------------------------------------------------------------------ orders

    def _create(self, params: dict[str, str]) -> Any:
        unread = [k for k in params if k not in spot.ORDER_PARAMS]
        if unread:
            raise spot.err(-1104, f"Not all sent parameters were read; read "
                             f"'{len(params) - len(unread)}' parameter(s) but was sent "
                             f"'{len(params)}'.")
        spec = self._spec(params)
        side = params.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise spot.err(-1102, "Mandatory parameter 'side' was not sent, was empty/null, or "
                             "malformed.")
        otype = params.get("type", "").upper()
        if otype in spot.MSG_UNSUPPORTED:
            raise spot.err(-2010, spot.MSG_UNSUPPORTED[otype])
        if otype not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise spot.err(-1116, "Invalid orderType.")
        tif = params.get("timeInForce")
        if otype == "LIMIT" and tif is None:
            raise spot.err(-1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, "
                             "or malformed.")
        if otype == "LIMIT" and tif not in ("GTC", "IOC", "FOK"):
            raise spot.err(-1115, "Invalid timeInForce.")
        for key in ("timeInForce",) if otype != "LIMIT" else ():
            if key in params:
                raise spot.err(-1106, f"Parameter '{key}' sent when not required.")
        for key in ("quoteOrderQty",) if otype != "MARKET" else ("price",):
            if key in params:
                raise spot.err(-1106, f"Parameter '{key}' sent when not required.")
        bid, ask = self.sim.best_bid_ask(spec.id)
        if otype == "MARKET":
            price = ask if side == "BUY" else bid
            qty = self._market_qty(spec, params, price)
            reference = self.sim.price(spec.id)  # NOTIONAL: avgPriceMins 0 -> the last price
        else:
            qty = spot.decimal(params, "quantity")
            exact = spot.decimal(params, "price")
            spot.check_price(spec, exact)
            price = reference = float(exact)
        spot.check_qty(spec, qty)
        spot.check_notional(spec, reference, float(qty))
        spot.check_client_id(params.get("newClientOrderId"))
        cid = params.get("newClientOrderId")
        if cid and self.sim.readings.client_id_reuse == "strict" and any(
                o.symbol == spec.id and o.client_order_id == cid and o.status != "FILLED"
                for o in self.sim.orders):
            # ghostsim.readings "strict": "Orders with the same newClientOrderID can be accepted
            # only when the previous one is filled, otherwise the order will be rejected."
            raise spot.err(-2010, spot.MSG_DUPLICATE)
        # The matching engine's answers (-2010): balance first, then the maker check.
        if side == "BUY" and float(qty) * price > self.ledger.free(spec.quote) + 1e-9:
            raise spot.err(-2010, spot.MSG_INSUFFICIENT)
        if side == "SELL" and float(qty) > self.ledger.free(spec.base) + 1e-12:
            raise spot.err(-2010, spot.MSG_INSUFFICIENT)
        if otype == "LIMIT_MAKER" and self.sim._would_cross(spec, side, price):
            # rest-api.md New order: LIMIT_MAKER "is a LIMIT order that will be rejected if
            # the order immediately matches and trades as a taker." Always rejected (the
            # engine's post_only_mode="expire" is a USD-M knob: spot never expires it).
            if self.sim.post_only_mode != "reject":
                raise spot.err(-2010, spot.MSG_WOULD_TAKE)
        forward = {"symbol": spec.id, "side": side, "type": "MARKET" if otype == "MARKET"
                   else "LIMIT", "quantity": spec.fmt_qty(float(qty))}
        if otype != "MARKET":
            forward["price"] = spec.fmt_price(price)
            forward["timeInForce"] = "GTX" if otype == "LIMIT_MAKER" else str(tif)
        if params.get("newClientOrderId"):
            forward["newClientOrderId"] = params["newClientOrderId"]
        placed = self._engine("POST", "/fapi/v1/order", forward)
        return self._placed(placed, params.get("newOrderRespType"))

    def _market_qty(self, spec: SymbolSpec, params: dict[str, str], price: float) -> Decimal:
        if "quoteOrderQty" not in params:
            return spot.decimal(params, "quantity")
        if "quantity" in params:
            raise spot.err(-1106, "Parameter 'quantity' sent when not required.")
        # rest-api.md: quoteOrderQty "will not break LOT_SIZE filter rules; the order will
        # execute a quantity that will have the notional value as close as possible".
        quote = spot.decimal(params, "quoteOrderQty")
        step = Decimal(str(spec.step))
        return (quote / Decimal(str(price)) / step).to_integral_value(ROUND_DOWN) * step

    def _placed(self, row: dict[str, Any], resp_type: str | None) -> dict[str, Any]:
        now = self.sim.now_ms
        shaped = spot.order_shape(row, now_ms=now)
        default = "FULL" if shaped["type"] in ("LIMIT", "MARKET") else "ACK"
        kind = (resp_type or default).upper()
        answer: dict[str, Any] = {"symbol": shaped["symbol"], "orderId": shaped["orderId"],
                                  "orderListId": -1, "clientOrderId": shaped["clientOrderId"],
                                  "transactTime": now}
        if kind == "ACK":
            return answer
        for key in ("price", "origQty", "executedQty", "origQuoteOrderQty",
                    "cummulativeQuoteQty", "status", "timeInForce", "type", "side",
                    "workingTime", "selfTradePreventionMode"):
            answer[key] = shaped[key]
        if kind == "FULL":
            answer["fills"] = [spot.fill_shape(t) for t in self.sim._trades
                               if t.order.order_id == shaped["orderId"]]
        return answer

    def _ids(self, params: dict[str, str]) -> dict[str, str]:
        spec = self._spec(params)
        query = {"symbol": spec.id}
        query.update({k: params[k] for k in ("orderId", "origClientOrderId") if k in params})
        return query

    def _query(self, params: dict[str, str]) -> Any:
        query = self._ids(params)
        try:
            return spot.order_shape(self._engine("GET", "/fapi/v1/order", query))
        except BinanceError as error:
            if error.code != -2013:
                raise
            # The engine archives by USD-M's rule (3 days unfilled, 90 days any); spot's is
            # -2026 after 90 days for canceled/expired orders with nothing executed only.
            order = self.sim._find_order(query, self.sim.specs[query["symbol"]])
            if order is None or not archived(order, self.sim.now_ms):
                raise
            if spot.spot_archived(order, self.sim.now_ms):
                raise spot.err(-2026, spot.MSG_ARCHIVED) from error
            return spot.order_shape(order.to_binance())

    def _cancel(self, params: dict[str, str]) -> Any:
        spot.check_client_id(params.get("newClientOrderId"))
        row = self._engine("DELETE", "/fapi/v1/order", self._ids(params))
        shaped = spot.order_shape(row, now_ms=self.sim.now_ms)
        answer = {"symbol": shaped["symbol"], "origClientOrderId": shaped["clientOrderId"],
                  "orderId": shaped["orderId"], "orderListId": -1,
                  "clientOrderId": params.get("newClientOrderId") or f"cancel{row['orderId']}",
                  "transactTime": self.sim.now_ms}
        for key in ("price", "origQty", "executedQty", "origQuoteOrderQty",
                    "cummulativeQuoteQty", "status", "timeInForce", "type", "side",
                    "selfTradePreventionMode"):
            answer[key] = shaped[key]
        return answer

    def _open_orders(self, params: dict[str, str]) -> Any:
        query = {"symbol": self._spec(params).id} if "symbol" in params else {}
        return [spot.order_shape(r) for r in self._engine("GET", "/fapi/v1/openOrders", query)]

    def _cancel_all(self, params: dict[str, str]) -> Any:
        spec = self._spec(params)
        resting = self.sim.open_orders(spec.id)
        if not resting:
            raise spot.err(-2011, "Unknown order sent.")
        self._engine("DELETE", "/fapi/v1/allOpenOrders", {"symbol": spec.id})
        return [spot.order_shape(o.to_binance()) for o in resting]

    def _all_orders(self, params: dict[str, str]) -> Any:
        spec = self._spec(params)
        spot.check_window(params)
        limit = min(int(params.get("limit", "500")), 1000)
        first = params.get("orderId", "0")
        rows = self._engine("GET", "/fapi/v1/allOrders",
                            {"symbol": spec.id, "orderId": first, "limit": "1000"})
        seen = {r["orderId"] for r in rows}
        now = self.sim.now_ms
        # Orders only USD-M's archival rule hides: spot still lists them.
        rows += [o.to_binance() for o in self.sim.orders
                 if o.symbol == spec.id and o.order_id >= int(first) and o.order_id not in seen
                 and archived(o, now) and not spot.spot_archived(o, now)]
        rows.sort(key=lambda r: r["orderId"])
        return [spot.order_shape(r) for r in spot.page(rows, params, lambda r: r["time"], limit)]

    def _my_trades(self, params: dict[str, str]) -> Any:
        spec = self._spec(params)
        spot.check_trade_query(params)
        limit = min(int(params.get("limit", "500")), 1000)
        query = {"symbol": spec.id, "fromId": params.get("fromId", "0"), "limit": "1000"}
        if "orderId" in params:
            query["orderId"] = params["orderId"]
        rows = self._engine("GET", "/fapi/v1/userTrades", query)
        rows = spot.page(rows, params, lambda r: r["time"], limit)
        return [spot.trade_shape(r, self.sim) for r in rows]


def _book_ticker(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")}


__all__ = ["ENGINE_TO_SPOT", "PROFILE", "Face"]
