"""Market-data handlers of the simulated exchange (public fapi endpoints)."""

from __future__ import annotations

from typing import Any

from ghostsim.errors import FUNDING_INTERVAL_MS, FUNDING_RATE, PERPETUAL_DELIVERY, BinanceError
from ghostsim.market import INTERVAL_MS, SymbolSpec, candle_opens, fmt


Json = Any


class MarketDataMixin:
    """exchangeInfo, klines, depth, tickers, premium index, funding rates."""

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
