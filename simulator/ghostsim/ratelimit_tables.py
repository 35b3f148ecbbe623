"""Each venue's documented request budget: what one request costs and what a window allows.

Sources, per venue (the numbers are the venue's own; where a number comes from ccxt's encoding
of the venue's documentation, that is said):

- **Binance USD-M** (developers.binance.com/docs/derivatives/usds-margined-futures/general-info,
  "LIMITS"): "Every request will contain X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter) in the
  response headers which has the current used weight for the IP"; exchangeInfo ``rateLimits``
  REQUEST_WEIGHT 2400 per MINUTE, ORDERS 1200 per MINUTE and 300 per 10 SECOND. Endpoint
  weights: each endpoint's "Request Weight" line, as ccxt 4.5.90 encodes them
  (``binance.describe()['api']['fapiPublic' / 'fapiPrivate']`` costs, ``byLimit`` and
  ``noSymbol``); New-Order: "1 on 10s order rate limit(X-MBX-ORDER-COUNT-10S); 1 on 1min order
  rate limit(X-MBX-ORDER-COUNT-1M); 0 on IP rate limit(x-mbx-used-weight-1m)". The V2/V3
  account, balance and positionRisk reads are weight 5 on their pages (ccxt lists 1 for V2).
- **Binance spot** (binance-spot-api-docs ``rest-api.md`` at a5e0bc3, each endpoint's
  "Weight:"; ``enums.md`` REQUEST_WEIGHT 6000 per MINUTE; the simulator's exchangeInfo lists
  ORDERS 100 per 10 SECOND and 200000 per DAY, what Binance lists for BTCUSDT today (the docs'
  examples show other numbers)).
- **Bybit v5** (bybit-exchange/docs ``docs/v5/rate-limit/rate-limit.mdx`` at 130165ca, "API Rate
  Limit Table", UTA2.0 Pro, linear column): "The API rate limit is based on the rolling time
  window per second and UID"; "You are allowed to send 600 requests within a 5-second window per
  IP by default"; headers ``X-Bapi-Limit``, ``X-Bapi-Limit-Status``,
  ``X-Bapi-Limit-Reset-Timestamp``. Endpoints not in the table (the public market data, the
  classic-account switch-isolated) count toward the IP limit only.
- **OKX v5** (www.okx.com/docs-v5/en, each endpoint's "Rate Limit: N requests per 2 seconds",
  as ccxt 4.5.90 encodes them: ``okx.describe()`` ``rateLimit`` 100 ms and a cost per endpoint,
  so N = 20 / cost per 2 s). Place / cancel order: "Rate limit rule (except Options): User ID +
  Instrument ID"; Place multiple orders: "300 orders per 2 seconds ... Unlike other endpoints,
  the rate limit of this endpoint is determined by the number of orders. If there is only one
  order in the request, it will consume the rate limit of `Place order`." OKX sends no rate-limit
  headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


Params = Mapping[str, Any]
Weight = int | Callable[[Params], int]


def _by_limit(steps: tuple[tuple[int, int], ...], default: int) -> Callable[[Params], int]:
    """A weight that grows with ``limit`` (steps: (largest limit, weight), ascending)."""

    def weight(params: Params) -> int:
        raw = str(params.get("limit") or default)
        limit = int(raw) if raw.isdigit() else default
        for top, cost in steps:
            if limit <= top:
                return cost
        return steps[-1][1]

    return weight


def _symbol(with_symbol: int, without: int) -> Callable[[Params], int]:
    return lambda p: with_symbol if p.get("symbol") else without


# ------------------------------------------------------------------ Binance USD-M

USDM_WEIGHT_PER_MINUTE = 2400
USDM_ORDERS = ((10_000, 300, "10S"), (60_000, 1200, "1M"))
_USDM_KLINES = _by_limit(((99, 1), (499, 2), (1000, 5), (10_000, 10)), 500)
USDM_WEIGHTS: dict[tuple[str, str], Weight] = {
    ("GET", "/fapi/v1/ping"): 1,
    ("GET", "/fapi/v1/time"): 1,
    ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("GET", "/fapi/v1/depth"): _by_limit(((50, 2), (100, 5), (500, 10), (1000, 20)), 500),
    ("GET", "/fapi/v1/klines"): _USDM_KLINES,
    ("GET", "/fapi/v1/markPriceKlines"): _USDM_KLINES,
    ("GET", "/fapi/v1/indexPriceKlines"): _USDM_KLINES,
    ("GET", "/fapi/v1/premiumIndexKlines"): _USDM_KLINES,
    ("GET", "/fapi/v1/ticker/24hr"): _symbol(1, 40),
    ("GET", "/fapi/v1/ticker/price"): _symbol(1, 2),
    ("GET", "/fapi/v2/ticker/price"): _symbol(1, 2),
    ("GET", "/fapi/v1/ticker/bookTicker"): _symbol(2, 5),
    ("GET", "/fapi/v1/premiumIndex"): 1,
    ("GET", "/fapi/v1/fundingRate"): 1,
    ("GET", "/fapi/v1/fundingInfo"): 1,
    ("GET", "/fapi/v1/leverageBracket"): 1,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("POST", "/fapi/v1/positionSide/dual"): 1,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
    ("GET", "/fapi/v3/positionRisk"): 5,
    ("POST", "/fapi/v1/marginType"): 1,
    ("POST", "/fapi/v1/leverage"): 1,
    ("POST", "/fapi/v1/order"): 0,  # counts on the ORDERS limits instead
    ("GET", "/fapi/v1/order"): 1,
    ("DELETE", "/fapi/v1/order"): 1,
    ("GET", "/fapi/v1/openOrders"): _symbol(1, 40),
    ("GET", "/fapi/v1/openOrder"): 1,
    ("GET", "/fapi/v1/allOrders"): 5,
    ("DELETE", "/fapi/v1/allOpenOrders"): 1,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v1/income"): 30,
    ("GET", "/fapi/v1/commissionRate"): 20,
    ("POST", "/fapi/v1/algoOrder"): 1,
    ("GET", "/fapi/v1/algoOrder"): 1,
    ("DELETE", "/fapi/v1/algoOrder"): 1,
    ("GET", "/fapi/v1/openAlgoOrders"): _symbol(1, 40),
    ("GET", "/fapi/v1/allAlgoOrders"): 5,
}
USDM_ORDER_ROUTES = {("POST", "/fapi/v1/order"), ("POST", "/fapi/v1/algoOrder")}

# ------------------------------------------------------------------ Binance spot


def _spot_24hr(params: Params) -> int:
    if params.get("symbol"):
        return 2
    raw = str(params.get("symbols") or "")
    if not raw:
        return 80
    count = raw.count(",") + 1
    return 2 if count <= 20 else 40 if count <= 100 else 80


SPOT_WEIGHT_PER_MINUTE = 6000
SPOT_ORDERS = ((10_000, 100, "10S"), (86_400_000, 200_000, "1D"))
SPOT_WEIGHTS: dict[tuple[str, str], Weight] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/uiKlines"): 2,
    ("GET", "/api/v3/depth"): _by_limit(((100, 5), (500, 25), (1000, 50), (5000, 250)), 100),
    ("GET", "/api/v3/ticker/24hr"): _spot_24hr,
    ("GET", "/api/v3/ticker/price"): _symbol(2, 4),
    ("GET", "/api/v3/ticker/bookTicker"): _symbol(2, 4),
    ("GET", "/api/v3/avgPrice"): 2,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/account/commission"): 20,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/openOrders"): _symbol(6, 80),
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/myTrades"): lambda p: 5 if p.get("orderId") else 20,
}
SPOT_ORDER_ROUTES = {("POST", "/api/v3/order")}

# ------------------------------------------------------------------ Bybit v5 (per second, UID)

BYBIT_IP_LIMIT = (5_000, 600)  # 600 requests in any 5-second window per IP
BYBIT_IP_BAN_MS = 10 * 60_000  # "wait for at least 10 minutes"
BYBIT_LIMITS: dict[tuple[str, str], int] = {
    ("POST", "/v5/order/create"): 10,
    ("POST", "/v5/order/cancel"): 10,
    ("GET", "/v5/order/realtime"): 50,
    ("GET", "/v5/order/history"): 50,
    ("GET", "/v5/execution/list"): 50,
    ("GET", "/v5/position/list"): 50,
    ("POST", "/v5/position/set-leverage"): 10,
    ("POST", "/v5/position/switch-mode"): 10,
    ("GET", "/v5/account/wallet-balance"): 50,
    ("GET", "/v5/account/info"): 50,
    ("POST", "/v5/account/set-margin-mode"): 5,
    ("GET", "/v5/asset/coin/query-info"): 5,
    ("GET", "/v5/user/query-api"): 10,
}

# ------------------------------------------------------------------ OKX v5 (per 2 seconds)

OKX_WINDOW_MS = 2_000
OKX_LIMITS: dict[tuple[str, str], int] = {
    ("GET", "public/time"): 10,
    ("GET", "public/instruments"): 20,
    ("GET", "public/funding-rate"): 10,
    ("GET", "public/funding-rate-history"): 10,
    ("GET", "public/mark-price"): 10,
    ("GET", "public/position-tiers"): 10,
    ("GET", "market/tickers"): 20,
    ("GET", "market/ticker"): 20,
    ("GET", "market/books"): 40,
    ("GET", "market/candles"): 40,
    ("GET", "market/history-candles"): 20,
    ("GET", "market/mark-price-candles"): 20,
    ("GET", "market/history-mark-price-candles"): 20,
    ("GET", "asset/currencies"): 12,
    ("GET", "account/config"): 5,
    ("POST", "account/set-position-mode"): 5,
    ("GET", "account/balance"): 10,
    ("GET", "account/positions"): 10,
    ("GET", "account/leverage-info"): 20,
    ("POST", "account/set-leverage"): 20,
    ("GET", "account/bills"): 10,
    ("GET", "account/bills-archive"): 5,
    ("POST", "trade/order"): 60,
    ("POST", "trade/batch-orders"): 300,
    ("POST", "trade/cancel-order"): 60,
    ("POST", "trade/cancel-batch-orders"): 300,
    ("GET", "trade/order"): 60,
    ("GET", "trade/orders-pending"): 60,
    ("GET", "trade/orders-history"): 40,
    ("GET", "trade/orders-history-archive"): 20,
    ("GET", "trade/fills"): 60,
    ("GET", "trade/fills-history"): 10,
}
# Counted per instrument (User ID + Instrument ID); a one-order batch uses the single route's.
OKX_PER_INSTRUMENT = {"trade/order", "trade/batch-orders", "trade/cancel-order",
                      "trade/cancel-batch-orders"}
OKX_SINGLE_OF_BATCH = {"trade/batch-orders": "trade/order",
                       "trade/cancel-batch-orders": "trade/cancel-order"}


def weight_of(table: Mapping[tuple[str, str], Weight], method: str, path: str,
              params: Params) -> int:
    """A request's weight from a table (1 for a route the table does not list)."""
    found = table.get((method, path), 1)
    return found(params) if callable(found) else found


__all__ = [
    "BYBIT_IP_BAN_MS", "BYBIT_IP_LIMIT", "BYBIT_LIMITS", "OKX_LIMITS", "OKX_PER_INSTRUMENT",
    "OKX_SINGLE_OF_BATCH", "OKX_WINDOW_MS", "SPOT_ORDERS", "SPOT_ORDER_ROUTES",
    "SPOT_WEIGHTS", "SPOT_WEIGHT_PER_MINUTE", "USDM_ORDERS", "USDM_ORDER_ROUTES",
    "USDM_WEIGHTS", "USDM_WEIGHT_PER_MINUTE", "weight_of",
]
