"""A deterministic simulated Binance USD-M futures exchange: matching engine + fapi REST handler.

Real ccxt ``binance`` objects talk to it unchanged through ``ghostsim.transport``.
Everything is driven by a sim clock that starts at the real "now" and only moves forward
(``advance``); nothing depends on wall time while matching.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from ghostsim.account import AccountMixin
from ghostsim.algo import AlgoMixin
from ghostsim.book import OPEN_STATUSES, Position, SimOrder, SimTrade
from ghostsim.controls import ControlsMixin
from ghostsim.errors import (
    FUNDING_INTERVAL_MS,
    MSG_POST_ONLY,
    BinanceError,
)
from ghostsim.faultapi import GATEWAY_PAGES, MSG_418, FaultApiMixin
from ghostsim.faults import Faults, GatewayAnswer, LostResponse
from ghostsim.market import DEFAULT_START_PRICES, PricePath, SymbolSpec, make_spec, market_id
from ghostsim.marketdata import MarketDataMixin
from ghostsim.matching import MatchingMixin
from ghostsim.orders import OrdersMixin
from ghostsim.ratelimits import RateLimiter
from ghostsim.readings import ClientIdReuse, ExecutionsByOrder, Readings, ReduceOnlyOversize
from ghostsim.rules import check_timestamp
from ghostsim.views import ViewsMixin


logger = logging.getLogger(__name__)

Json = Any
Answer = tuple[int, Json]
HttpAnswer = tuple[int, Json, dict[str, str]]
PostOnlyMode = Literal["reject", "expire"]


@dataclass(frozen=True)
class RequestRecord:
    """One request the exchange received (signature removed)."""

    method: str
    path: str
    params: dict[str, str]
    time: int
    status: int = 0


Handler = Callable[[dict[str, str]], Json]


class SimExchange(
    ControlsMixin, FaultApiMixin, OrdersMixin, AlgoMixin, AccountMixin, MarketDataMixin,
    MatchingMixin, ViewsMixin,
):
    """Simulated Binance USD-M futures exchange (one-way mode, USDT margined)."""

    SIM_API_KEY = "sim-api-key-0123456789"
    SIM_API_SECRET = "sim-api-secret-0123456789"
    SIM_API_PASSWORD = "SimPassphrase1"  # venues whose keys carry a passphrase (OKX)

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
        touch_fill_qty: float | None = None,
        check_recv_window: bool = False,
        venue: str = "binance",
        venue_ids: bool = False,
        enforce_rate_limits: bool = False,
        reduce_only_oversize: ReduceOnlyOversize = "refuse",
        executions_by_order: ExecutionsByOrder = "all",
        client_id_reuse: ClientIdReuse = "open",
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
        # Entry price after every fill, parallel to Position.history (ghostsim.views).
        self._entry_history: dict[str, list[float]] = {sid: [] for sid in self.specs}
        # A price that only touches a resting order's limit fills at most this much of it
        # (None: all of it). Binance: a touch is no fill guarantee, the queue ahead goes first.
        self.touch_fill_qty: float | None = touch_fill_qty
        # Signed requests must carry a timestamp inside recvWindow (ghostsim.rules); off by
        # default because the sim clock runs ahead of the bot's wall clock (sim.advance).
        self.check_recv_window = check_recv_window
        self._lock = threading.RLock()
        self._reply = threading.local()  # the headers of the answer being made, per thread
        # The undocumented rules' readings (ghostsim.readings); defaults are the old answers.
        self.readings = Readings()
        self.readings.reduce_only_oversize = reduce_only_oversize
        self.readings.executions_by_order = executions_by_order
        self.readings.client_id_reuse = client_id_reuse
        # The venue's request budget, counted always, enforced on request (ghostsim.ratelimits).
        self.rate = RateLimiter(venue, lambda: self.now_ms, enforced=enforce_rate_limits)
        # Venue-shaped order ids in the face (Bybit UUIDs, OKX long numeric ordIds); the engine
        # and its helpers keep integers and accept either (ghostsim.venues.ids).
        self.venue_ids = venue_ids
        self._routes: dict[tuple[str, str], tuple[Handler, bool]] = self._build_routes()
        # The REST dialect the exchange answers in (ghostsim.venues): None is Binance USD-M,
        # the engine's own. A face translates its venue's requests onto the engine's routes
        # (``handle(..., trusted=True)``) so faults and request patches apply on every venue.
        from ghostsim.venues import make_face

        self.venue = venue
        self.face = make_face(venue, self)

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

    # ------------------------------------------------------------------ fault injection

    def handle(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        signed_payload: str | None = None,
        *,
        trusted: bool = False,
    ) -> Answer:
        """Answer one REST request the way Binance fapi does: (HTTP status, JSON body).

        ``trusted``: a venue face asks, having checked the request's credentials itself."""
        method = method.upper()
        with self._lock:
            if method == "POST" and path == "/fapi/v1/order":
                self.now_ms += self.faults.take_create_trip()  # fault_slow_creates
            clean = {k: v for k, v in params.items() if k != "signature"}
            try:
                status, body = self._dispatch(
                    method, path, dict(params), headers or {}, signed_payload, trusted
                )
            except LostResponse:
                self.requests.append(RequestRecord(method, path, clean, self.now_ms, 408))
                raise
            gateway = self.faults.take_gateway(method, path)  # fault_gateway_error
            if gateway is not None:
                self.requests.append(RequestRecord(method, path, clean, self.now_ms,
                                                   gateway.status))
                self._log("gateway_error", str(params.get("symbol", "")), http=gateway.status,
                          path=path, answered=status)
                raise GatewayAnswer(gateway.status, GATEWAY_PAGES[gateway.status])
            self.requests.append(RequestRecord(method, path, clean, self.now_ms, status))
            return status, body

    def handle_http(
        self, method: str, url: str, headers: Mapping[str, str], body: str | None
    ) -> Answer:
        """One HTTP request as it arrives (URL with query, headers, body) in the venue's
        dialect: the face's answer, or the engine's own for Binance USD-M. The request is
        counted against the venue's budget first; over budget and enforced, the venue's refusal
        is the answer (ghostsim.ratelimits). A payload may be a ``ghostsim.errors.RawBody``
        (not JSON); ``GatewayAnswer`` / ``LostResponse`` propagate. The headers the venue sends
        with it: ``handle_http_headers``."""
        with self._lock:  # only the admission: requests in flight stay concurrent
            verdict = self.rate.admit(method.upper(), url, body)
        self._reply.headers = verdict.headers
        if verdict.answer is not None:
            return verdict.answer[0], verdict.answer[1]
        if self.face is not None:
            return self.face.handle_http(method, url, headers, body)
        from ghostsim.transport import _split_request

        path, params, signed = _split_request(url, body)
        return self.handle(method, path, params, headers, signed)

    def handle_http_headers(
        self, method: str, url: str, headers: Mapping[str, str], body: str | None
    ) -> HttpAnswer:
        """``handle_http`` (which tests may patch) with the response headers the venue sends
        (its rate-limit usage), carried per thread."""
        self._reply.headers = {}
        status, payload = self.handle_http(method, url, headers, body)
        return status, payload, dict(getattr(self._reply, "headers", {}))

    def _dispatch(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        signed_payload: str | None,
        trusted: bool = False,
    ) -> Answer:
        route = self._routes.get((method, path))
        if route is None:
            record = RequestRecord(method, path, dict(params), self.now_ms, 404)
            self.unknown_requests.append(record)
            logger.error("SimExchange: UNKNOWN ENDPOINT %s %s %s", method, path, params)
            return 404, {"code": -5000, "msg": f"SimExchange does not implement {method} {path}"}
        handler, signed = route
        if self.now_ms < self.faults.banned_until_ms:
            msg = MSG_418.format(until=self.faults.banned_until_ms)
            return 418, {"code": -1003, "msg": msg}
        try:
            if signed and not trusted:
                self._authenticate(params, headers, signed_payload)
                if self.check_recv_window:
                    check_timestamp(params, self.now_ms)
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
            ("POST", "/fapi/v1/positionSide/dual"): self._position_side_dual,
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
            ("POST", "/fapi/v1/algoOrder"): self._create_algo,
            ("GET", "/fapi/v1/algoOrder"): self._get_algo,
            ("DELETE", "/fapi/v1/algoOrder"): self._cancel_algo,
            ("GET", "/fapi/v1/openAlgoOrders"): self._open_algos,
            ("GET", "/fapi/v1/allAlgoOrders"): self._all_algos,
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


__all__ = [
    "FUNDING_INTERVAL_MS", "MSG_POST_ONLY", "OPEN_STATUSES", "BinanceError", "LostResponse",
    "RequestRecord", "SimExchange",
]
