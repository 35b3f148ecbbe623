"""Fills, closes and the reduce-only rule of the simulated exchange's matching engine."""

from __future__ import annotations

from ghostsim.book import MAKER_FEE, TAKER_FEE, SimOrder, SimTrade
from ghostsim.market import SymbolSpec


def reduces(side: str, position: float) -> bool:
    return (position > 0 and side == "SELL") or (position < 0 and side == "BUY")


class MatchingMixin:
    """``_fill`` / ``_set_closed`` and what a position change does to reduce-only orders.

    Reduce-only (Binance USD-M, trade/rest-api/New-Order: reduceOnly "true" / "false"; -2022
    "ReduceOnly Order is rejected." when it cannot reduce; Binance's futures FAQ on reduce-only:
    the order "will only reduce your position" and resting reduce-only orders are cancelled when
    the position they would reduce is closed or reversed). Modelled as:

    - at placement: -2022 unless it reduces and its quantity is within the position
      (``OrdersMixin._check_reduce_only``);
    - at a fill: a reduce-only order fills at most the position it reduces; the rest of it
      EXPIRES (it never opens or flips a position);
    - after every position change: a resting reduce-only order that no longer reduces (position
      zero or on its side) or that is larger than the whole position EXPIRES (status EXPIRED,
      the status Binance gives orders "canceled ... by the exchange").

    Not modelled: Binance may instead shrink a resting reduce-only order's quantity to the
    position; the simulator always expires it (the stricter outcome for a bot: the order is gone).
    """

    def _trigger_algo(self, spec: SymbolSpec) -> None:
        """Overridden by the algo-order mixin (stop orders triggered by the price)."""

    def _fill(self, order: SimOrder, qty: float, price: float, *, maker: bool) -> None:
        spec = order.spec
        qty = round(qty, spec.qty_decimals)
        if qty <= 0:
            return
        position = self.positions[spec.id]
        if order.reduce_only:
            room = abs(position.qty) if reduces(order.side, position.qty) else 0.0
            if qty > room + spec.step / 2:
                qty = round(room, spec.qty_decimals)
                if qty <= 0:
                    self._set_closed(order, "EXPIRED")
                    return
        realized = position.apply_fill(order.side, qty, price, spec.qty_decimals)
        commission = qty * price * (MAKER_FEE if maker else TAKER_FEE)
        self.wallet_balance += realized - commission
        order.executed_qty = round(order.executed_qty + qty, spec.qty_decimals)
        order.cum_quote += qty * price
        order.status = "FILLED" if order.remaining <= 0 else "PARTIALLY_FILLED"
        order.update_time = self.now_ms
        position.update_time = self.now_ms
        position.history.append((self.now_ms, position.qty))
        self._entry_history.setdefault(spec.id, []).append(position.entry_price)
        self._next_trade_id += 1
        trade = SimTrade(
            self._next_trade_id, order, price, qty, commission, realized, self.now_ms, maker
        )
        self._trades.append(trade)
        self._snapshot(order)
        self._log(
            "fill",
            spec.id,
            order_id=order.order_id,
            side=order.side,
            qty=qty,
            price=price,
            maker=maker,
            realized_pnl=realized,
            status=order.status,
            position=position.qty,
        )
        if order.reduce_only and order.is_open and order.remaining > abs(position.qty) and (
                self.readings.reduce_only_oversize != "trim"):
            self._set_closed(order, "EXPIRED")
        self._sweep_reduce_only(spec)

    def _sweep_reduce_only(self, spec: SymbolSpec) -> None:
        """Resting reduce-only orders that can no longer reduce the position expire; one larger
        than the position expires too, or (``readings.reduce_only_oversize == "trim"``) is
        trimmed to it (ghostsim.readings)."""
        pos = self.positions[spec.id].qty
        for order in sorted(self.open_orders(spec.id), key=lambda o: o.order_id):
            if not order.reduce_only:
                continue
            if reduces(order.side, pos) and order.remaining > abs(pos) + spec.step / 2 and (
                    self.readings.reduce_only_oversize == "trim"):
                order.orig_qty = round(order.executed_qty + abs(pos), spec.qty_decimals)
                order.update_time = self.now_ms
                self._snapshot(order)
                self._log("reduce_only_trimmed", spec.id, order_id=order.order_id, position=pos)
                continue
            if not reduces(order.side, pos) or order.remaining > abs(pos) + spec.step / 2:
                self._log("reduce_only_expired", spec.id, order_id=order.order_id, position=pos)
                self._set_closed(order, "EXPIRED")

    def _close_order(self, order_id: int | str, status: str) -> SimOrder:
        with self._lock:
            order = self.order(order_id)
            if not order.is_open:
                raise ValueError(f"order {order_id} is {order.status}")
            self._set_closed(order, status)
            return order

    def _set_closed(self, order: SimOrder, status: str) -> None:
        order.status = status
        order.update_time = self.now_ms
        self._snapshot(order)
        self._log(status.lower(), order.symbol, order_id=order.order_id, side=order.side,
                  executed=order.executed_qty)


__all__ = ["MatchingMixin", "reduces"]
