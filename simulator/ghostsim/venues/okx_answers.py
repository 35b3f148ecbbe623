"""OKX v5 rules and shapes of the simulator's OKX face (USDT-margined SWAP, net mode, isolated).

Every rule quotes its source: OKX API v5 documentation (www.okx.com/docs-v5/en/), the section
named in the comment. The face (``ghostsim.venues.okx``) does the work on the engine's Binance
routes; this module holds what is OKX's own: contract sizes, the error answers, and the JSON
shapes of instruments, orders, fills and positions. Pinned by ``tests/test_sim_okx.py``;
``docs/sim-venues/okx.md`` lists the rules and what is not modelled.
"""

from __future__ import annotations

import re
from typing import Any

from ghostsim.market import SymbolSpec, decimals_of, fmt


Json = Any
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# Contract value (ctVal, base currency per contract). Public data > Get instruments lists
# BTC-USDT-SWAP ctVal "0.01" (BTC) and ETH-USDT-SWAP ctVal "0.1" (ETH). Other bases: 1.
CONTRACT_VALUES: dict[str, float] = {"BTC": 0.01, "ETH": 0.1}

# Trade > Place order, clOrdId: "Client Order ID as assigned by the client. A combination of
# case-sensitive alphanumerics, all numbers, or all letters of up to 32 characters."
CLORDID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")

# Trade > Get order history (last 7 days): "Get completed orders which are placed in the last 7
# days, including those placed 7 days ago but completed in the last 7 days. The incomplete orders
# that have been canceled are only reserved for 2 hours." Get order history (last 3 months): the
# same with 3 months (the simulator: 90 days). The 2-hour rule is applied to Get order details
# too (a canceled order with no fill is gone after 2 hours: 51603).
HISTORY_MS = 7 * DAY_MS
ARCHIVE_MS = 90 * DAY_MS
CANCELED_UNFILLED_MS = 2 * HOUR_MS

# Trade > Get transaction details (last 3 days): "Retrieve recently-filled transaction details
# in the last 3 days."; (last 3 months): "This is the transaction details for the last 3
# months." Both page by billId (after: earlier than, before: newer than) and by ts (begin, end);
# "limit: Number of results per request. The maximum is 100. The default is 100."
FILLS_MS = 3 * DAY_MS
FILLS_HISTORY_MS = 90 * DAY_MS
PAGE_LIMIT = 100

# Trade > Get order details, cancelSource: "31: The post-only order will take liquidity in taker
# orders"; "1: Order canceled by user"; "0: Order canceled by system"; "13: Order canceled: FOK
# order was canceled due to incompletely filled"; "14: Order canceled: IOC order was partially
# canceled due to incompletely filled"; "22, 23: Order canceled: Reduce-only orders only allow
# reducing your current position. System has already canceled this order."
CANCEL_BY_SYSTEM = "0"
CANCEL_BY_USER = "1"
CANCEL_FOK = "13"
CANCEL_IOC = "14"
CANCEL_REDUCE_ONLY = "22"
CANCEL_POST_ONLY = "31"

# Error codes (docs-v5 "Error Code" > REST API; texts as listed there, auth errors HTTP 401).
# Public/auth errors are answered with the code at the top level; order-level errors as code
# "1" with data[0].sCode / sMsg. 51401 / 51402 exist but are "Only applicable to Nitro Spread":
# a swap order's cancel answers 51400 whether it was filled, canceled or never existed.
MSG = {
    "50011": "Rate limit reached. Please refer to API documentation and throttle requests "
             "accordingly.",
    "50013": "Systems are busy. Please try again later.",
    "50004": "API endpoint request timeout (does not mean that the request was successful or "
             "failed, please check the request result).",
    "50014": "Parameter {0} can not be empty.",
    "50026": "System error. Try again later.",
    "50103": "Request header \"OK-ACCESS-KEY\" cannot be empty.",
    "50104": "Request header \"OK-ACCESS-PASSPHRASE\" cannot be empty.",
    "50105": "Request header \"OK-ACCESS-PASSPHRASE\" incorrect.",
    "50106": "Request header \"OK-ACCESS-SIGN\" cannot be empty.",
    "50107": "Request header \"OK-ACCESS-TIMESTAMP\" cannot be empty.",
    "50111": "Invalid OK-ACCESS-KEY.",
    "50113": "Invalid signature.",
    "51000": "Parameter {0} error",
    "51001": "Instrument ID doesn't exist.",
    "51008": "Order failed. Insufficient USDT margin in account",
    "51016": "Client order ID already exists.",
    "51020": "Your order should meet or exceed the minimum order amount.",
    "51112": "Close order size exceeds your available size.",
    "51121": "Order quantity must be a multiple of the lot size.",
    "51169": "Order failed because you don't have any positions in this direction for this "
             "contract to reduce or close.",
    "51170": "Failed to place order. A reduce-only order can't be the same trading direction "
             "as your existing position.",
    "51400": "Order cancellation failed as the order has been filled, canceled or does not "
             "exist.",
    "51603": "Order does not exist.",
    "59000": "Settings failed. Close any open positions or orders before modifying settings.",
}


class OkxError(Exception):
    """An OKX error answer: top-level ``code`` (and HTTP status), or an order-level ``sCode``."""

    def __init__(self, code: str, msg: str | None = None, http: int = 200, *,
                 order_level: bool = False, param: str = "") -> None:
        text = msg if msg is not None else MSG.get(code, "").replace("{0}", param)
        super().__init__(f"{http} {code} {text}")
        self.code = code
        self.msg = text
        self.http = http
        self.order_level = order_level


class EngineError(Exception):
    """The engine's Binance route answered an error (HTTP status, Binance body)."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.code = int(body.get("code", 0)) if isinstance(body, dict) else 0
        self.msg = str(body.get("msg", "")) if isinstance(body, dict) else ""


def generic_error(err: EngineError) -> OkxError:
    """An engine fault or refusal with no endpoint-specific meaning, as OKX answers it."""
    if err.status in (418, 429) or err.code == -1003:
        # Rate limit: HTTP 429, code 50011 (OKX has no IP-ban status; a 418 ban reads as 429).
        return OkxError("50011", http=429)
    if err.code == -1007 or err.status == 408:
        return OkxError("50004")
    if err.status >= 500:
        return OkxError("50026", http=err.status)
    return OkxError("50000", f"{err.msg} (engine {err.code})", 400)


def order_error(code: str, param: str = "") -> OkxError:
    return OkxError(code, order_level=True, param=param)


# ------------------------------------------------------------------ contract sizes


def inst_id(spec: SymbolSpec) -> str:
    """'BTC/USDT:USDT' -> 'BTC-USDT-SWAP' (Get instruments, instId of a perpetual swap)."""
    return f"{spec.base}-{spec.quote}-SWAP"


def ct_val(spec: SymbolSpec) -> float:
    return CONTRACT_VALUES.get(spec.base, 1.0)


def lot_size(spec: SymbolSpec) -> float:
    """One lot is one engine step in base currency (BTC: 0.001 BTC = 0.1 contract). OKX lists
    lotSz "0.01" for BTC-USDT-SWAP today; the engine's step (0.001 BTC) cannot hold 0.0001 BTC,
    so the simulator's lot is 0.1 contract (docs/sim-venues/okx.md)."""
    return round(spec.step / ct_val(spec), 8)


def contracts_to_base(spec: SymbolSpec, contracts: float) -> float:
    return round(contracts * ct_val(spec), spec.qty_decimals)


def base_to_contracts(spec: SymbolSpec, qty: float) -> float:
    return round(qty / ct_val(spec), decimals_of(lot_size(spec)))


def fmt_sz(spec: SymbolSpec, qty_base: float) -> str:
    """A base quantity as OKX's contract size string."""
    return fmt(base_to_contracts(spec, qty_base), decimals_of(lot_size(spec)))


def on_lot(spec: SymbolSpec, contracts: float) -> bool:
    lots = contracts / lot_size(spec)
    return abs(lots - round(lots)) < 1e-6


# ------------------------------------------------------------------ shapes


def instrument(spec: SymbolSpec) -> Json:
    """Public data > Get instruments, one SWAP row."""
    family = f"{spec.base}-{spec.quote}"
    lot = fmt(lot_size(spec), decimals_of(lot_size(spec)))
    return {
        "alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": "linear",
        "ctVal": fmt(ct_val(spec), decimals_of(ct_val(spec))), "ctValCcy": spec.base,
        "expTime": "", "instFamily": family, "instId": inst_id(spec), "instType": "SWAP",
        "lever": "100", "listTime": "1611916828000", "contTdSwTime": "1611916828000",
        "lotSz": lot, "minSz": fmt(max(spec.min_qty / ct_val(spec), lot_size(spec)),
                                   decimals_of(lot_size(spec))),
        "maxIcebergSz": "100000000", "maxLmtAmt": "20000000", "maxLmtSz": "100000000",
        "maxMktAmt": "", "maxMktSz": "12000", "maxStopSz": "12000", "maxTriggerSz": "100000000",
        "maxTwapSz": "100000000", "optType": "", "quoteCcy": "", "settleCcy": spec.quote,
        "state": "live", "ruleType": "normal", "stk": "", "tickSz": spec.fmt_price(spec.tick),
        "uly": family, "instIdCode": 10459 if spec.base == "BTC" else 10461,
    }


def okx_state(status: str) -> str:
    return {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled"}.get(
        status, "canceled")


def ord_type(binance: Json) -> str:
    if binance["type"] == "MARKET":
        return "market"
    return {"GTX": "post_only", "IOC": "ioc", "FOK": "fok"}.get(binance["timeInForce"], "limit")


def order_row(spec: SymbolSpec, binance: Json, *, cl_ord_id: str, cancel_source: str,
              fee: float, last_fill: Json | None) -> Json:
    """Trade > Get order details, from the engine's order (Binance JSON)."""
    filled = float(binance["executedQty"])
    avg = float(binance["avgPrice"]) if filled else 0.0
    state = okx_state(binance["status"])
    return {
        "instType": "SWAP", "instId": inst_id(spec), "tgtCcy": "", "ccy": "",
        "ordId": str(binance["orderId"]), "clOrdId": cl_ord_id, "tag": "",
        "px": binance["price"] if binance["type"] == "LIMIT" else "",
        "pxUsd": "", "pxVol": "", "pxType": "",
        "sz": fmt_sz(spec, float(binance["origQty"])), "pnl": "0",
        "ordType": ord_type(binance), "side": binance["side"].lower(), "posSide": "net",
        "tdMode": "isolated", "accFillSz": fmt_sz(spec, filled),
        "fillPx": spec.fmt_price(float(last_fill["price"])) if last_fill else "",
        "tradeId": str(last_fill["id"]) if last_fill else "",
        "fillSz": fmt_sz(spec, float(last_fill["qty"])) if last_fill else "0",
        "fillTime": str(last_fill["time"]) if last_fill else "",
        "avgPx": spec.fmt_price(avg) if filled else "", "state": state, "lever": "20",
        "attachAlgoClOrdId": "", "tpTriggerPx": "", "tpTriggerPxType": "", "tpOrdPx": "",
        "slTriggerPx": "", "slTriggerPxType": "", "slOrdPx": "", "attachAlgoOrds": [],
        "stpId": "", "stpMode": "cancel_maker", "feeCcy": spec.quote,
        "fee": fmt(-fee, 8), "rebateCcy": spec.quote, "rebate": "0", "source": "",
        "category": "normal", "reduceOnly": "true" if binance["reduceOnly"] else "false",
        "isTpLimit": "false", "cancelSource": cancel_source if state == "canceled" else "",
        "cancelSourceReason": "", "quickMgnType": "", "algoClOrdId": "", "algoId": "",
        "uTime": str(binance["updateTime"]), "cTime": str(binance.get("time", "")),
        "tradeQuoteCcy": spec.quote,
    }


def fill_row(spec: SymbolSpec, binance: Json, cl_ord_id: str) -> Json:
    """Trade > Get transaction details, from an engine trade (Binance userTrades row)."""
    return {
        "instType": "SWAP", "instId": inst_id(spec), "tradeId": str(binance["id"]),
        "ordId": str(binance["orderId"]), "clOrdId": cl_ord_id, "billId": str(binance["id"]),
        "subType": "1", "tag": "", "fillPx": binance["price"],
        "fillSz": fmt_sz(spec, float(binance["qty"])), "fillIdxPx": binance["price"],
        "fillPnl": binance["realizedPnl"], "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "",
        "fillFwdPx": "", "fillMarkPx": binance["price"], "side": binance["side"].lower(),
        "posSide": "net", "execType": "M" if binance["maker"] else "T",
        "feeCcy": binance["commissionAsset"], "fee": fmt(-float(binance["commission"]), 8),
        "ts": str(binance["time"]), "fillTime": str(binance["time"]), "feeRate": "",
        "tradeQuoteCcy": spec.quote,
    }


def position_row(spec: SymbolSpec, risk: Json, now_ms: int) -> Json:
    """Account > Get positions, one net isolated position from the engine's positionRisk (v2)."""
    qty = float(risk["positionAmt"])
    contracts = fmt_sz(spec, qty)
    mark = float(risk["markPrice"])
    entry = float(risk["entryPrice"])
    margin = float(risk["isolatedWallet"]) or float(risk["initialMargin"])
    upl = float(risk["unRealizedProfit"])
    return {
        "adl": "1", "availPos": fmt_sz(spec, abs(qty)), "avgPx": spec.fmt_price(entry),
        "bePx": spec.fmt_price(entry), "cTime": str(risk["updateTime"]), "ccy": spec.quote,
        "deltaBS": "", "deltaPA": "", "fee": "0", "fundingFee": "0", "gammaBS": "",
        "gammaPA": "", "idxPx": spec.fmt_price(mark), "imr": "", "instId": inst_id(spec),
        "instType": "SWAP", "interest": "", "last": spec.fmt_price(mark),
        "lever": str(risk["leverage"]), "liab": "", "liabCcy": "", "liqPenalty": "0",
        "liqPx": "", "margin": fmt(margin, 8), "markPx": spec.fmt_price(mark),
        "mgnMode": "isolated", "mgnRatio": "", "mmr": fmt(0.004 * abs(qty) * mark, 8),
        "notionalUsd": fmt(abs(qty) * mark, 8), "optVal": "", "pendingCloseOrdLiabVal": "",
        "pnl": "0", "pos": contracts, "posCcy": "", "posId": f"{inst_id(spec)}-net",
        "posSide": "net", "quoteBal": "", "realizedPnl": "0", "spotInUseAmt": "",
        "spotInUseCcy": "", "thetaBS": "", "thetaPA": "", "tradeId": "",
        "uTime": str(max(int(risk["updateTime"]), 0) or now_ms), "upl": fmt(upl, 8),
        "uplLastPx": fmt(upl, 8),
        "uplRatio": fmt(upl / margin, 8) if margin else "0", "vegaBS": "", "vegaPA": "",
        "closeOrderAlgo": [],
    }


def balance_row(account: Json, now_ms: int) -> Json:
    """Account > Get balance, from the engine's account (Binance /fapi/v2/account)."""
    asset = account["assets"][0]
    wallet = float(asset["walletBalance"])
    upl = float(asset["unrealizedProfit"])
    avail = float(asset["availableBalance"])
    eq = wallet + upl
    iso = float(asset["positionInitialMargin"])
    detail = {
        "ccy": asset["asset"], "eq": fmt(eq, 8), "cashBal": fmt(wallet, 8),
        "availBal": fmt(avail, 8), "availEq": fmt(avail, 8), "frozenBal": fmt(eq - avail, 8),
        "ordFrozen": asset["openOrderInitialMargin"], "isoEq": fmt(iso + upl, 8),
        "isoUpl": fmt(upl, 8), "upl": fmt(upl, 8), "eqUsd": fmt(eq, 8), "disEq": fmt(eq, 8),
        "imr": "", "mmr": "", "liab": "", "interest": "", "crossLiab": "", "isoLiab": "",
        "maxLoan": "", "notionalLever": "", "stgyEq": "0", "twap": "0", "mgnRatio": "",
        "uTime": str(now_ms), "spotInUseAmt": "", "borrowFroz": "", "fixedBal": "0",
    }
    return {
        "adjEq": "", "availEq": "", "borrowFroz": "", "details": [detail], "imr": "",
        "isoEq": detail["isoEq"], "mgnRatio": "", "mmr": "", "notionalUsd": "",
        "ordFroz": "", "totalEq": fmt(eq, 8), "uTime": str(now_ms), "upl": fmt(upl, 8),
    }


__all__ = [
    "ARCHIVE_MS", "CANCELED_UNFILLED_MS", "CLORDID_RE", "FILLS_HISTORY_MS", "FILLS_MS",
    "HISTORY_MS", "OkxError", "balance_row", "base_to_contracts", "contracts_to_base",
    "fill_row", "inst_id", "instrument", "order_error", "order_row", "position_row",
]
