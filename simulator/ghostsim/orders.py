"""Order handlers of the simulated exchange (POST/GET/DELETE /fapi/v1/order and friends)."""

from __future__ import annotations

from typing import Any

from ghostsim.book import SimOrder
from ghostsim.errors import MSG_POST_ONLY, BinanceError, order_not_found, unknown_order
from ghostsim.faults import LostResponse
from ghostsim.market import SymbolSpec
from ghostsim.rules import (
    TRADE_HISTORY_MS,
    TRADE_WINDOW_MS,
    archived,
    check_client_order_id,
    parse_order_id,
    parse_time,
    trade_window,
)


Json = Any


class OrdersMixin:
    """Create, query, cancel and list orders; the account's trade list."""

    def _create_order(self, params: dict[str, str], faults: bool = True) -> Json:
        """`faults` False: an order placed by the controls (another party than the bot) takes
        none of the create faults armed for the bot."""
        spec = self._require_symbol(params)
        order = self._new_order(spec, params)
        self._orders[order.order_id] = order
        self._log("new", spec.id, order_id=order.order_id, client_order_id=order.client_order_id,
                  side=order.side, type=order.type, tif=order.time_in_force, price=order.price,
                  qty=order.orig_qty, reduce_only=order.reduce_only)
        self._snapshot(order)
        self._match_new(order)
        answer = order.to_binance(with_time=False)
        if not faults:
            return answer
        unknown = self.faults.take_unknown_create()
        if unknown is not None:
            # The order IS placed; the answer says the outcome is unknown (ghostsim.faultapi).
            http, code, msg = unknown
            self._log("unknown_outcome", spec.id, order_id=order.order_id, code=code)
            raise BinanceError(code, msg, http)
        if self.faults.take_lost_create():
            self._log("lost_response", spec.id, order_id=order.order_id)
            raise LostResponse(f"POST /fapi/v1/order {order.order_id}")
        return answer

    def _new_order(self, spec: SymbolSpec, params: dict[str, str]) -> SimOrder:
        side = params.get("side", "").upper()
        otype = params.get("type", "").upper()
        if otype in ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                     "TRAILING_STOP_MARKET"):
            # Conditional orders live on the Algo Order API (ghostsim.algo).
            raise BinanceError(-4120, "Order type not supported for this endpoint. Please use "
                                      "the Algo Order API endpoints instead.")
        if side not in ("BUY", "SELL") or otype not in ("LIMIT", "MARKET"):
            raise BinanceError(-1116, "Invalid orderType.")
        qty = self._parse_qty(spec, params)
        price = self._parse_price(spec, params, otype)
        reduce_only = params.get("reduceOnly", "false").lower() == "true"
        tif = params.get("timeInForce", "GTC" if otype == "LIMIT" else "GTC").upper()
        check_client_order_id(params.get("newClientOrderId"))
        # New-Order: positionSide "Default BOTH for One-way Mode; LONG or SHORT for Hedge Mode. It
        # must be sent in Hedge Mode." The account is in one-way mode: -4061.
        if params.get("positionSide", "BOTH").upper() != "BOTH":
            raise BinanceError(-4061, "Order's position side does not match user's setting.")
        client_id = params.get("newClientOrderId") or f"sim{self._next_order_id + 1}"
        if any(o.client_order_id == client_id for o in self.open_orders(spec.id)):
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        qty = self._check_reduce_only(spec, side, qty, reduce_only)
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
    ) -> float:
        """The quantity a reduce-only order is placed with, or -2022. Larger than the position:
        refused, or trimmed to it under ``readings.reduce_only_oversize == "trim"``
        (ghostsim.readings: Bybit 110017 / OKX 51112 leave it undocumented)."""
        if not reduce_only:
            return qty
        pos = self.positions[spec.id].qty
        reduces = (pos > 0 and side == "SELL") or (pos < 0 and side == "BUY")
        if not reduces:
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")
        if qty > abs(pos) + spec.step / 2:
            if self.readings.reduce_only_oversize != "trim":
                raise BinanceError(-2022, "ReduceOnly Order is rejected.")
            self._log("reduce_only_trimmed", spec.id, asked=qty, position=pos)
            return round(abs(pos), spec.qty_decimals)
        return qty

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
            order = self._orders.get(parse_order_id(params["orderId"]))
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
        # Query-Order's archival rule (ghostsim.rules.archived). It is documented for Query
        # Order and All Orders only: cancel and the open-order reads still find an open order.
        if order is not None and archived(order, self.now_ms):
            raise order_not_found()
        if order is None or self.faults.take_not_found(order.order_id, cancel=False):
            raise order_not_found()
        answer = self._order_view(order)
        if answer is None:  # a lagging view has not seen the order yet
            raise order_not_found()
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
        if order.order_id in self.faults.cancel_ack_fill and order.is_open:
            return self._cancel_lost_the_race(order)
        if order.order_id in self.faults.fill_during_cancel:
            self.faults.fill_during_cancel.discard(order.order_id)
            if order.is_open:
                self._fill(order, order.remaining, order.price, maker=True)
            raise unknown_order()
        if not order.is_open:
            raise unknown_order()
        self._set_closed(order, "CANCELED")
        return order.to_binance(with_time=False)

    def _cancel_lost_the_race(self, order: SimOrder) -> Json:
        """fault_cancel_ack_then_fill: the order fills (a fraction of what is left) just before
        the cancel reaches it, the rest is cancelled, and the cancel is acknowledged with the
        order as the cancel saw it (CANCELED, nothing more executed)."""
        fraction = self.faults.cancel_ack_fill.pop(order.order_id)
        ack = order.to_binance(with_time=False)
        ack.update({"status": "CANCELED", "updateTime": self.now_ms})
        spec = order.spec
        qty = order.remaining
        if fraction < 1:
            steps = int(order.remaining * fraction / spec.step + 1e-9)
            qty = round(max(steps, 1) * spec.step, spec.qty_decimals)
        self._log("cancel_acknowledged_filled", spec.id, order_id=order.order_id, qty=qty)
        self._fill(order, min(qty, order.remaining), order.price, maker=True)
        if order.is_open:
            self._set_closed(order, "CANCELED")
        return ack

    def _visible_open(self, spec_id: str | None) -> list[SimOrder]:
        return [o for o in self.open_orders(spec_id) if o.visible_at <= self.now_ms]

    def _open_orders(self, params: dict[str, str]) -> Json:
        spec_id = self._require_symbol(params).id if "symbol" in params else None
        return self._open_view(spec_id)

    def _open_order(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        order = self._find_order(params, spec)
        if order is None or order.visible_at > self.now_ms:
            raise order_not_found()
        snap = self._order_view(order, "open_orders")
        if snap is None or snap["status"] not in ("NEW", "PARTIALLY_FILLED"):
            raise order_not_found()
        return snap

    def _all_orders(self, params: dict[str, str]) -> Json:
        """All-Orders: archived orders are not found; "The query time period must be less than
        7 days( default as the recent 7 days)." (-1127 beyond that). The list is a view like
        the order query: the lagging-views fault ("order") shows each order as it was."""
        spec = self._require_symbol(params)
        limit = min(int(params.get("limit", "500")), 1000)
        orders = [o for o in self._orders.values()
                  if o.symbol == spec.id and not archived(o, self.now_ms)]
        start, end = parse_time(params, "startTime"), parse_time(params, "endTime")
        if start is not None and end is not None and end - start > TRADE_WINDOW_MS:
            raise BinanceError(-1127, "More than 168 hours between startTime and endTime.")
        if "orderId" in params:
            orders = [o for o in orders if o.order_id >= parse_order_id(params["orderId"])]
        elif start is None and end is None:
            orders = [o for o in orders if o.time >= self.now_ms - TRADE_WINDOW_MS]
        if start is not None:
            orders = [o for o in orders if o.time >= start]
        if end is not None:
            orders = [o for o in orders if o.time <= end]
        orders.sort(key=lambda o: o.order_id)
        shown = [self._order_view(o, "order") for o in orders[-limit:]]
        return [snap for snap in shown if snap is not None]

    def _cancel_all(self, params: dict[str, str]) -> Json:
        spec = self._require_symbol(params)
        for order in self.open_orders(spec.id):
            self._set_closed(order, "CANCELED")
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _user_trades(self, params: dict[str, str]) -> Json:
        """Account-Trade-List with its documented window (ghostsim.rules.trade_window)."""
        spec = self._require_symbol(params)
        limit = min(int(params.get("limit", "500")), 1000)
        window = trade_window(params, self.now_ms)
        shown_until = self.now_ms - self.faults.trades_lag_ms  # fault_lagging_trades
        rows = [t for t in self._trades if t.order.symbol == spec.id
                and self.now_ms - TRADE_HISTORY_MS <= t.time <= shown_until]
        if "orderId" in params:
            rows = [t for t in rows if t.order.order_id == parse_order_id(params["orderId"])]
        if window is None:
            rows = [t for t in rows if t.trade_id >= parse_order_id(params["fromId"], "fromId")]
            return [t.to_binance() for t in rows[:limit]]
        start, end = window
        rows = [t for t in rows if start <= t.time <= end]
        # startTime alone pages forward from it (the oldest rows); otherwise the newest rows.
        if "startTime" in params and "endTime" not in params:
            return [t.to_binance() for t in rows[:limit]]
        return [t.to_binance() for t in rows[-limit:]]
