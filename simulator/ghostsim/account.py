"""Account handlers of the simulated exchange: balances, positions, margin, leverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ghostsim.book import MAKER_FEE, TAKER_FEE, Position
from ghostsim.errors import BinanceError
from ghostsim.market import SymbolSpec, fmt


Json = Any


class AccountMixin:
    """leverageBracket, account, balance, positionRisk, marginType, leverage, commission."""

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
            specs = [s for s in specs if self._position_view(s)[0] != 0 or self.open_orders(s.id)]
        return [self._position_risk_of(s, v2=v2) for s in specs]

    def _position_risk_of(self, spec: SymbolSpec, *, v2: bool) -> Json:
        # Position-Information-V3: "Please use with user data stream ACCOUNT_UPDATE to meet your
        # timeliness and accuracy needs." -- the lagging-views fault shows an older position.
        real = self.positions[spec.id]
        qty, entry = self._position_view(spec)
        pos = Position(qty, entry, real.leverage, real.margin_type, real.update_time)
        mark = self.paths[spec.id].current
        upnl = pos.unrealized(mark)
        iso = pos.initial_margin() if pos.margin_type == "ISOLATED" else 0.0
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

    def _position_side_dual(self, params: dict[str, str]) -> Json:
        """Change-Position-Mode. The account is one-way; asking for one-way again is -4059 "No
        need to change position side."; with a position or open order -4068. Hedge mode itself is
        not modelled (docs/simulator.md): the simulator refuses to switch to it."""
        wanted = params.get("dualSidePosition", "").lower()
        if wanted not in ("true", "false"):
            raise BinanceError(-1102, "Mandatory parameter 'dualSidePosition' was not sent.")
        if wanted == "false":
            raise BinanceError(-4059, "No need to change position side.")
        if any(p.qty for p in self.positions.values()) or self.open_orders():
            raise BinanceError(-4068, "The position side cannot be changed if there exists "
                                      "position.")
        raise BinanceError(-5000, "SimExchange does not model hedge mode (dualSidePosition).")

    def _commission_rate(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        return {"symbol": spec.id, "makerCommissionRate": str(MAKER_FEE),
                "takerCommissionRate": str(TAKER_FEE)}


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
