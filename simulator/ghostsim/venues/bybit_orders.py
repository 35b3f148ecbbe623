"""Bybit v5 linear orders, fills and their retention rules, on the engine's Binance routes.

Each rule names its Bybit v5 page (bybit-exchange.github.io/docs/v5/...) and is pinned by
``tests/test_sim_bybit.py``; docs/sim-venues/bybit.md lists them with what is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ghostsim.book import MAKER_FEE, TAKER_FEE, SimOrder
from ghostsim.rules import archived
from ghostsim.venues.bybit_rules import (  # noqa: F401 - re-exported for the face
    _TIF,
    _TIF_IN,
    CANCELLED_KEPT_MS,
    DAY_MS,
    ERROR_MAP,
    HISTORY_KEPT_MS,
    LINK_ID_RE,
    REALTIME_CLOSED_KEPT,
    WINDOW_MS,
    BybitError,
    _float,
    _limit,
    _time,
    _window,
    bybit_error,
    fmt_num,
)
from ghostsim.venues.ids import VenueIds


if TYPE_CHECKING:
    from ghostsim.engine import SimExchange


Json = Any


class BybitOrdersMixin:
    """POST /v5/order/create, /v5/order/cancel; GET /v5/order/realtime, /v5/order/history,
    /v5/execution/list."""

    sim: SimExchange

    def _init_orders(self) -> None:
        self.links: dict[int, str] = {}  # engine order id -> the orderLinkId the client sent
        self.post_only_killed: set[int] = set()
        self.forgotten: set[int] = set()  # closed before the last service restart
        # Order ids as Bybit writes them (UUIDs) with SimExchange(venue_ids=True).
        self.ids = VenueIds("uuid" if self.sim.venue_ids else None, self.sim.seed)

    def _link(self, order: Any) -> str:
        """The orderLinkId the account's client sent, through this face or another party's
        (an order placed on the engine directly: another bot of the account); "" for none."""
        if order.order_id in self.links:
            return self.links[order.order_id]
        cid = str(order.client_order_id or "")
        return "" if cid == f"sim{order.order_id}" else cid

    def service_restart(self) -> None:
        """Bybit restarts its service: realtime no longer answers closed orders that closed
        before now (order/open-order, "After a server release or restart ...")."""
        self.forgotten.update(o.order_id for o in self.sim.orders if not o.is_open)

    # ------------------------------------------------------------------ helpers

    def _engine(self, method: str, path: str, params: Mapping[str, Any]) -> Json:
        raise NotImplementedError

    def _category(self, params: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def _spec_id(self, params: Mapping[str, Any], required: bool = True) -> str | None:
        raise NotImplementedError

    def _find(self, params: Mapping[str, Any]) -> SimOrder | None:
        """The order an orderId / orderLinkId names (orderId first), from the engine's book."""
        if params.get("orderId") not in (None, ""):
            oid = self.ids.engine(str(params["orderId"]))
            return self.sim._orders.get(oid) if oid is not None else None
        link = params.get("orderLinkId")
        if link in (None, ""):
            return None
        found = [o for o in self.sim.orders if self.links.get(o.order_id) == link]
        return max(found, key=lambda o: o.order_id) if found else None

    def _order_json(self, raw: Mapping[str, Any], order: SimOrder) -> Json:
        """A Binance order answer (possibly a lagging view) as Bybit's order object."""
        spec = order.spec
        status = raw["status"]
        filled = float(raw["executedQty"])
        qty = float(raw["origQty"])
        value = float(raw["cumQuote"])
        closed = status not in ("NEW", "PARTIALLY_FILLED")
        reject, cancel_type = "EC_NoError", "UNKNOWN"
        bybit_status = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled",
                        "FILLED": "Filled"}.get(status, "Cancelled")
        if bybit_status == "Cancelled":
            if filled > 0:
                bybit_status = "PartiallyFilledCanceled"
            if order.order_id in self.post_only_killed:
                reject = "EC_PostOnlyWillTakeLiquidity"
            elif status == "CANCELED":
                cancel_type = "CancelByUser"
            elif order.reduce_only:
                cancel_type = "CancelByReduceOnly"
        fee = sum(t.commission for t in self.sim.trades if t.order.order_id == order.order_id
                  and t.time <= int(raw["updateTime"]))
        leaves = 0.0 if closed else qty - filled
        is_limit = order.type == "LIMIT"
        return {
            "orderId": self.ids.out(order.order_id),
            "orderLinkId": self._link(order), "blockTradeId": "",
            "symbol": spec.id,
            "price": raw["price"] if is_limit else "0", "qty": spec.fmt_qty(qty),
            "side": "Buy" if order.side == "BUY" else "Sell", "isLeverage": "",
            "positionIdx": 0, "orderStatus": bybit_status, "createType": "CreateByUser",
            "cancelType": cancel_type, "rejectReason": reject,
            "avgPrice": spec.fmt_price(value / filled) if filled else "",
            "leavesQty": spec.fmt_qty(leaves),
            "leavesValue": fmt_num(leaves * order.price, 8) if is_limit else "0",
            "cumExecQty": spec.fmt_qty(filled), "cumExecValue": fmt_num(value, 8),
            "cumExecFee": fmt_num(fee, 8), "cumFeeDetail": {spec.quote: fmt_num(fee, 8)}
            if filled else {}, "timeInForce": "IOC" if not is_limit
            else _TIF.get(order.time_in_force, "GTC"),
            "orderType": "Limit" if is_limit else "Market", "stopOrderType": "",
            "orderIv": "", "marketUnit": "", "triggerPrice": "", "takeProfit": "",
            "stopLoss": "", "tpslMode": "", "ocoTriggerBy": "", "tpLimitPrice": "",
            "slLimitPrice": "", "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0,
            "triggerBy": "", "lastPriceOnCreated": "", "basePrice": "",
            "reduceOnly": order.reduce_only, "closeOnTrigger": False, "placeType": "",
            "smpType": "None", "smpGroup": 0, "smpOrderId": "",
            "slippageToleranceType": "UNKNOWN", "slippageTolerance": "0", "extraFees": "",
            "createdTime": str(order.time), "updatedTime": str(raw["updateTime"]),
        }

    def _state_json(self, order: SimOrder) -> Json:
        return self._order_json(order.to_binance(), order)

    def _closed_recent(self) -> list[SimOrder]:
        """The closed orders realtime still keeps (the newest 500, none before a restart)."""
        closed = [o for o in self.sim.orders
                  if not o.is_open and o.order_id not in self.forgotten]
        closed.sort(key=lambda o: (o.update_time, o.order_id), reverse=True)
        return closed[:REALTIME_CLOSED_KEPT]

    @staticmethod
    def _page(rows: list[Json], params: Mapping[str, Any], default: int, top: int) -> Json:
        limit = _limit(params, default, top)
        cursor = str(params.get("cursor") or "0")
        start = int(cursor) if cursor.isdigit() else 0
        page = rows[start:start + limit]
        more = start + limit < len(rows)
        return {"category": "linear", "list": page,
                "nextPageCursor": str(start + limit) if more else ""}

    # ------------------------------------------------------------------ create / cancel

    def _create(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params)
        spec = self.sim.specs[str(sid)]
        side = {"Buy": "BUY", "Sell": "SELL"}.get(str(params.get("side")))
        otype = {"Limit": "LIMIT", "Market": "MARKET"}.get(str(params.get("orderType")))
        if side is None or otype is None:
            raise BybitError(10001, "params error: side or orderType invalid")
        if any(params.get(k) not in (None, "") for k in ("triggerPrice", "takeProfit",
                                                         "stopLoss")):
            raise BybitError(10001, "SimExchange does not model conditional or TP/SL orders")
        # order/create-order positionIdx "0: one-way mode"; the account is one-way.
        if str(params.get("positionIdx", "0")) != "0":
            raise BybitError(10001, "position idx not match position mode")
        link = params.get("orderLinkId")
        if link is not None:
            link = str(link)
            if not LINK_ID_RE.match(link):
                raise BybitError(10001, "params error: orderLinkId invalid")
            if link in self.links.values() or any(o.client_order_id == link
                                                  for o in self.sim.orders):
                raise BybitError(110072, "OrderLinkedID is duplicate")
        tif = str(params.get("timeInForce") or "GTC").upper()
        if otype == "MARKET":
            tif = "GTC"  # "Market order will always use IOC" (the engine fills it at once)
        elif tif not in _TIF_IN:
            raise BybitError(10001, "params error: timeInForce invalid")
        qty = _float(params.get("qty"), "qty")
        # market/instrument lotSizeFilter: maxOrderQty (limit), maxMktOrderQty (market)
        if qty > (10000 if otype == "MARKET" else 100000):
            raise BybitError(10001, "The number of contracts exceeds maximum limit allowed: "
                                    "too large")
        reduce = params.get("reduceOnly") in (True, "true", "True", 1, "1")
        query: dict[str, Any] = {
            "symbol": spec.id, "side": side, "type": otype, "quantity": params.get("qty"),
            "reduceOnly": "true" if reduce else "false",
        }
        if otype == "LIMIT":
            query["price"] = params.get("price")
            query["timeInForce"] = _TIF_IN[tif]
        if link:
            query["newClientOrderId"] = link
        try:
            answer = self._engine("POST", "/fapi/v1/order", query)
        except Exception:
            # An answer lost or of unknown outcome: the order may be placed all the same, and
            # Bybit knows it by its orderLinkId (the engine holds it as the client order id).
            if link:
                for placed in self.sim.orders:
                    if placed.client_order_id == link:
                        self.links[placed.order_id] = link
            raise
        oid = int(answer["orderId"])
        if link:
            self.links[oid] = link
        if answer["status"] == "EXPIRED" and query.get("timeInForce") == "GTX":
            self.post_only_killed.add(oid)
        # order/create-order response: orderId, orderLinkId only ("This request is
        # asynchronous so please use the websocket to confirm the order status").
        return {"orderId": self.ids.out(oid), "orderLinkId": link or ""}

    def _cancel(self, params: dict[str, Any]) -> Json:
        self._category(params)
        sid = self._spec_id(params)
        query: dict[str, Any] = {"symbol": sid}
        if params.get("orderId") not in (None, ""):
            engine_id = self.ids.engine(str(params["orderId"]))
            if engine_id is None:  # a Bybit id the engine never issued: not found
                raise BybitError(110001, "Order does not exist")
            query["orderId"] = engine_id
        elif params.get("orderLinkId") not in (None, ""):
            order = self._find(params)
            if order is None:
                raise BybitError(110001, "Order does not exist")
            query["orderId"] = order.order_id
        else:
            raise BybitError(10001, "params error: orderId or orderLinkId is required")
        answer = self._engine("DELETE", "/fapi/v1/order", query)
        oid = int(answer["orderId"])
        return {"orderId": self.ids.out(oid), "orderLinkId": self.links.get(oid, "")}

    # ------------------------------------------------------------------ reads

    def _query_one(self, params: Mapping[str, Any]) -> tuple[SimOrder | None, Json | None]:
        """The engine's status answer (``GET /fapi/v1/order``) for an orderId/orderLinkId."""
        order = self._find(params)
        sid = self._spec_id(params, required=False)
        if order is None or (sid is not None and order.symbol != sid):
            return None, None
        status, body = self.sim.handle("GET", "/fapi/v1/order", {
            "symbol": order.symbol, "orderId": str(order.order_id)}, trusted=True)
        if status == 200:
            return order, body
        if body.get("code") == -2013 and archived(order, self.sim.now_ms):
            # Binance's archival is not Bybit's: the face applies Bybit's own retention.
            return order, order.to_binance()
        if body.get("code") == -2013:
            return order, None
        raise bybit_error(status, body)

    def _realtime(self, params: dict[str, Any]) -> Json:
        self._category(params)
        if params.get("orderId") not in (None, "") or params.get("orderLinkId") not in (None, ""):
            order, raw = self._query_one(params)
            if order is None or raw is None:
                return {"category": "linear", "list": [], "nextPageCursor": ""}
            if raw["status"] not in ("NEW", "PARTIALLY_FILLED") and order not in (
                    self._closed_recent()):
                return {"category": "linear", "list": [], "nextPageCursor": ""}
            return {"category": "linear", "list": [self._order_json(raw, order)],
                    "nextPageCursor": ""}
        sid = self._spec_id(params, required=False)
        if sid is None and not params.get("settleCoin") and not params.get("baseCoin"):
            raise BybitError(10001, "Missing some parameters that must be filled in, symbol "
                                    "or settleCoin or baseCoin")
        rows = self._engine("GET", "/fapi/v1/openOrders", {"symbol": sid})
        out = [(self.sim.order(r["orderId"]), r) for r in rows]
        if str(params.get("openOnly", "0")) in ("1", "2"):
            out += [(o, o.to_binance()) for o in self._closed_recent()
                    if sid is None or o.symbol == sid]
        out.sort(key=lambda pair: (pair[0].time, pair[0].order_id), reverse=True)
        return self._page([self._order_json(r, o) for o, r in out], params, 20, 50)

    def _history_keeps(self, order: SimOrder, status: str, filled: float) -> bool:
        age = self.sim.now_ms - order.time
        if status in ("NEW", "PARTIALLY_FILLED") or age > HISTORY_KEPT_MS:
            return False
        if filled <= 0 and status != "FILLED":
            return age <= CANCELLED_KEPT_MS
        return True

    def _history(self, params: dict[str, Any]) -> Json:
        self._category(params)
        if params.get("orderId") not in (None, "") or params.get("orderLinkId") not in (None, ""):
            order, raw = self._query_one(params)
            keep = raw is not None and order is not None and self._history_keeps(
                order, raw["status"], float(raw["executedQty"]))
            rows = [self._order_json(raw, order)] if keep and order is not None else []
            return {"category": "linear", "list": rows, "nextPageCursor": ""}
        start, end = _window(params, self.sim.now_ms)
        sid = self._spec_id(params, required=False)
        seen: dict[int, tuple[SimOrder, Json]] = {}
        for symbol in [sid] if sid else sorted(self.sim.specs):
            rows = self._engine("GET", "/fapi/v1/allOrders", {
                "symbol": symbol, "startTime": start, "endTime": end, "limit": 1000})
            seen.update({int(r["orderId"]): (self.sim.order(r["orderId"]), r) for r in rows})
        for order in self.sim.orders:  # kept by Bybit, archived by Binance's rules
            if (sid is None or order.symbol == sid) and start <= order.time <= end and (
                    order.order_id not in seen and archived(order, self.sim.now_ms)):
                seen[order.order_id] = (order, order.to_binance())
        wanted = params.get("orderStatus")
        out = []
        for order, raw in sorted(seen.values(), key=lambda p: (p[0].time, p[0].order_id),
                                 reverse=True):
            if not self._history_keeps(order, raw["status"], float(raw["executedQty"])):
                continue
            row = self._order_json(raw, order)
            if wanted in (None, "") or row["orderStatus"] == wanted:
                out.append(row)
        return self._page(out, params, 20, 50)

    def _executions(self, params: dict[str, Any]) -> Json:
        self._category(params)
        if params.get("orderId") not in (None, "") or params.get("orderLinkId") not in (None, ""):
            order = self._find(params)
            if order is None:
                return {"category": "linear", "list": [], "nextPageCursor": ""}
            rows = self._engine("GET", "/fapi/v1/userTrades", {
                "symbol": order.symbol, "orderId": order.order_id, "fromId": 0, "limit": 1000})
            if self.sim.readings.executions_by_order == "window":
                # ghostsim.readings: the 7-day default window applies to by-order queries too.
                since = self.sim.now_ms - WINDOW_MS
                rows = [r for r in rows if int(r["time"]) >= since]
        else:
            start, end = _window(params, self.sim.now_ms)
            sid = self._spec_id(params, required=False)
            rows = []
            for symbol in [sid] if sid else sorted(self.sim.specs):
                rows += self._engine("GET", "/fapi/v1/userTrades", {
                    "symbol": symbol, "startTime": start, "endTime": end, "limit": 1000})
        rows.sort(key=lambda r: (r["time"], r["id"]), reverse=True)
        return self._page([self._execution(r) for r in rows], params, 50, 100)

    def _execution(self, row: Mapping[str, Any]) -> Json:
        order = self.sim.order(row["orderId"])
        spec = order.spec
        qty, price = float(row["qty"]), float(row["price"])
        return {
            "symbol": spec.id, "orderId": self.ids.out(order.order_id),
            "orderLinkId": self.links.get(order.order_id, ""),
            "side": "Buy" if order.side == "BUY" else "Sell",
            "orderPrice": spec.fmt_price(order.price) if order.type == "LIMIT" else "0",
            "orderQty": spec.fmt_qty(order.orig_qty), "leavesQty": spec.fmt_qty(0),
            "createType": "CreateByUser", "orderType": order.type.capitalize(),
            "stopOrderType": "UNKNOWN", "execFee": row["commission"], "execFeeV2": "",
            "execId": str(row["id"]), "execPrice": row["price"], "execQty": row["qty"],
            "execType": "Trade", "execValue": fmt_num(qty * price, 8),
            "execTime": str(row["time"]), "feeCurrency": spec.quote, "isMaker": row["maker"],
            "feeRate": str(MAKER_FEE if row["maker"] else TAKER_FEE), "tradeIv": "",
            "markIv": "", "markPrice": row["price"], "indexPrice": "", "underlyingPrice": "",
            "blockTradeId": "", "closedSize": "", "seq": int(row["id"]), "extraFees": "",
        }


__all__ = ["BybitError", "BybitOrdersMixin", "REALTIME_CLOSED_KEPT", "bybit_error", "fmt_num"]
