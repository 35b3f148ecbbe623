"""Bybit v5, USDT linear perpetuals (``category=linear``), one-way mode, isolated margin.

A face (``ghostsim.venues``): it parses Bybit's requests (query string or JSON body), checks
Bybit's HMAC signing, does the work through the engine's Binance routes
(``sim.handle(..., trusted=True)``) and answers in Bybit's envelope
``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` and retCodes. The account is a
Unified Trading Account (UTA 2.0): ccxt and Freqtrade ask ``/v5/user/query-api`` and see
``uta=1``; balances are ``accountType=UNIFIED``.

Sources are Bybit's v5 REST documentation (bybit-exchange.github.io/docs/v5/...); each rule names
its page. The rules and what is not modelled: docs/sim-venues/bybit.md. Orders, fills and their
retention rules live in ``ghostsim.venues.bybit_orders``, market data in ``bybit_market``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ghostsim.engine import RequestRecord
from ghostsim.tls import ccxt_tls
from ghostsim.venues import Answer, VenueProfile
from ghostsim.venues.bybit_market import BybitMarketMixin
from ghostsim.venues.bybit_orders import BybitError, BybitOrdersMixin, bybit_error, fmt_num


if TYPE_CHECKING:
    from ghostsim.engine import SimExchange


Json = Any
Handler = Callable[[dict[str, Any]], Json]

# integration-guidance "Authentication": the signature is HMAC_SHA256 of
# timestamp + api_key + recv_window + (queryString for GET | jsonBodyString for POST), sent as
# X-BAPI-SIGN with X-BAPI-API-KEY, X-BAPI-TIMESTAMP and X-BAPI-RECV-WINDOW (default 5000).
# The request is valid when server_time - recv_window <= timestamp < server_time + 1000.
# error-code page (UTA): 10002 "The request time exceeds the time window range.", 10003 "API key
# is invalid. ...", 10004 "Error sign, please check your signature generation algorithm."
RECV_WINDOW_DEFAULT_MS = 5000


def bybit_server_config(server_url: str) -> dict[str, Any]:
    """ccxt bybit URLs on ``server_url`` (127.0.0.1 only). Bybit's error codes are in the
    body, so plain http maps every code as in production."""
    parts = urlsplit(server_url)
    if parts.hostname != "127.0.0.1":
        raise ValueError(f"the simulator runs on 127.0.0.1 only, not {server_url}")
    base = f"{parts.scheme}://{parts.netloc}"
    config: dict[str, Any] = {
        "urls": {"api": {key: base for key in ("spot", "futures", "v2", "public", "private")}},
    }
    if parts.scheme == "https":
        config.update(ccxt_tls(server_url))
    return config


PROFILE = VenueProfile(
    name="bybit",
    exchange="bybit",
    trading_mode="futures",
    margin_mode="isolated",
    symbols=("BTC/USDT:USDT", "ETH/USDT:USDT"),
    ccxt_options={
        "options": {
            "defaultType": "swap",
            "defaultSubType": "linear",
            "defaultSettle": "USDT",
            "fetchMarkets": {"types": ["linear"]},
        },
    },
    server_config=bybit_server_config,
    face_module="ghostsim.venues.bybit",
)


class Face(BybitMarketMixin, BybitOrdersMixin):
    """Bybit v5 linear on top of the engine (``SimExchange(venue="bybit")``)."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        # Place-Order: "PostOnly: If the order would be filled immediately when submitted, it
        # will be cancelled." -- accepted, then Cancelled (the engine's "expire" behaviour).
        sim.post_only_mode = "expire"
        self.unknown_requests: list[RequestRecord] = []
        self._init_orders()
        public: dict[str, Handler] = {
            "/v5/market/time": self._time,
            "/v5/market/instruments-info": self._instruments,
            "/v5/market/tickers": self._tickers,
            "/v5/market/orderbook": self._orderbook,
            "/v5/market/kline": lambda p: self._kline(p, "/fapi/v1/klines"),
            "/v5/market/mark-price-kline": lambda p: self._kline(p, "/fapi/v1/markPriceKlines"),
            "/v5/market/index-price-kline": lambda p: self._kline(p, "/fapi/v1/indexPriceKlines"),
            "/v5/market/premium-index-price-kline":
                lambda p: self._kline(p, "/fapi/v1/premiumIndexKlines"),
            "/v5/market/funding/history": self._funding_history,
            "/v5/market/risk-limit": self._risk_limit,
        }
        private: dict[tuple[str, str], Handler] = {
            ("GET", "/v5/user/query-api"): self._query_api,
            ("GET", "/v5/account/info"): self._account_info,
            ("GET", "/v5/asset/coin/query-info"): self._coin_info,
            ("GET", "/v5/account/wallet-balance"): self._wallet_balance,
            ("GET", "/v5/position/list"): self._position_list,
            ("POST", "/v5/position/set-leverage"): self._set_leverage,
            ("POST", "/v5/position/switch-mode"): self._switch_mode,
            ("POST", "/v5/position/switch-isolated"): self._switch_isolated,
            ("POST", "/v5/account/set-margin-mode"): self._set_margin_mode,
            ("POST", "/v5/order/create"): self._create,
            ("POST", "/v5/order/cancel"): self._cancel,
            ("GET", "/v5/order/realtime"): self._realtime,
            ("GET", "/v5/order/history"): self._history,
            ("GET", "/v5/execution/list"): self._executions,
        }
        self._routes: dict[tuple[str, str], tuple[Handler, bool]] = {
            ("GET", path): (h, False) for path, h in public.items()
        }
        self._routes.update({key: (h, True) for key, h in private.items()})

    # ------------------------------------------------------------------ HTTP

    def handle_http(
        self, method: str, url: str, headers: Mapping[str, str], body: str | None
    ) -> Answer:
        method = method.upper()
        parts = urlsplit(url)
        path = parts.path
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method == "POST" and body:
            try:
                loaded = json.loads(body)
            except ValueError:
                return 200, self._envelope(10001, "Request parameter error", {})
            if isinstance(loaded, dict):
                params.update(loaded)
        route = self._routes.get((method, path))
        if route is None:
            with self.sim._lock:
                clean = {k: str(v) for k, v in params.items()}
                self.unknown_requests.append(RequestRecord(method, path, clean, self.sim.now_ms,
                                                           404))
            # error-code page: 10017 "Route not found."
            return 404, self._envelope(10017, "Route not found.", {})
        handler, signed = route
        with self.sim._lock:
            try:
                if signed:
                    payload = (body or "") if method == "POST" else parts.query
                    self._authenticate(headers, payload)
                return 200, self._envelope(0, "OK", handler(params))
            except BybitError as err:
                return err.http, self._envelope(err.code, err.msg, err.result)

    def _envelope(self, code: int, msg: str, result: Json) -> dict[str, Any]:
        return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {},
                "time": self.sim.now_ms}

    def _authenticate(self, headers: Mapping[str, str], payload: str) -> None:
        if not self.sim.check_signature:
            return
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("x-bapi-api-key") != self.sim.SIM_API_KEY:
            raise BybitError(10003, "API key is invalid.")
        stamp = lowered.get("x-bapi-timestamp", "")
        window = lowered.get("x-bapi-recv-window", str(RECV_WINDOW_DEFAULT_MS))
        text = f"{stamp}{self.sim.SIM_API_KEY}{window}{payload}"
        expected = hmac.new(self.sim.SIM_API_SECRET.encode(), text.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, lowered.get("x-bapi-sign", "")):
            raise BybitError(10004, "Error sign, please check your signature generation "
                                    "algorithm.")
        if self.sim.check_recv_window:
            if not (stamp.isdigit() and window.isdigit()):
                raise BybitError(10001, "Request parameter error")
            now = self.sim.now_ms
            if not now - int(window) <= int(stamp) < now + 1000:
                raise BybitError(10002, "The request time exceeds the time window range.")

    # ------------------------------------------------------------------ engine calls

    def _engine(self, method: str, path: str, params: Mapping[str, Any]) -> Json:
        """One engine route; a Binance error becomes Bybit's (``bybit_error``)."""
        clean = {k: str(v) for k, v in params.items() if v is not None}
        status, body = self.sim.handle(method, path, clean, trusted=True)
        if status != 200:
            raise bybit_error(status, body)
        return body

    def _category(self, params: Mapping[str, Any]) -> None:
        # Every v5 trade/position/market endpoint here: category "true" (required). Only the
        # linear category is listed by this simulator.
        if params.get("category") != "linear":
            raise BybitError(10001, "params error: category only support linear")

    def _spec_id(self, params: Mapping[str, Any], required: bool = True) -> str | None:
        sid = params.get("symbol")
        if sid is None or sid == "":
            if required:
                raise BybitError(10001, "params error: symbol is required")
            return None
        if sid not in self.sim.specs:
            raise BybitError(10001, "params error: Symbol Is Invalid")
        return str(sid)

    # ------------------------------------------------------------------ account

    def _query_api(self, params: dict[str, Any]) -> Json:
        # user/apikey-info: "unified" 0/1 (UMA), "uta" 0/1 (UTA): this account is a UTA.
        return {
            "id": "1", "note": "ghostsim", "apiKey": self.sim.SIM_API_KEY, "readOnly": 0,
            "secret": "", "permissions": {"ContractTrade": ["Order", "Position"], "Spot": [],
                                          "Wallet": ["AccountTransfer"], "Options": [],
                                          "Derivatives": [], "CopyTrading": [],
                                          "BlockTrade": [], "Exchange": [], "NFT": []},
            "ips": ["*"], "type": 1, "deadlineDay": 90, "expiredAt": "", "createdAt": "",
            "unified": 0, "uta": 1, "userID": 1, "inviterID": 0, "vipLevel": "No VIP",
            "mktMakerLevel": "0", "affiliateID": 0, "rsaPublicKey": "", "isMaster": True,
            "parentUid": "0", "kycLevel": "LEVEL_DEFAULT", "kycRegion": "",
        }

    def _account_info(self, params: dict[str, Any]) -> Json:
        isolated = all(p.margin_type == "ISOLATED" for p in self.sim.positions.values())
        # account/account-info: unifiedMarginStatus 5 = UTA 2.0, 6 = UTA 2.0 Pro
        return {"unifiedMarginStatus": 6,
                "marginMode": "ISOLATED_MARGIN" if isolated else "REGULAR_MARGIN",
                "isMasterTrader": False, "spotHedgingStatus": "OFF",
                "updatedTime": str(self.sim.now_ms), "dcpStatus": "OFF", "timeWindow": 10,
                "smpGroup": 0}

    def _coin_info(self, params: dict[str, Any]) -> Json:
        coins = sorted({c for s in self.sim.specs.values() for c in (s.base, s.quote)})
        chain = {"chainType": "", "confirmation": "", "withdrawFee": "", "depositMin": "",
                 "withdrawMin": "", "chain": "", "chainDeposit": "0", "chainWithdraw": "0",
                 "minAccuracy": "8", "withdrawPercentageFee": ""}
        return {"rows": [{"name": c, "coin": c, "remainAmount": "0", "chains": [chain]}
                         for c in coins]}

    def _wallet_balance(self, params: dict[str, Any]) -> Json:
        # account/wallet-balance: accountType "UTA2.0: UNIFIED"; a UTA asked for CONTRACT is
        # refused (the classic account type).
        if params.get("accountType") != "UNIFIED":
            raise BybitError(10001, "accountType only support UNIFIED.")
        account = self._engine("GET", "/fapi/v2/account", {})
        asset = account["assets"][0]
        wallet, upnl = float(asset["walletBalance"]), float(asset["unrealizedProfit"])
        order_im = float(asset["openOrderInitialMargin"])
        pos_im = float(asset["positionInitialMargin"])
        equity = wallet + upnl
        coin = {
            "coin": "USDT", "equity": fmt_num(equity, 8), "usdValue": fmt_num(equity, 8),
            "walletBalance": fmt_num(wallet, 8), "free": "", "locked": "0",
            "spotHedgingQty": "0", "borrowAmount": "0.000000000000000000",
            "availableToWithdraw": "", "availableToBorrow": "", "accruedInterest": "0",
            "totalOrderIM": fmt_num(order_im, 8), "totalPositionIM": fmt_num(pos_im, 8),
            "totalPositionMM": "0", "unrealisedPnl": fmt_num(upnl, 8),
            "cumRealisedPnl": "0", "bonus": "0", "marginCollateral": True,
            "collateralSwitch": True,
        }
        return {"list": [{
            "accountType": "UNIFIED", "totalEquity": coin["equity"],
            "accountIMRate": "0", "accountMMRate": "0", "totalMarginBalance": coin["equity"],
            "totalInitialMargin": fmt_num(order_im + pos_im, 8),
            "totalAvailableBalance": asset["availableBalance"],
            "totalPerpUPL": coin["unrealisedPnl"], "totalWalletBalance": coin["walletBalance"],
            "totalMaintenanceMargin": "0", "accountLTV": "0", "coin": [coin],
        }]}

    def _position_list(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params, required=False)
        # position/position-info: "If symbol passed, it returns data regardless of having
        # position or not. If symbol=null and settleCoin specified, it returns position size
        # greater than zero." linear: "either symbol or settleCoin is required".
        if sid is None and not params.get("settleCoin"):
            raise BybitError(10001, "Missing some parameters that must be filled in, symbol "
                                    "or settleCoin")
        rows = self._engine("GET", "/fapi/v3/positionRisk", {"symbol": sid})
        by_id = {r["symbol"]: r for r in rows}
        specs = [sid] if sid else sorted(by_id)
        out = []
        for symbol in specs:
            row = by_id.get(symbol)
            qty = float(row["positionAmt"]) if row else 0.0
            if sid is None and qty == 0:
                continue
            out.append(self._position(symbol, row, qty))
        return {"category": "linear", "list": out, "nextPageCursor": ""}

    def _position(self, symbol: str, row: Mapping[str, Any] | None, qty: float) -> Json:
        spec = self.sim.specs[symbol]
        pos = self.sim.positions[symbol]
        mark = self.sim.paths[symbol].current
        entry = float(row["entryPrice"]) if row else 0.0
        value = abs(qty) * entry
        im = value / max(pos.leverage, 1)
        return {
            "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": symbol,
            "side": "" if qty == 0 else ("Buy" if qty > 0 else "Sell"),
            "size": spec.fmt_qty(abs(qty)), "avgPrice": fmt_num(entry, 8) if qty else "0",
            "positionValue": fmt_num(value, 8) if qty else "", "tradeMode": 0,
            "autoAddMargin": 0, "positionStatus": "Normal", "leverage": str(pos.leverage),
            "markPrice": spec.fmt_price(mark), "liqPrice": "", "bustPrice": "",
            "positionIM": fmt_num(im, 8), "positionIMByMp": fmt_num(im, 8), "positionMM": "0",
            "positionMMByMp": "0", "positionBalance": fmt_num(im, 8), "takeProfit": "",
            "stopLoss": "", "trailingStop": "0", "sessionAvgPrice": "",
            "unrealisedPnl": fmt_num(qty * (mark - entry) if qty else 0.0, 8),
            "curRealisedPnl": "0", "cumRealisedPnl": "0", "adlRankIndicator": 0,
            "createdTime": str(pos.update_time), "updatedTime": str(pos.update_time),
            "seq": len(pos.history) or -1, "isReduceOnly": False, "mmrSysUpdatedTime": "",
            "leverageSysUpdatedTime": "", "tpslMode": "Full",
        }

    def _set_leverage(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params)
        buy, sell = params.get("buyLeverage"), params.get("sellLeverage")
        # position/leverage: "one-way mode: buyLeverage must be the same as sellLeverage"
        if buy is None or buy != sell:
            raise BybitError(10001, "params error: buy leverage must equal sell leverage")
        try:
            leverage = float(buy)
        except ValueError as e:
            raise BybitError(10001, "params error: leverage invalid") from e
        if leverage != int(leverage):
            raise BybitError(10001, "params error: leverage invalid")
        # error-code page: 110043 "Set leverage has not been modified."
        if self.sim.positions[str(sid)].leverage == int(leverage):
            raise BybitError(110043, "Set leverage has not been modified.")
        self._engine("POST", "/fapi/v1/leverage", {"symbol": sid, "leverage": int(leverage)})
        return {}

    def _switch_mode(self, params: dict[str, Any]) -> Json:
        self._category(params)
        # position/position-mode: mode 0 one-way, 3 hedge (both sides). The account is one-way;
        # hedge mode is not modelled (refused like Binance's face does).
        mode = str(params.get("mode", ""))
        if mode not in ("0", "3"):
            raise BybitError(10001, "params error: mode invalid")
        if mode == "0":
            self._engine("GET", "/fapi/v1/positionSide/dual", {})
            return {}
        self._engine("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
        return {}

    def _switch_isolated(self, params: dict[str, Any]) -> Json:
        # position/cross-isolate: "Unified account does not support this endpoint" (UTA sets
        # the margin mode per account: account/set-margin-mode). error-code 100028.
        raise BybitError(100028, "The API cannot be accessed by unified account users.")

    def _set_margin_mode(self, params: dict[str, Any]) -> Json:
        wanted = {"ISOLATED_MARGIN": "ISOLATED", "REGULAR_MARGIN": "CROSSED"}.get(
            str(params.get("setMarginMode")))
        if wanted is None:
            raise BybitError(10001, "params error: setMarginMode invalid")
        for sid in self.sim.specs:
            status, body = self.sim.handle("POST", "/fapi/v1/marginType",
                                           {"symbol": sid, "marginType": wanted}, trusted=True)
            if status == 200 or body.get("code") == -4046:  # -4046: already so
                continue
            # account/set-margin-mode: a failed switch answers 3400045 with the reasons.
            raise BybitError(3400045, "Set margin mode failed", result={"reasons": [
                {"reasonCode": "3400000", "reasonMsg": "The account has positions or orders."}]})
        return {"reasons": []}


__all__ = ["PROFILE", "Face", "bybit_server_config"]
