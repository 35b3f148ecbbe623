"""The simulated exchange's deterministic controls (``sim.advance``, ``sim.fill_order`` ...),
order look-ups that accept the venue's ids, and the request-budget accessors."""

from __future__ import annotations

from typing import Any

from ghostsim.book import SimOrder


class ControlsMixin:
    """Test controls on the engine; every ``order_id`` is the engine's or the venue's id."""

    # ------------------------------------------------------------------ ids

    def engine_order_id(self, order_id: int | str) -> int:
        """The engine's id of an order given by its engine id or (``venue_ids=True``) by the
        id the venue face shows (a Bybit UUID, an OKX ordId)."""
        if isinstance(order_id, int):
            return order_id
        ids = getattr(self.face, "ids", None)
        if ids is not None:
            mapped = ids.engine(str(order_id))
            if mapped is not None:
                return mapped
        return int(order_id)

    def venue_order_id(self, order_id: int | str) -> str:
        """The id the venue face shows for an order (the engine's id as a string on Binance,
        and on every venue unless ``venue_ids=True``)."""
        oid = self.engine_order_id(order_id)
        ids = getattr(self.face, "ids", None)
        return ids.out(oid) if ids is not None else str(oid)

    def order(self, order_id: int | str) -> SimOrder:
        return self._orders[self.engine_order_id(order_id)]

    # ------------------------------------------------------------------ deterministic controls

    def advance(self, seconds: float) -> None:
        """Move the sim clock forward (never backward)."""
        with self._lock:
            self.now_ms += max(0, int(seconds * 1000))

    def set_time(self, time_ms: int) -> None:
        with self._lock:
            self.now_ms = max(self.now_ms, int(time_ms))

    def set_price(self, symbol: str, price: float) -> None:
        """Move the book; resting limit orders whose price is reached fill fully at their price."""
        with self._lock:
            spec = self.spec(symbol)
            self.paths[spec.id].set(self.now_ms, spec.round_price(price))
            self._log("price", spec.id, price=spec.round_price(price))
            price = spec.round_price(price)
            for order in sorted(self.open_orders(spec.id), key=lambda o: o.order_id):
                if order.order_id in self.held or not order.is_open:
                    continue
                if order.type == "LIMIT" and self._reached(order, price):
                    qty = order.remaining
                    if self.touch_fill_qty is not None and price == order.price:
                        qty = min(qty, self.touch_fill_qty)  # touched, not traded through
                    self._fill(order, qty, order.price, maker=True)
            self._trigger_algo(spec)

    def fill_order(self, order_id: int | str, qty: float | None = None) -> SimOrder:
        """Fill an open order fully or partially at its own price (as maker)."""
        with self._lock:
            order = self.order(order_id)
            if not order.is_open:
                raise ValueError(f"order {order_id} is {order.status}")
            amount = order.remaining if qty is None else min(qty, order.remaining)
            self._fill(order, amount, order.price, maker=True)
            return order

    def hold_order(self, order_id: int | str) -> None:
        """The price path never fills this order (it rests until closed some other way)."""
        self.held.add(self.engine_order_id(order_id))

    def place_order(
        self,
        symbol: str,
        side: str,
        qty: float,
        price: float,
        *,
        reduce_only: bool = False,
        client_order_id: str | None = None,
    ) -> SimOrder:
        """Place a resting GTC limit order directly (one the bot does not know about)."""
        with self._lock:
            spec = self.spec(symbol)
            params = {"symbol": spec.id, "side": side.upper(), "type": "LIMIT",
                      "timeInForce": "GTC", "quantity": spec.fmt_qty(qty),
                      "price": spec.fmt_price(spec.round_price(price)),
                      "reduceOnly": str(reduce_only).lower()}
            if client_order_id:
                params["newClientOrderId"] = client_order_id
            answer = self._create_order(params, faults=False)
            return self._orders[int(answer["orderId"])]

    def expire_order(self, order_id: int | str) -> SimOrder:
        return self._close_order(order_id, "EXPIRED")

    def cancel_on_exchange(self, order_id: int | str) -> SimOrder:
        return self._close_order(order_id, "CANCELED")

    def age_order(self, order_id: int | str, seconds: float) -> SimOrder:
        """Make an order look older (shift its creation time back)."""
        with self._lock:
            order = self.order(order_id)
            order.time -= int(seconds * 1000)
            return order

    # ------------------------------------------------------------------ request budget

    def enforce_rate_limits(self, on: bool = True, *, share: float = 1.0) -> None:
        """Answer the venue's rate-limit errors when a request is over its documented budget
        (ghostsim.ratelimits). Counting is always on; enforcing is off by default. ``share``
        (0, 1]: the part of each budget this client has, other bots on the same IP and
        account using the rest (each limit cut to it, at least one request)."""
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        with self._lock:
            self.rate.enforced = bool(on)
            self.rate.share = float(share)

    def weight_used(self) -> int:
        """The request weight this run has used (Binance: the venue's weights; Bybit, OKX:
        one per request, as they count), every request since the start or ``reset_weight``."""
        return int(self.rate.total)

    def weight_per_minute_max(self) -> int:
        """The most weight used in any one sim-clock minute (Binance's 1-minute interval)."""
        return int(self.rate.usage()["per_minute_max"])

    def rate_usage(self) -> dict[str, Any]:
        """Everything counted: venue, unit, total, per-minute max, per endpoint, refusals."""
        return self.rate.usage()

    def reset_weight(self) -> None:
        with self._lock:
            self.rate.reset()


__all__ = ["ControlsMixin"]
