"""OKX v5 trade endpoints of the OKX face: place / cancel orders, order details, pending and
historical orders, fills. Amounts are contracts on the wire, base quantities in the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ghostsim.market import SymbolSpec
from ghostsim.venues.okx_answers import (
    ARCHIVE_MS,
    CANCEL_BY_SYSTEM,
    CANCEL_BY_USER,
    CANCEL_FOK,
    CANCEL_IOC,
    CANCEL_POST_ONLY,
    CANCEL_REDUCE_ONLY,
    CANCELED_UNFILLED_MS,
    CLORDID_RE,
    FILLS_HISTORY_MS,
    FILLS_MS,
    HISTORY_MS,
    PAGE_LIMIT,
    EngineError,
    OkxError,
    contracts_to_base,
    fill_row,
    generic_error,
    lot_size,
    on_lot,
    order_error,
    order_row,
)


if TYPE_CHECKING:
    from ghostsim.book import SimOrder
    from ghostsim.engine import SimExchange
    from ghostsim.venues.ids import VenueIds


Json = Any
Params = Mapping[str, Any]

# Trade > Place order, ordType: "market", "limit", "post_only" ("Post-only order"), "fok",
# "ioc", "optimal_limit_ioc" ("Market order with immediate-or-cancel order (applicable only to
# Expiry Futures and Perpetual Futures)") -> the engine's (type, timeInForce).
ORD_TYPES: dict[str, tuple[str, str | None]] = {
    "limit": ("LIMIT", "GTC"), "post_only": ("LIMIT", "GTX"), "ioc": ("LIMIT", "IOC"),
    "fok": ("LIMIT", "FOK"), "market": ("MARKET", None), "optimal_limit_ioc": ("MARKET", None),
}


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _int(params: Params, key: str) -> int | None:
    raw = params.get(key)
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise OkxError("51000", param=key)
    return int(str(raw))


def _page(rows: list[Json], key: str, params: Params, limit: int) -> list[Json]:
    """OKX paging: ``after`` = records earlier (smaller id) than, ``before`` = newer than;
    newest first. With only ``before``, the records right after it (oldest first taken)."""
    after, before = _int(params, "after"), _int(params, "before")
    rows = sorted(rows, key=lambda r: int(r[key]), reverse=True)
    if after is not None:
        rows = [r for r in rows if int(r[key]) < after]
    if before is not None:
        rows = [r for r in rows if int(r[key]) > before]
        if after is None:
            return rows[-limit:]
    return rows[:limit]


class TradeMixin:
    """Trade endpoints."""

    sim: SimExchange
    anonymous: set[int]
    user_canceled: set[int]
    post_only_canceled: set[int]
    ids: VenueIds
    engine: Callable[[str, str, Mapping[str, str]], Json]
    call: Callable[[str, str, Mapping[str, str]], Json]
    spec_of: Callable[..., SymbolSpec]
    specs_of: Callable[[Params], list[SymbolSpec]]

    def trade_routes(self) -> dict[tuple[str, str], tuple[Callable[[Any], Json], bool]]:
        return {
            ("POST", "trade/order"): (lambda p: [self._place(p)], True),
            ("POST", "trade/batch-orders"): (lambda p: [self._place(x) for x in p], True),
            ("POST", "trade/cancel-order"): (lambda p: [self._cancel(p)], True),
            ("POST", "trade/cancel-batch-orders"): (lambda p: [self._cancel(x) for x in p],
                                                    True),
            ("GET", "trade/order"): (self._order, True),
            ("GET", "trade/orders-pending"): (self._pending, True),
            ("GET", "trade/orders-history"): (lambda p: self._history(p, HISTORY_MS), True),
            ("GET", "trade/orders-history-archive"): (
                lambda p: self._history(p, ARCHIVE_MS), True),
            ("GET", "trade/fills"): (lambda p: self._fills(p, FILLS_MS, False), True),
            ("GET", "trade/fills-history"): (lambda p: self._fills(p, FILLS_HISTORY_MS, True),
                                             True),
        }

    # ------------------------------------------------------------------ place

    def _place(self, params: Params) -> Json:
        """One order of Place order / Place multiple orders; an order-level refusal is a row
        with its sCode (the face turns the answer's code into "1" / "2")."""
        cl = str(params.get("clOrdId") or "")
        try:
            order_id = self._place_checked(params, cl)
        except OkxError as err:
            if not err.order_level:
                raise
            return {"clOrdId": cl, "ordId": "", "tag": str(params.get("tag") or ""),
                    "ts": str(self.sim.now_ms), "sCode": err.code, "sMsg": err.msg}
        return {"clOrdId": cl, "ordId": self.ids.out(order_id),
                "tag": str(params.get("tag") or ""),
                "ts": str(self.sim.now_ms), "sCode": "0", "sMsg": "Order placed"}

    def _place_checked(self, params: Params, cl: str) -> int:
        spec = self.spec_of(params, order_level=True)
        # clOrdId: "A combination of case-sensitive alphanumerics, all numbers, or all letters
        # of up to 32 characters." -> 51000 "Parameter clOrdId error".
        if cl and not CLORDID_RE.match(cl):
            raise order_error("51000", "clOrdId")
        # ghostsim.readings client_id_reuse "strict": 51016 "Client order ID already exists."
        # for any earlier order with this clOrdId, not only an open one (its scope is not
        # documented; the engine's own check refuses it while an open order holds it).
        if cl and self.sim.readings.client_id_reuse == "strict" and any(
                o.client_order_id == cl and o.order_id not in self.anonymous
                for o in self.sim.orders):
            raise order_error("51016")
        if str(params.get("tdMode") or "") != "isolated":
            raise order_error("51000", "tdMode")  # the simulated account is isolated only
        if str(params.get("posSide") or "net") != "net":
            raise order_error("51000", "posSide")  # net mode: posSide net or absent
        side = str(params.get("side") or "")
        if side not in ("buy", "sell"):
            raise order_error("51000", "side")
        kind = ORD_TYPES.get(str(params.get("ordType") or ""))
        if kind is None:
            raise order_error("51000", "ordType")
        try:
            contracts = float(str(params.get("sz")))
        except ValueError as err:
            raise order_error("51000", "sz") from err
        if contracts <= 0:
            raise order_error("51000", "sz")
        # Get instruments: lotSz "Lot size"; minSz "Minimum order size" (contracts). Place
        # order answers 51121 "Order quantity must be a multiple of the lot size." and 51020
        # "Your order should meet or exceed the minimum order amount."
        if not on_lot(spec, contracts):
            raise order_error("51121")
        if contracts < lot_size(spec) - 1e-12:
            raise order_error("51020")
        otype, tif = kind
        query = {"symbol": spec.id, "side": side.upper(), "type": otype,
                 "quantity": spec.fmt_qty(contracts_to_base(spec, contracts)),
                 "reduceOnly": "true" if _flag(params.get("reduceOnly")) else "false"}
        if otype == "LIMIT":
            if params.get("px") in (None, ""):
                raise order_error("51000", "px")
            query["price"] = str(params["px"])
            query["timeInForce"] = str(tif)
        if cl:
            query["newClientOrderId"] = cl
        try:
            answer = self.engine("POST", "/fapi/v1/order", query)
        except EngineError as err:
            raise self._place_error(err, spec, side) from err
        order_id = int(answer["orderId"])
        if not cl:
            self.anonymous.add(order_id)
        if answer["status"] == "EXPIRED" and tif == "GTX":
            self.post_only_canceled.add(order_id)
        return order_id

    def _place_error(self, err: EngineError, spec: SymbolSpec, side: str) -> OkxError:
        codes = {-4116: "51016", -2019: "51008", -4164: "51020", -4003: "51020",
                 -1111: "51121", -1121: "51001"}
        params = {-4014: "px", -1100: "clOrdId", -4061: "posSide", -1116: "ordType",
                  -1102: "sz"}
        if err.code in codes:
            return order_error(codes[err.code])
        if err.code in params:
            return order_error("51000", params[err.code])
        if err.code == -2022:
            # reduceOnly: 51169 "... you don't have any positions in this direction for this
            # contract to reduce or close."; 51170 "A reduce-only order can't be the same
            # trading direction as your existing position."; larger than the position: the
            # engine refuses (not documented for net mode; 51112 "Close order size exceeds
            # your available size.").
            pos = self.sim.positions[spec.id].qty
            if pos == 0:
                return order_error("51169")
            if (pos > 0) == (side == "buy"):
                return order_error("51170")
            return order_error("51112")
        return generic_error(err)

    # ------------------------------------------------------------------ cancel

    def _cancel(self, params: Params) -> Json:
        """Cancel order: "Cancel an incomplete order." A gone order: 51400 "Order cancellation
        failed as the order has been filled, canceled or does not exist."""
        spec = self.spec_of(params, order_level=True)
        query = self._locate(spec, params, order_level=True)
        try:
            answer = self.engine("DELETE", "/fapi/v1/order", query)
        except EngineError as err:
            if err.code not in (-2011, -2013):
                raise generic_error(err) from err
            code = "51400"  # filled, canceled or unknown alike (51401/51402: Nitro Spread)
            return {"clOrdId": str(params.get("clOrdId") or ""),
                    "ordId": str(params.get("ordId") or ""), "ts": str(self.sim.now_ms),
                    "sCode": code, "sMsg": OkxError(code).msg}
        self.user_canceled.add(int(answer["orderId"]))
        return {"clOrdId": str(answer["clientOrderId"]),
                "ordId": self.ids.out(int(answer["orderId"])),
                "ts": str(self.sim.now_ms), "sCode": "0", "sMsg": ""}

    def _locate(self, spec: SymbolSpec, params: Params, *, order_level: bool) -> dict[str, str]:
        query = {"symbol": spec.id}
        if params.get("ordId"):
            if not str(params["ordId"]).isdigit():
                raise OkxError("51000", param="ordId", order_level=order_level)
            engine_id = self.ids.engine(str(params["ordId"]))
            query["orderId"] = "0" if engine_id is None else str(engine_id)  # "0": not found
        elif params.get("clOrdId"):
            query["origClientOrderId"] = str(params["clOrdId"])
        else:
            raise OkxError("50014", param="ordId", order_level=order_level)
        return query

    # ------------------------------------------------------------------ read orders

    def _row(self, spec: SymbolSpec, binance: Json) -> Json:
        oid = int(binance["orderId"])
        order = self.sim.order(oid)
        filled = float(binance["executedQty"])
        fills = [t for t in self.sim.trades if t.order.order_id == oid
                 and t.time <= int(binance["updateTime"])] if filled else []
        row = order_row(spec, binance, cl_ord_id="" if oid in self.anonymous
                        else str(binance["clientOrderId"]),
                        cancel_source=self._cancel_source(order, binance),
                        fee=sum(t.commission for t in fills),
                        last_fill=fills[-1].to_binance() if fills else None)
        row["ordId"] = self.ids.out(oid)
        row["lever"] = str(self.sim.positions[spec.id].leverage)
        row["cTime"] = str(order.time)
        return row

    def _cancel_source(self, order: SimOrder, binance: Json) -> str:
        if binance["status"] == "CANCELED":
            return CANCEL_BY_USER if order.order_id in self.user_canceled else CANCEL_BY_SYSTEM
        if order.order_id in self.post_only_canceled or (
                order.time_in_force == "GTX" and order.executed_qty == 0
                and order.update_time == order.time):
            return CANCEL_POST_ONLY
        if order.reduce_only:
            return CANCEL_REDUCE_ONLY
        return {"IOC": CANCEL_IOC, "FOK": CANCEL_FOK}.get(order.time_in_force, CANCEL_BY_SYSTEM)

    def _order(self, params: Params) -> Json:
        """Get order details; not found: 51603 "Order does not exist". A canceled order with no
        fill is kept 2 hours (okx_answers.CANCELED_UNFILLED_MS)."""
        spec = self.spec_of(params)
        query = self._locate(spec, params, order_level=False)
        try:
            binance = self.engine("GET", "/fapi/v1/order", query)
        except EngineError as err:
            if err.code == -2013:
                raise OkxError("51603") from err
            raise generic_error(err) from err
        row = self._row(spec, binance)
        if self._expired_from_history(row, 0):
            raise OkxError("51603")
        return [row]

    def _expired_from_history(self, row: Json, window_ms: int) -> bool:
        now = self.sim.now_ms
        if row["state"] == "canceled" and float(row["accFillSz"]) == 0 \
                and int(row["uTime"]) + CANCELED_UNFILLED_MS < now:
            return True
        return bool(window_ms) and int(row["uTime"]) + window_ms < now

    def _pending(self, params: Params) -> Json:
        """Get order List: "Retrieve all incomplete orders under the current account."; paging
        by ordId (after / before), limit max 100."""
        if str(params.get("instType") or "SWAP") != "SWAP":
            return []
        specs = self.specs_of(params)
        query = {"symbol": specs[0].id} if params.get("instId") else {}
        rows = [self._row(self.sim.specs[b["symbol"]], b)
                for b in self.call("GET", "/fapi/v1/openOrders", query)]
        rows = self._filter(rows, params)
        return _page(rows, "ordId", params, self._limit(params))

    def _history(self, params: Params, window_ms: int) -> Json:
        """Get order history (last 7 days / last 3 months): completed orders (filled or
        canceled) placed or completed in the window; canceled with no fill: 2 hours."""
        if not params.get("instType"):
            raise OkxError("50014", param="instType")
        if params["instType"] != "SWAP":
            return []
        rows = []
        for spec in self.specs_of(params):
            for binance in self.call("GET", "/fapi/v1/allOrders",
                                     {"symbol": spec.id, "orderId": "0", "limit": "1000"}):
                if binance["status"] in ("NEW", "PARTIALLY_FILLED"):
                    continue
                row = self._row(spec, binance)
                if not self._expired_from_history(row, window_ms):
                    rows.append(row)
        rows = self._filter(rows, params)
        begin, end = _int(params, "begin"), _int(params, "end")
        rows = [r for r in rows if (begin is None or int(r["cTime"]) >= begin)
                and (end is None or int(r["cTime"]) <= end)]
        return _page(rows, "ordId", params, self._limit(params))

    @staticmethod
    def _filter(rows: list[Json], params: Params) -> list[Json]:
        for key in ("ordType", "state"):
            if params.get(key):
                rows = [r for r in rows if r[key] == params[key]]
        return rows

    @staticmethod
    def _limit(params: Params) -> int:
        limit = _int(params, "limit")
        return PAGE_LIMIT if limit is None else max(1, min(limit, PAGE_LIMIT))

    # ------------------------------------------------------------------ fills

    def _fills(self, params: Params, window_ms: int, type_required: bool) -> Json:
        """Get transaction details (last 3 days / last 3 months): paging by billId (after /
        before) and ts (begin / end), newest first, limit max 100; fills-history requires
        instType."""
        if type_required and not params.get("instType"):
            raise OkxError("50014", param="instType")
        if str(params.get("instType") or "SWAP") != "SWAP":
            return []
        rows = []
        for spec in self.specs_of(params):
            query = {"symbol": spec.id, "fromId": "0", "limit": "1000"}
            if params.get("ordId"):
                engine_id = self.ids.engine(str(_int(params, "ordId")))
                query["orderId"] = "0" if engine_id is None else str(engine_id)
            while True:
                page = self.call("GET", "/fapi/v1/userTrades", query)
                for trade in page:
                    order = self.sim.order(trade["orderId"])
                    cl = "" if order.order_id in self.anonymous else order.client_order_id
                    row = fill_row(spec, trade, cl)
                    row["ordId"] = self.ids.out(order.order_id)
                    rows.append(row)
                if len(page) < 1000:
                    break
                query["fromId"] = str(int(page[-1]["id"]) + 1)
        begin, end = _int(params, "begin"), _int(params, "end")
        since = self.sim.now_ms - window_ms
        rows = [r for r in rows if int(r["ts"]) >= since
                and (begin is None or int(r["ts"]) >= begin)
                and (end is None or int(r["ts"]) <= end)]
        return _page(rows, "billId", params, self._limit(params))


__all__ = ["ORD_TYPES", "TradeMixin"]
