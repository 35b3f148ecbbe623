"""Order handlers of the simulated exchange (POST/GET/DELETE /fapi/v1/order and friends)."""

from __future__ import annotations

from typing import Any

from ghostsim.book import SimOrder
from ghostsim.errors import MSG_POST_ONLY, BinanceError, order_not_found, unknown_order
from ghostsim.faults import LostResponse
from ghostsim.market import SymbolSpec


Json = Any


class OrdersMixin:
    """Create, query, cancel and list orders; the account's trade list."""

    def _create_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._new_order(spec, params)
        self._orders[order.order_id] = order
        self._log("new", spec.id, order_id=order.order_id, client_order_id=order.client_order_id,
                  side=order.side, type=order.type, tif=order.time_in_force, price=order.price,
                  qty=order.orig_qty, reduce_only=order.reduce_only)
        self._match_new(order)
        answer = order.to_binance(with_time=False)
        if self.faults.take_lost_create():
            self._log("lost_response", spec.id, order_id=order.order_id)
            raise LostResponse(f"POST /fapi/v1/order {order.order_id}")
        return answer

    def _new_order(self, spec: SymbolSpec, params: dict[str, str]) -> SimOrder:
        side = params.get("side", "").upper()
        otype = params.get("type", "").upper()
        if side not in ("BUY", "SELL") or otype not in ("LIMIT", "MARKET"):
            raise BinanceError(-1116, "Invalid orderType.")
        qty = self._parse_qty(spec, params)
        price = self._parse_price(spec, params, otype)
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        tif = params.get("timeInForce", "GTC" if otype == "LIMIT" else "GTC").upper()
        client_id = params.get("newClientOrderId") or f"sim{self._next_order_id + 1}"
        if any(o.client_order_id == client_id for o in self.open_orders(spec.id)):
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        self._check_reduce_only(spec, side, qty, reduce_only)
        ref_price = price if otype == "LIMIT" else self._taker_price(spec, side)
        if not reduce_only and qty * ref_price < spec.min_notional:
            raise BinanceError(-4164, f"Order's notional must be no smaller than "
                                      f"{spec.min_notional} (unless you choose reduce only).")
        if not reduce_only:
            leverage = max(self.positions[spec.id].leverage, 1)
            if qty * ref_price / leverage > self._totals()["available"]:
                raise BinanceError(-2019, "Margin is insufficient.")
        self._next_order_id += 1
        visible_at = self.now_ms + self.faults.visibility_delay_ms
        return SimOrder(self._next_order_id, client_id, spec, side, otype, tif, price, qty,
                        reduce_only, self.now_ms, self.now_ms, visible_at)

    def _parse_qty(self, spec: SymbolSpec, params: dict[str, str]) -> float:
        try:
            qty = float(params["quantity"])
        except (KeyError, ValueError) as e:
            raise BinanceError(-1102, "Mandatory parameter 'quantity' was not sent.") from e
        if not spec.is_qty_on_step(qty):
            raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
        if qty < spec.min_qty:
            raise BinanceError(-4003, "Quantity less than or equal to zero.")
        return round(qty, spec.qty_decimals)

    def _parse_price(self, spec: SymbolSpec, params: dict[str, str], otype: str) -> float:
        if otype == "MARKET":
            return 0.0
        try:
            price = float(params["price"])
        except (KeyError, ValueError) as e:
            raise BinanceError(-1102, "Mandatory parameter 'price' was not sent.") from e
        if price <= 0 or not spec.is_price_on_tick(price):
            raise BinanceError(-4014, "Price not increased by tick size.")
        return spec.round_price(price)

    def _check_reduce_only(
        self, spec: SymbolSpec, side: str, qty: float, reduce_only: bool
    ) -> None:
        if not reduce_only:
            return
        pos = self.positions[spec.id].qty
        reduces = (pos > 0 and side == "SELL") or (pos < 0 and side == "BUY")
        if not reduces or qty > abs(pos) + spec.step / 2:
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")

    def _match_new(self, order: SimOrder) -> None:
        spec = order.spec
        if order.type == "MARKET":
            self._fill(order, order.remaining, self._taker_price(spec, order.side), maker=False)
            return
        crosses = self._would_cross(spec, order.side, order.price)
        if order.time_in_force == "GTX" and crosses:
            if self.post_only_mode == "reject":
                del self._orders[order.order_id]
                self._log("reject", spec.id, order_id=order.order_id, reason="post_only")
                raise BinanceError(-5022, MSG_POST_ONLY)
            self._set_closed(order, "EXPIRED")
        elif crosses:
            self._fill(order, order.remaining, self._taker_price(spec, order.side), maker=False)
        elif order.time_in_force in ("IOC", "FOK"):
            self._set_closed(order, "EXPIRED")

    def _find_order(self, params: dict[str, str], spec: SymbolSpec) -> SimOrder | None:
        if "orderId" in params:
            order = self._orders.get(int(params["orderId"]))
        elif "origClientOrderId" in params:
            cid = params["origClientOrderId"]
            matches = [o for o in self._orders.values() if o.client_order_id == cid]
            order = max(matches, key=lambda o: o.order_id) if matches else None
        else:
            raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, "
                                      "but both were empty/null!")
        if order is None or order.symbol != spec.id:
            return None
        return order

    def _get_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._find_order(params, spec)
        if order is None or self.faults.take_not_found(order.order_id, cancel=False):
            raise order_not_found()
        answer = order.to_binance()
        stale = self.faults.stale_status.get(order.order_id)
        if stale is not None:
            answer.update({"status": stale, "executedQty": spec.fmt_qty(0), "cumQty":
                           spec.fmt_qty(0), "cumQuote": "0", "avgPrice": "0.00"})
        return answer

    def _cancel_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._find_order(params, spec)
        if order is None or self.faults.take_not_found(order.order_id, cancel=True):
            raise unknown_order()
        if order.order_id in self.faults.expire_on_cancel:
            self.faults.expire_on_cancel.discard(order.order_id)
            if order.is_open:
                self._set_closed(order, "EXPIRED")
            raise unknown_order()
        if order.order_id in self.faults.fill_during_cancel:
            self.faults.fill_during_cancel.discard(order.order_id)
            if order.is_open:
                self._fill(order, order.remaining, order.price, maker=True)
            raise unknown_order()
        if not order.is_open:
            raise unknown_order()
        self._set_closed(order, "CANCELED")
        return order.to_binance(with_time=False)

    def _visible_open(self, spec_id: str | None) -> list[SimOrder]:
        return [o for o in self.open_orders(spec_id) if o.visible_at <= self.now_ms]

    def _open_orders(self, params: dict[str, str]) -> Json:
        spec_id = self._require_symbol(params).id if "symbol" in params else None
        return [o.to_binance() for o in self._visible_open(spec_id)]

    def _open_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._find_order(params, spec)
        if order is None or not order.is_open or order.visible_at > self.now_ms:
            raise BinanceError(-2013, "Order does not exist.")
        return order.to_binance()

    def _all_orders(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        limit = min(int(params.get("limit", "500")), 1000)
        orders = [o for o in self._orders.values() if o.symbol == spec.id]
        if "orderId" in params:
            orders = [o for o in orders if o.order_id >= int(params["orderId"])]
        if "startTime" in params:
            orders = [o for o in orders if o.time >= int(params["startTime"])]
        if "endTime" in params:
            orders = [o for o in orders if o.time <= int(params["endTime"])]
        orders.sort(key=lambda o: o.order_id)
        return [o.to_binance() for o in orders[-limit:]]

    def _cancel_all(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        for order in self.open_orders(spec.id):
            self._set_closed(order, "CANCELED")
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _user_trades(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        limit = min(int(params.get("limit", "500")), 1000)
        rows = [t for t in self._trades if t.order.symbol == spec.id]
        if "orderId" in params:
            rows = [t for t in rows if t.order.order_id == int(params["orderId"])]
        if "fromId" in params:
            rows = [t for t in rows if t.trade_id >= int(params["fromId"])]
            return [t.to_binance() for t in rows[:limit]]
        end = int(params.get("endTime", self.now_ms))
        start = int(params.get("startTime", end - 7 * 86_400_000))
        rows = [t for t in rows if start <= t.time <= end]
        return [t.to_binance() for t in rows[-limit:]]
