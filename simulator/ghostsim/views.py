"""Lagging views: what the REST read endpoints show may trail the matching engine.

Binance USD-M documents the position endpoint (trade/rest-api/Position-Information-V3) with:
"Please use with user data stream ACCOUNT_UPDATE to meet your timeliness and accuracy needs." --
a REST read is not guaranteed to show the latest fill. The fault ``fault_lagging_views(seconds)``
makes ``positionRisk`` (v2/v3), ``openOrders``/``openOrder`` and ``GET order`` answer the state
as it was ``seconds`` sim seconds ago (per view: ``views=("position",)`` etc.). Without the fault
every view is the engine's truth. ``fault_lagging_trades(seconds)`` does the same to the trade
list (``userTrades``, from which every venue face's trades read is made): no venue promises that
a fill is listed the moment it happens, and the guard reads the trades exactly when the other
views may be wrong.

The engine records a snapshot of an order at every change (``SimOrder.history``) and of a
position at every fill (``Position.history`` + ``_entry_history``), so a view at time t is the
last snapshot at or before t. An order with no snapshot yet at t is not found (-2013), as an order
Binance's query service has not seen yet.
"""

from __future__ import annotations

from typing import Any

from ghostsim.book import OPEN_STATUSES, SimOrder
from ghostsim.market import SymbolSpec


VIEWS = ("position", "open_orders", "order")


class ViewsMixin:
    """Snapshots of orders and positions, read back with the configured lag."""

    def _lag_ms(self, view: str) -> int:
        return self.faults.view_lag_ms.get(view, 0)

    def _snapshot(self, order: SimOrder) -> None:
        order.history.append((self.now_ms, order.to_binance()))

    def _order_view(self, order: SimOrder, view: str = "order") -> dict[str, Any] | None:
        """The order as the view shows it now (None: the view does not know it yet)."""
        lag = self._lag_ms(view)
        if lag <= 0 or not order.history:
            return order.to_binance()
        at = self.now_ms - lag
        seen = None
        for t, snap in order.history:
            if t > at:
                break
            seen = snap
        return dict(seen) if seen is not None else None

    def _open_view(self, spec_id: str | None) -> list[dict[str, Any]]:
        """openOrders: the delayed-visibility fault and the lag both apply."""
        rows = []
        candidates = [o for o in self._orders.values() if spec_id is None or o.symbol == spec_id]
        for order in sorted(candidates, key=lambda o: o.order_id):
            if order.visible_at > self.now_ms:
                continue
            snap = self._order_view(order, "open_orders")
            if snap is not None and snap["status"] in OPEN_STATUSES:
                rows.append(snap)
        return rows

    def _position_view(self, spec: SymbolSpec) -> tuple[float, float]:
        """(signed quantity, entry price) as the position view shows them now."""
        pos = self.positions[spec.id]
        lag = self._lag_ms("position")
        if lag <= 0:
            return pos.qty, pos.entry_price
        at = self.now_ms - lag
        qty, entry = 0.0, 0.0
        for (t, q), e in zip(pos.history, self._entry_history.get(spec.id, []), strict=False):
            if t > at:
                break
            qty, entry = q, e
        return qty, entry


__all__ = ["VIEWS", "ViewsMixin"]
