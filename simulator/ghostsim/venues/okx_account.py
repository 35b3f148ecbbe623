"""OKX v5 public market data and account endpoints of the OKX face (``ghostsim.venues.okx``).

Each handler takes the request's parameters and returns OKX's ``data`` list; the work is done
on the engine's Binance routes (``self.engine`` / ``self.call``) so faults apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ghostsim.market import SymbolSpec, fmt
from ghostsim.venues.okx_answers import (
    EngineError,
    OkxError,
    balance_row,
    ct_val,
    fmt_sz,
    inst_id,
    instrument,
    position_row,
)


if TYPE_CHECKING:
    from ghostsim.engine import SimExchange


Json = Any
Params = Mapping[str, Any]

# Market data > Get candlesticks, bar: "[1m/3m/5m/15m/30m/1H/2H/4H] UTC time opening price
# k-line: [6Hutc/12Hutc/1Dutc/2Dutc/3Dutc/1Wutc/1Mutc/3Mutc]" (Hong Kong time without "utc").
BARS: dict[str, str] = {
    "1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m", "1H": "1h", "2H": "2h",
    "4H": "4h", "6H": "6h", "6Hutc": "6h", "12H": "12h", "12Hutc": "12h", "1D": "1d",
    "1Dutc": "1d", "1W": "1w", "1Wutc": "1w",
}
# "limit: Number of results per request. The maximum is 300. The default is 100." (candles and
# history candles); mark/index price candles: "The maximum is 100."
CANDLE_MAX = 300
PRICE_CANDLE_MAX = 100
FUNDING_MS = 8 * 3_600_000


def _limit(params: Params, maximum: int, default: int = 100) -> int:
    raw = str(params.get("limit") or default)
    if not raw.isdigit() or int(raw) < 1:
        raise OkxError("51000", param="limit")
    return min(int(raw), maximum)


def _ts(params: Params, key: str) -> int | None:
    raw = params.get(key)
    if raw in (None, ""):
        return None
    text = str(raw)
    if not text.isdigit():
        raise OkxError("51000", param=key)
    return int(text)


class AccountMixin:
    """Public data, market data and the account (balance, positions, leverage, config)."""

    sim: SimExchange
    by_inst: dict[str, SymbolSpec]
    engine: Callable[[str, str, Mapping[str, str]], Json]
    call: Callable[[str, str, Mapping[str, str]], Json]
    spec_of: Callable[..., SymbolSpec]
    specs_of: Callable[[Params], list[SymbolSpec]]

    def public_routes(self) -> dict[str, Callable[[Any], Json]]:
        return {
            "public/time": lambda p: [{"ts": str(self.call("GET", "/fapi/v1/time", {})
                                                 ["serverTime"])}],
            "public/instruments": self._instruments,
            "public/funding-rate": self._funding_rate,
            "public/funding-rate-history": self._funding_history,
            "public/position-tiers": self._position_tiers,
            "public/mark-price": self._mark_price,
            "market/tickers": self._tickers,
            "market/ticker": lambda p: self._tickers({"instId": p.get("instId", ""), "one": 1}),
            "market/books": self._books,
            "market/candles": lambda p: self._candles(p, "/fapi/v1/klines", CANDLE_MAX),
            "market/history-candles": lambda p: self._candles(p, "/fapi/v1/klines",
                                                              CANDLE_MAX),
            "market/mark-price-candles": lambda p: self._candles(
                p, "/fapi/v1/markPriceKlines", PRICE_CANDLE_MAX),
            "market/history-mark-price-candles": lambda p: self._candles(
                p, "/fapi/v1/markPriceKlines", PRICE_CANDLE_MAX),
        }

    def account_routes(self) -> dict[tuple[str, str], tuple[Callable[[Any], Json], bool]]:
        return {
            ("GET", "asset/currencies"): (self._currencies, True),
            ("GET", "account/config"): (self._config, True),
            ("POST", "account/set-position-mode"): (self._set_position_mode, True),
            ("GET", "account/balance"): (self._balance, True),
            ("GET", "account/positions"): (self._positions, True),
            ("GET", "account/leverage-info"): (self._leverage_info, True),
            ("POST", "account/set-leverage"): (self._set_leverage, True),
            ("GET", "account/bills"): (lambda p: self._bills(p, 7), True),
            ("GET", "account/bills-archive"): (lambda p: self._bills(p, 90), True),
        }

    # ------------------------------------------------------------------ public data

    def _instruments(self, params: Params) -> Json:
        """Public data > Get instruments: instType "Required"; the simulator lists SWAP only."""
        kind = str(params.get("instType") or "")
        if not kind:
            raise OkxError("50014", param="instType")
        self.call("GET", "/fapi/v1/exchangeInfo", {})
        if kind != "SWAP":
            return []
        return [instrument(s) for s in self.specs_of(params)]

    def _tickers(self, params: Params) -> Json:
        if "one" not in params and str(params.get("instType") or "") != "SWAP":
            if not params.get("instType"):
                raise OkxError("50014", param="instType")
            return []
        specs = [self.spec_of(params)] if "one" in params else list(self.by_inst.values())
        rows = []
        for spec in specs:
            day = self.call("GET", "/fapi/v1/ticker/24hr", {"symbol": spec.id})
            book = self.call("GET", "/fapi/v1/ticker/bookTicker", {"symbol": spec.id})
            vol = float(day["volume"])
            rows.append({
                "instType": "SWAP", "instId": inst_id(spec), "last": day["lastPrice"],
                "lastSz": fmt_sz(spec, spec.step), "askPx": book["askPrice"],
                "askSz": fmt_sz(spec, float(book["askQty"])), "bidPx": book["bidPrice"],
                "bidSz": fmt_sz(spec, float(book["bidQty"])), "open24h": day["openPrice"],
                "high24h": day["highPrice"], "low24h": day["lowPrice"],
                "volCcy24h": fmt(vol, spec.qty_decimals), "vol24h": fmt_sz(spec, vol),
                "sodUtc0": day["openPrice"], "sodUtc8": day["openPrice"],
                "ts": str(self.sim.now_ms),
            })
        return rows

    def _books(self, params: Params) -> Json:
        """Market data > Get order book: sz "Order book depth per side. Maximum 400"."""
        spec = self.spec_of(params)
        depth = _limit({"limit": params.get("sz") or 1}, 400, 1)
        book = self.call("GET", "/fapi/v1/depth", {"symbol": spec.id, "limit": str(depth)})

        def side(rows: list[list[str]]) -> list[list[str]]:
            return [[px, fmt_sz(spec, float(qty)), "0", "1"] for px, qty in rows]

        return [{"asks": side(book["asks"]), "bids": side(book["bids"]),
                 "ts": str(self.sim.now_ms)}]

    def _candles(self, params: Params, route: str, maximum: int) -> Json:
        """Market data > Get candlesticks: "after: Pagination of data to return records earlier
        than the requested ts"; "before: ... newer than the requested ts"; newest first; the
        last field, confirm, is "0" while the candle is not completed."""
        spec = self.spec_of(params)
        bar = str(params.get("bar") or "1m")
        if bar not in BARS:
            raise OkxError("51000", param="bar")
        limit = _limit(params, maximum)
        after, before = _ts(params, "after"), _ts(params, "before")
        query = {"symbol": spec.id, "interval": BARS[bar], "limit": str(limit)}
        if after is not None:
            query["endTime"] = str(after - 1)
        rows = self.call("GET", route, query)
        if before is not None:
            rows = [r for r in rows if r[0] > before]
        out = []
        for r in reversed(rows):
            vol = float(r[5])
            done = "1" if int(r[6]) < self.sim.now_ms else "0"
            out.append([str(r[0]), r[1], r[2], r[3], r[4], fmt_sz(spec, vol),
                        fmt(vol, spec.qty_decimals), fmt(float(r[7]), 4), done])
        return out

    def _funding_rate(self, params: Params) -> Json:
        spec = self.spec_of(params)
        prem = self.call("GET", "/fapi/v1/premiumIndex", {"symbol": spec.id})
        nxt = int(prem["nextFundingTime"])
        return [{
            "instType": "SWAP", "instId": inst_id(spec), "fundingRate": prem["lastFundingRate"],
            "nextFundingRate": "", "fundingTime": str(nxt),
            "nextFundingTime": str(nxt + FUNDING_MS), "method": "current_period",
            "formulaType": "withRate", "maxFundingRate": "0.00375",
            "minFundingRate": "-0.00375", "settFundingRate": prem["lastFundingRate"],
            "settState": "settled", "premium": "0", "sign": "", "interestRate": "0.0001",
            "impactValue": "20000", "ts": str(self.sim.now_ms),
        }]

    def _funding_history(self, params: Params) -> Json:
        """Public data > Get funding rate history: before/after on fundingTime, "limit: ... The
        maximum is 400. The default is 400.", newest first."""
        spec = self.spec_of(params)
        limit = _limit(params, 400, 400)
        after, before = _ts(params, "after"), _ts(params, "before")
        end = (after - 1) if after is not None else self.sim.now_ms
        start = (before + 1) if before is not None else end - limit * FUNDING_MS
        rows = self.call("GET", "/fapi/v1/fundingRate", {
            "symbol": spec.id, "startTime": str(start), "endTime": str(end), "limit": "1000"})
        return [{"instType": "SWAP", "instId": inst_id(spec), "formulaType": "withRate",
                 "fundingRate": r["fundingRate"], "realizedRate": r["fundingRate"],
                 "fundingTime": str(r["fundingTime"]), "method": "current_period"}
                for r in reversed(rows[-limit:])]

    def _mark_price(self, params: Params) -> Json:
        rows = []
        for spec in self.specs_of(params):
            prem = self.call("GET", "/fapi/v1/premiumIndex", {"symbol": spec.id})
            rows.append({"instType": "SWAP", "instId": inst_id(spec),
                         "markPx": prem["markPrice"], "ts": str(self.sim.now_ms)})
        return rows

    def _position_tiers(self, params: Params) -> Json:
        """Public data > Get position tiers: for SWAP "instFamily" (or uly) is required; minSz /
        maxSz are in contracts. Built from the engine's brackets at the start price."""
        family = str(params.get("instFamily") or params.get("uly") or "")
        if not family:
            raise OkxError("50014", param="instFamily")
        spec = self.by_inst.get(f"{family}-SWAP")
        if spec is None:
            raise OkxError("51001")
        brackets = self.call("GET", "/fapi/v1/leverageBracket", {"symbol": spec.id})
        price = self.sim.paths[spec.id].start_price
        lot = ct_val(spec) * price
        return [{
            "uly": family, "instFamily": family, "instId": "", "tier": str(b["bracket"]),
            "minSz": fmt(b["notionalFloor"] / lot, 0), "maxSz": fmt(b["notionalCap"] / lot, 0),
            "mmr": str(b["maintMarginRatio"]), "imr": fmt(1 / b["initialLeverage"], 6),
            "maxLever": str(b["initialLeverage"]), "optMgnFactor": "0", "quoteMaxLoan": "",
            "baseMaxLoan": "",
        } for b in brackets["brackets"]]

    # ------------------------------------------------------------------ account

    def _currencies(self, params: Params) -> Json:
        """Funding account > Get currencies (ccxt's fetchCurrencies when keys are set): one
        chain per currency the simulated instruments use. No engine route (static data)."""
        codes = sorted({s.quote for s in self.by_inst.values()}
                       | {s.base for s in self.by_inst.values()})
        return [{"ccy": c, "name": c, "chain": f"{c}-ERC20", "canDep": True, "canWd": True,
                 "canInternal": True, "minWd": "0.001", "maxWd": "1000000", "wdTickSz": "8",
                 "fee": "0", "minFee": "0", "maxFee": "0", "mainNet": True,
                 "minDep": "0.00000001", "needTag": False} for c in codes]

    def _config(self, params: Params) -> Json:
        """Account > Get account configuration: posMode "long_short_mode" or "net_mode"."""
        dual = self.call("GET", "/fapi/v1/positionSide/dual", {})["dualSidePosition"]
        uid = "44705892343619584"
        return [{
            "acctLv": "2", "acctStpMode": "cancel_maker", "autoLoan": False,
            "ctIsoMode": "automatic", "enableSpotBorrow": False, "greeksType": "PA", "ip": "",
            "type": "0", "kycLv": "2", "label": "ghostsim", "level": "Lv1", "levelTmp": "",
            "liquidationGear": "-1", "mainUid": uid, "mgnIsoMode": "automatic", "opAuth": "0",
            "perm": "read_only,trade", "posMode": "long_short_mode" if dual else "net_mode",
            "roleType": "0", "spotBorrowAutoRepay": False, "spotOffsetType": "",
            "spotRoleType": "0", "spotTraderInsts": [], "traderInsts": [], "uid": uid,
            "settleCcy": "USDT", "settleCcyList": ["USDT"],
        }]

    def _set_position_mode(self, params: Params) -> Json:
        """Account > Set position mode. The account is net mode; long_short_mode is refused
        (59000 with a position or open order, otherwise not modelled)."""
        mode = str(params.get("posMode") or "")
        if mode not in ("net_mode", "long_short_mode"):
            raise OkxError("51000", param="posMode")
        try:
            self.engine("POST", "/fapi/v1/positionSide/dual",
                        {"dualSidePosition": "true" if mode == "long_short_mode" else "false"})
        except EngineError as err:
            if err.code == -4059:  # already so
                return [{"posMode": mode}]
            if err.code == -4068:
                raise OkxError("59000") from err
            raise OkxError("51000", "Parameter posMode error (the simulator models net_mode "
                                    "only)") from err
        return [{"posMode": mode}]

    def _balance(self, params: Params) -> Json:
        return [balance_row(self.call("GET", "/fapi/v2/account", {}), self.sim.now_ms)]

    def _positions(self, params: Params) -> Json:
        """Account > Get positions (net mode: one row per instrument holding a position; pos is
        signed, in contracts)."""
        kind = str(params.get("instType") or "SWAP")
        if kind not in ("SWAP", "ANY"):
            return []
        specs = self.specs_of(params)
        query = {"symbol": specs[0].id} if len(specs) == 1 else {}
        risks = self.call("GET", "/fapi/v2/positionRisk", query)
        wanted = {s.id for s in specs}
        rows = []
        for risk in risks:
            spec = self.sim.specs[risk["symbol"]]
            if spec.id in wanted and float(risk["positionAmt"]) != 0:
                rows.append(position_row(spec, risk, self.sim.now_ms))
        return rows

    def _bills(self, params: Params, days: int) -> Json:
        """Account > Get bills details (last 7 days / last 3 months); ``type`` 8 is "Funding
        fee" (what Freqtrade reads for its funding fees). From the engine's income history
        (``/fapi/v1/income``, FUNDING_FEE); the engine books no funding, so this is empty."""
        if str(params.get("type") or "8") != "8":
            return []
        since = self.sim.now_ms - days * 86_400_000
        rows = self.call("GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE",
                                                    "startTime": str(since)})
        out = []
        for r in rows:
            spec = self.sim.specs.get(r.get("symbol", ""))
            if spec is None or (params.get("instId") and inst_id(spec) != params["instId"]):
                continue
            out.append({"bal": "", "balChg": r["income"], "billId": str(r["tranId"]),
                        "ccy": r["asset"], "instId": inst_id(spec), "instType": "SWAP",
                        "mgnMode": "isolated", "pnl": "0", "posBal": "", "posBalChg": "0",
                        "subType": "173" if float(r["income"]) < 0 else "174", "sz": "",
                        "ts": str(r["time"]), "type": "8"})
        return sorted(out, key=lambda r: int(r["billId"]), reverse=True)[:100]

    def _leverage_info(self, params: Params) -> Json:
        mode = str(params.get("mgnMode") or "")
        if not mode:
            raise OkxError("50014", param="mgnMode")
        if not params.get("instId"):
            raise OkxError("50014", param="instId")
        rows = []
        for spec in self.specs_of(params):
            [risk] = self.call("GET", "/fapi/v2/positionRisk", {"symbol": spec.id})
            rows.append({"instId": inst_id(spec), "mgnMode": mode, "posSide": "net",
                         "lever": str(risk["leverage"])})
        return rows

    def _set_leverage(self, params: Params) -> Json:
        """Account > Set leverage (instId, lever, mgnMode; posSide only in long/short mode)."""
        spec = self.spec_of(params)
        mode = str(params.get("mgnMode") or "")
        if mode not in ("isolated", "cross"):
            raise OkxError("51000", param="mgnMode")
        lever = str(params.get("lever") or "")
        try:
            lev = int(float(lever))
        except ValueError as err:
            raise OkxError("51000", param="lever") from err
        try:
            self.engine("POST", "/fapi/v1/leverage", {"symbol": spec.id, "leverage": str(lev)})
        except EngineError as err:
            if err.code == -4028:
                raise OkxError("51000", param="lever") from err
            raise
        return [{"lever": str(lev), "mgnMode": mode, "instId": inst_id(spec),
                 "posSide": str(params.get("posSide") or "net")}]


__all__ = ["BARS", "AccountMixin"]
