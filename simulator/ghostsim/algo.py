"""Conditional (algo) orders: stop-market / take-profit on ``/fapi/v1/algoOrder``.

Binance USD-M moved conditional orders to the Algo Order API (trade/rest-api/New-Algo-Order,
``POST /fapi/v1/algoOrder`` with ``algoType=CONDITIONAL``, ``triggerPrice``, ``clientAlgoId``;
query ``GET /fapi/v1/algoOrder`` by ``algoId`` or ``clientAlgoId``; cancel ``DELETE``; lists
``openAlgoOrders`` / ``allAlgoOrders``). The old endpoint answers -4120 "Order type not supported
for this endpoint. Please use the Algo Order API endpoints instead." ccxt 4.5.90 sends every
swap conditional order there, and Freqtrade's Binance class reads the triggered order's id from
``actualOrderId`` (``stoploss_algo_order_info_id``).

Modelled: placement (-2021 "Order would immediately trigger." when the trigger is already
crossed), query, cancel, the lists, and the trigger: when the price path crosses
``triggerPrice`` (STOP*: SELL at or below, BUY at or above; TAKE_PROFIT*: the reverse) a MARKET
order (reduce-only as the algo order says; ``closePosition`` = the whole position) is placed and
filled as taker; the algo order becomes FINISHED with ``actualOrderId``. A triggered order that
cannot be placed (a reduce-only with no position left) makes the algo order EXPIRED.
Not modelled: STOP / TAKE_PROFIT limit legs resting after the trigger (they fill as market),
``workingType`` MARK_PRICE (the simulator has one price), trailing stops, ``priceProtect``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ghostsim.errors import BinanceError, order_not_found, unknown_order
from ghostsim.market import SymbolSpec
from ghostsim.rules import check_client_order_id, parse_order_id


ALGO_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT")


@dataclass
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    spec: SymbolSpec
    side: str
    order_type: str
    qty: float
    trigger: float
    price: float
    reduce_only: bool
    close_position: bool
    create_time: int
    update_time: int
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: int | None = None

    def to_binance(self) -> dict[str, Any]:
        spec = self.spec
        data: dict[str, Any] = {
            "algoId": self.algo_id, "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL", "orderType": self.order_type, "symbol": spec.id,
            "side": self.side, "positionSide": "BOTH", "timeInForce": "GTC",
            "quantity": spec.fmt_qty(self.qty), "algoStatus": self.status,
            "triggerPrice": spec.fmt_price(self.trigger),
            "price": spec.fmt_price(self.price) if self.price else "0",
            "icebergQuantity": None, "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": "CONTRACT_PRICE", "priceMatch": "NONE",
            "closePosition": self.close_position, "priceProtect": False,
            "reduceOnly": self.reduce_only, "createTime": self.create_time,
            "updateTime": self.update_time, "triggerTime": self.trigger_time,
            "goodTillDate": 0,
        }
        if self.actual_order_id is not None:
            data["actualOrderId"] = str(self.actual_order_id)
        return data

    def crossed(self, price: float) -> bool:
        stop = self.order_type.startswith("STOP")
        if (self.side == "SELL") == stop:
            return price <= self.trigger
        return price >= self.trigger


class AlgoMixin:
    """The Algo Order API handlers and the trigger."""

    def _algo_orders(self) -> dict[int, AlgoOrder]:
        if not hasattr(self, "_algos"):
            self._algos: dict[int, AlgoOrder] = {}
        return self._algos

    def _create_algo(self, params: dict[str, str]) -> Any:
        spec = self._require_symbol(params)
        if params.get("algoType", "CONDITIONAL").upper() != "CONDITIONAL":
            raise BinanceError(-1116, "Invalid algoType.")
        otype = params.get("type", "").upper()
        side = params.get("side", "").upper()
        if otype not in ALGO_TYPES or side not in ("BUY", "SELL"):
            raise BinanceError(-1116, "Invalid orderType.")
        check_client_order_id(params.get("clientAlgoId"), "clientAlgoId")
        if params.get("positionSide", "BOTH").upper() != "BOTH":
            raise BinanceError(-4061, "Order's position side does not match user's setting.")
        try:
            trigger = float(params["triggerPrice"])
        except (KeyError, ValueError) as e:
            raise BinanceError(-1102, "Mandatory parameter 'triggerPrice' was not sent.") from e
        close = params.get("closePosition", "false").lower() == "true"
        qty = 0.0 if close else self._parse_qty(spec, params)
        price = float(params.get("price", "0") or 0)
        self._next_order_id += 1
        algo = AlgoOrder(
            self._next_order_id, params.get("clientAlgoId") or f"simalgo{self._next_order_id}",
            spec, side, otype, qty, spec.round_price(trigger), price,
            params.get("reduceOnly", "false").lower() == "true" or close, close,
            self.now_ms, self.now_ms,
        )
        if algo.crossed(self.paths[spec.id].current):
            raise BinanceError(-2021, "Order would immediately trigger.")
        self._algo_orders()[algo.algo_id] = algo
        self._log("algo_new", spec.id, algo_id=algo.algo_id, side=side, type=otype,
                  trigger=algo.trigger, qty=qty)
        return algo.to_binance()

    def _find_algo(self, params: dict[str, str]) -> AlgoOrder | None:
        algos = self._algo_orders()
        if "algoId" in params:
            return algos.get(parse_order_id(params["algoId"], "algoId"))
        cid = params.get("clientAlgoId")
        if cid is None:
            raise BinanceError(-1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both "
                                      "were empty/null!")
        found = [a for a in algos.values() if a.client_algo_id == cid]
        return max(found, key=lambda a: a.algo_id) if found else None

    def _get_algo(self, params: dict[str, str]) -> Any:
        algo = self._find_algo(params)
        if algo is None:
            raise order_not_found()
        return algo.to_binance()

    def _cancel_algo(self, params: dict[str, str]) -> Any:
        algo = self._find_algo(params)
        if algo is None or algo.status != "NEW":
            raise unknown_order()
        algo.status = "CANCELED"
        algo.update_time = self.now_ms
        self._log("algo_canceled", algo.spec.id, algo_id=algo.algo_id)
        return {"algoId": algo.algo_id, "clientAlgoId": algo.client_algo_id, "code": "200",
                "msg": "success"}

    def _open_algos(self, params: dict[str, str]) -> Any:
        sid = self._require_symbol(params).id if "symbol" in params else None
        return [a.to_binance() for a in self._algo_orders().values()
                if a.status == "NEW" and (sid is None or a.spec.id == sid)]

    def _all_algos(self, params: dict[str, str]) -> Any:
        sid = self._require_symbol(params).id
        return [a.to_binance() for a in self._algo_orders().values() if a.spec.id == sid]

    def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]:
        sid = self.spec(symbol).id if symbol else None
        return [a for a in self._algo_orders().values()
                if a.status == "NEW" and (sid is None or a.spec.id == sid)]

    def _trigger_algo(self, spec: SymbolSpec) -> None:
        price = self.paths[spec.id].current
        for algo in sorted(self.open_algo_orders(spec.id), key=lambda a: a.algo_id):
            if not algo.crossed(price):
                continue
            algo.trigger_time = algo.update_time = self.now_ms
            qty = abs(self.positions[spec.id].qty) if algo.close_position else algo.qty
            params = {"symbol": spec.id, "side": algo.side, "type": "MARKET",
                      "quantity": spec.fmt_qty(qty),
                      "reduceOnly": str(algo.reduce_only).lower()}
            try:
                if qty <= 0:
                    raise BinanceError(-2022, "ReduceOnly Order is rejected.")
                order = self._new_order(spec, params)
            except BinanceError as error:
                algo.status = "EXPIRED"
                self._log("algo_expired", spec.id, algo_id=algo.algo_id, code=error.code)
                continue
            self._orders[order.order_id] = order
            self._snapshot(order)
            self._log("new", spec.id, order_id=order.order_id,
                      client_order_id=order.client_order_id, side=order.side, type="MARKET",
                      tif=order.time_in_force, price=0.0, qty=order.orig_qty,
                      reduce_only=order.reduce_only, algo_id=algo.algo_id)
            self._match_new(order)
            algo.status = "FINISHED"
            algo.actual_order_id = order.order_id
            self._log("algo_triggered", spec.id, algo_id=algo.algo_id, order_id=order.order_id)


__all__ = ["AlgoMixin", "AlgoOrder"]
