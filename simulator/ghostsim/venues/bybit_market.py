"""Bybit v5 market data for the Bybit face (time, instruments, tickers, order book, klines,
funding history, risk limits) on the engine's public routes. Sources: Bybit v5 docs pages named
in each comment (bybit-exchange.github.io/docs/v5/market/...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ghostsim.venues.bybit_orders import BybitError, fmt_num


if TYPE_CHECKING:
    from ghostsim.engine import SimExchange


Json = Any

# market/kline: interval "1,3,5,15,30,60,120,240,360,720,D,W,M" (the engine has no month)
INTERVALS: dict[str, str] = {
    "1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
    "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w",
}


class BybitMarketMixin:
    """The public /v5/market/* endpoints."""

    sim: SimExchange

    def _engine(self, method: str, path: str, params: Mapping[str, Any]) -> Json:
        raise NotImplementedError

    def _category(self, params: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def _spec_id(self, params: Mapping[str, Any], required: bool = True) -> str | None:
        raise NotImplementedError

    def _time(self, params: dict[str, Any]) -> Json:
        self._engine("GET", "/fapi/v1/time", {})
        now = self.sim.now_ms
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def _instruments(self, params: dict[str, Any]) -> Json:
        self._category(params)
        info = self._engine("GET", "/fapi/v1/exchangeInfo", {})
        rows = []
        status = params.get("status")
        if status in (None, "", "Trading"):
            wanted = params.get("symbol")
            rows = [self._instrument(s) for s in info["symbols"]
                    if wanted in (None, "", s["symbol"])]
        return {"category": "linear", "list": rows, "nextPageCursor": ""}

    @staticmethod
    def _instrument(s: Mapping[str, Any]) -> Json:
        filters = {f["filterType"]: f for f in s["filters"]}
        price, lot, mkt = filters["PRICE_FILTER"], filters["LOT_SIZE"], filters["MARKET_LOT_SIZE"]
        # market/instrument: lotSizeFilter maxOrderQty / maxMktOrderQty / minOrderQty / qtyStep /
        # minNotionalValue; priceFilter minPrice / maxPrice / tickSize.
        return {
            "symbol": s["symbol"], "contractType": "LinearPerpetual", "status": "Trading",
            "baseCoin": s["baseAsset"], "quoteCoin": s["quoteAsset"],
            "launchTime": str(s["onboardDate"]), "deliveryTime": "0", "deliveryFeeRate": "",
            "priceScale": str(s["pricePrecision"]),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00",
                               "leverageStep": "0.01"},
            "priceFilter": {"minPrice": price["minPrice"], "maxPrice": price["maxPrice"],
                            "tickSize": price["tickSize"]},
            "lotSizeFilter": {"maxOrderQty": lot["maxQty"], "minOrderQty": lot["minQty"],
                              "qtyStep": lot["stepSize"], "postOnlyMaxOrderQty": lot["maxQty"],
                              "maxMktOrderQty": mkt["maxQty"],
                              "minNotionalValue": filters["MIN_NOTIONAL"]["notional"]},
            "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": s["marginAsset"],
            "copyTrading": "both", "upperFundingRate": "0.00375",
            "lowerFundingRate": "-0.00375", "isPreListing": False, "preListingInfo": None,
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
            "displayName": "",
        }

    def _tickers(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params, required=False)
        query = {"symbol": sid} if sid else {}
        day = self._engine("GET", "/fapi/v1/ticker/24hr", query)
        book = self._engine("GET", "/fapi/v1/ticker/bookTicker", query)
        prem = self._engine("GET", "/fapi/v1/premiumIndex", query)
        day, book, prem = ([x] if sid else x for x in (day, book, prem))
        books = {b["symbol"]: b for b in book}
        prems = {p["symbol"]: p for p in prem}
        rows = []
        for d in day:
            b, p = books[d["symbol"]], prems[d["symbol"]]
            rows.append({
                "symbol": d["symbol"], "lastPrice": d["lastPrice"], "indexPrice": p["indexPrice"],
                "markPrice": p["markPrice"], "prevPrice24h": d["openPrice"],
                "price24hPcnt": fmt_num(float(d["priceChangePercent"]) / 100, 6),
                "highPrice24h": d["highPrice"], "lowPrice24h": d["lowPrice"],
                "prevPrice1h": d["openPrice"], "openInterest": "0", "openInterestValue": "0",
                "turnover24h": d["quoteVolume"], "volume24h": d["volume"],
                "fundingRate": p["lastFundingRate"], "nextFundingTime": str(p["nextFundingTime"]),
                "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "",
                "deliveryTime": "0", "ask1Size": b["askQty"], "bid1Price": b["bidPrice"],
                "ask1Price": b["askPrice"], "bid1Size": b["bidQty"], "basis": "",
            })
        return {"category": "linear", "list": rows}

    def _orderbook(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params)
        # market/orderbook: limit "linear & inverse: [1, 500]. Default: 25"
        limit = _int(params.get("limit"), 25)
        if not 1 <= limit <= 500:
            raise BybitError(10001, "params error: limit must be in [1, 500]")
        depth = self._engine("GET", "/fapi/v1/depth", {"symbol": sid, "limit": limit})
        return {"s": sid, "b": depth["bids"], "a": depth["asks"], "ts": depth["T"],
                "u": depth["lastUpdateId"], "seq": depth["lastUpdateId"], "cts": depth["T"]}

    def _kline(self, params: dict[str, Any], route: str) -> Json:
        self._category(params)
        sid = self._spec_id(params)
        interval = INTERVALS.get(str(params.get("interval", "")))
        if interval is None:
            raise BybitError(10001, "params error: invalid interval")
        # market/kline: limit "[1, 1000]. Default: 200"; rows sorted in reverse by startTime.
        limit = _int(params.get("limit"), 200)
        if not 1 <= limit <= 1000:
            raise BybitError(10001, "params error: limit must be in [1, 1000]")
        query = {"symbol": sid, "interval": interval, "limit": limit,
                 "startTime": params.get("start"), "endTime": params.get("end")}
        rows = self._engine("GET", route, query)
        mark = route != "/fapi/v1/klines"
        out = [[str(r[0]), r[1], r[2], r[3], r[4]] + ([] if mark else [r[5], r[7]])
               for r in rows]
        return {"category": "linear", "symbol": sid, "list": out[::-1]}

    def _funding_history(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params)
        # market/history-fund-rate: limit "[1, 200]. Default: 200"; "Passing only startTime
        # returns an error"; rows newest first.
        limit = _int(params.get("limit"), 200)
        if not 1 <= limit <= 200:
            raise BybitError(10001, "params error: limit must be in [1, 200]")
        if params.get("startTime") is not None and params.get("endTime") is None:
            raise BybitError(10001, "params error: endTime is required when startTime is set")
        query = {"symbol": sid, "limit": 1000, "startTime": params.get("startTime"),
                 "endTime": params.get("endTime")}
        rows = self._engine("GET", "/fapi/v1/fundingRate", query)
        out = [{"symbol": r["symbol"], "fundingRate": r["fundingRate"],
                "fundingRateTimestamp": str(r["fundingTime"])} for r in rows]
        return {"category": "linear", "list": out[::-1][:limit]}

    def _risk_limit(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params, required=False)
        brackets = self._engine("GET", "/fapi/v1/leverageBracket", {"symbol": sid})
        rows = []
        for entry in [brackets] if sid else brackets:
            for b in entry["brackets"]:
                lev = float(b["initialLeverage"])
                rows.append({
                    "id": int(b["bracket"]), "symbol": entry["symbol"],
                    "riskLimitValue": fmt_num(float(b["notionalCap"]), 0),
                    "maintenanceMargin": fmt_num(float(b["maintMarginRatio"]), 4),
                    "initialMargin": fmt_num(1 / lev, 4), "isLowestRisk": int(b["bracket"] == 1),
                    "maxLeverage": f"{lev:.2f}", "mmDeduction": fmt_num(float(b["cum"]), 2),
                })
        return {"category": "linear", "list": rows, "nextPageCursor": ""}


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as e:
        raise BybitError(10001, "Request parameter error") from e


__all__ = ["INTERVALS", "BybitMarketMixin"]
