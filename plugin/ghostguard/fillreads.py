"""What the exchange shows of a pair's fills that Freqtrade's trades do not hold: the reads of
`adoption.Reconciler`, each turned into `reconcile.UnownedFill`s for `reconcile.plan`.

- `unowned`: the account's latest fills of the pair (one request) beyond what the database
  booked; an order the database does not hold is read once (whose client id it carries).
- `beyond_list`: an order the fills list holds less of than the database booked (its older
  fills fell out of the list).
- `remembered`: gone orders the guard remembers, read by id over their whole life, when the
  list does not explain the gap.
- `forgotten`: an exit the venue no longer knows at all (placed before its history), when the
  trades hold exactly its remainder more than the exchange.
- `siblings`: spot, another bot's fills of the pair's base asset through another quote (the
  base balance is the position), when nothing else explains the gap.

`fetched` collects, per order id, the venue's answer (or None) and `"<id>:fill"` = (filled,
cost, side) for the booking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from freqtrade.exceptions import InvalidOrderException

from ghostguard import ftmodel, identity, reconcile, unified
from ghostguard.context import GuardContext, safe
from ghostguard.records import OrderRecord


SIBLING_ORDERS = 20  # orders of other markets of one base read per reconciliation, at most


def _ms(when: Any) -> int:
    if when is None:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


class FillReads:
    def __init__(self, ctx: GuardContext) -> None:
        self.ctx = ctx

    # --- reads --------------------------------------------------------------------------

    def unowned(
        self, pair: str, tolerance: float, fetched: dict[str, Any]
    ) -> list[reconcile.UnownedFill]:
        fills = self.ctx.venue.pair_fills(pair)
        fetched["__listed__"] = set(fills)
        # A stop order on the exchange (Binance's Algo API) fills through the order it places
        # when triggered; Freqtrade books that fill on the stop's row, under the stop's id.
        stops = [
            (1.0 if row.side == "buy" else -1.0) * row.safe_filled
            for row in ftmodel.stop_rows(pair)
            if row.safe_filled > 0 and str(row.order_id) not in fills
        ]
        unowned = []
        for order_id, trades in fills.items():
            row = ftmodel.db_order(order_id)
            if row is not None and row.ft_is_open and row.trade is not None and (
                row.trade.is_open
            ):
                continue  # Freqtrade books an open trade's open order's fills itself
            moved = sum(t[0] for t in trades)
            filled, cost = sum(t[1] for t in trades), sum(t[2] for t in trades)
            delta = moved
            if row is not None:
                sign = 1.0 if row.side == "buy" else -1.0
                fee = (row.ft_fee_base or 0.0) if row.side == "buy" else 0.0
                held = sign * row.safe_filled - fee
                delta = moved - held
                if abs(moved) < abs(held) - tolerance:
                    filled, cost, delta = self.beyond_list(order_id, pair, row, trades, sign)
            if abs(delta) <= tolerance:
                continue
            if row is None:
                booked_as_stop = next((v for v in stops if abs(v - delta) <= tolerance), None)
                if booked_as_stop is not None:
                    stops.remove(booked_as_stop)
                    continue
            ours, owner = row is not None, "own"
            if row is None:
                answer = safe(self.ctx.venue.fetch_order, order_id, pair)
                fetched[order_id] = answer
                client_id = str(answer.get("clientOrderId") or "") if isinstance(
                    answer, dict) else ""
                owner = identity.owner(client_id, self.ctx.own_prefix)
                ours = self.ctx.own_tag(client_id) or self.ctx.store.order(order_id) is not None
            fetched.setdefault(order_id, None)
            fetched[f"{order_id}:fill"] = (filled, cost, "buy" if moved > 0 else "sell")
            unowned.append(reconcile.UnownedFill(
                order_id, delta, ours, row is not None, other_bot=owner == "guard_bot"
            ))
        return unowned

    def siblings(self, pair: str, tolerance: float) -> list[reconcile.UnownedFill]:
        """Spot: fills of another bot's guard (its tag) on the other markets of the pair's base
        asset whose quote the account holds; they change the base balance this pair's position
        is read from. Never booked here: at most `SIBLING_ORDERS` of their orders are read."""
        exchange = self.ctx.venue.exchange
        found: list[reconcile.UnownedFill] = []
        if not unified.same_base_pairs(exchange.markets, pair, None):
            return found  # no other market of the base: nothing to read
        budget = SIBLING_ORDERS
        for sibling in unified.same_base_pairs(exchange.markets, pair, exchange.get_balances()):
            for order_id, trades in self.ctx.venue.pair_fills(sibling).items():
                delta = sum(t[0] for t in trades)
                if abs(delta) <= tolerance or budget <= 0:
                    continue
                budget -= 1
                answer = safe(self.ctx.venue.fetch_order, order_id, sibling)
                client_id = str(answer.get("clientOrderId") or "") if isinstance(
                    answer, dict) else ""
                if identity.owner(client_id, self.ctx.own_prefix) == "guard_bot":
                    found.append(reconcile.UnownedFill(
                        f"{order_id} ({sibling})", delta, ours=False, booked_row=False,
                        other_bot=True,
                    ))
        return found

    def beyond_list(
        self, order_id: str, pair: str, row: Any, trades: list[Any], sign: float
    ) -> tuple[float, float, float]:
        """(filled, cost, position change beyond the booked fill) of an order the fills list
        holds less of than the database booked: the list lacks its older fills. Its own trades,
        by id, when the venue still holds all of them (no clock compared); else, beyond the
        venue's history, what the list shows after the database last booked the order."""
        if self.ctx.venue.fills_complete(row.order_date_utc):
            traded, traded_cost = self.ctx.venue.traded(order_id, pair, row.order_date_utc)
            filled = max(traded, row.safe_filled)
            cost = traded_cost if traded_cost and traded >= row.safe_filled else (
                row.safe_price * filled
            )
            return filled, cost, sign * (filled - row.safe_filled)
        after = _ms(row.order_update_date or row.order_date)
        late = [t for t in trades if t[3] > after]
        filled = row.safe_filled + sum(t[1] for t in late)
        cost = row.safe_price * row.safe_filled + sum(t[2] for t in late)
        return filled, cost, sum(t[0] for t in late)

    def remembered(
        self, pair: str, tolerance: float, fetched: dict[str, Any]
    ) -> list[reconcile.UnownedFill]:
        """Fills of gone orders of the pair that the guard remembers (a week), that the fills
        list does not hold and the database has no row of: their own trades, read by id over
        their whole life (in the venue's pages)."""
        listed = fetched.get("__listed__", set())
        found = []
        for record in self.ctx.store.all(OrderRecord):
            if record.pair != pair or not record.detected or record.side is None:
                continue
            if record.order_id in listed or ftmodel.db_order(record.order_id) is not None:
                continue
            since = datetime.fromtimestamp(record.placed_at or 0.0, UTC)
            traded, cost = self.ctx.venue.traded(record.order_id, pair, since)
            if traded <= tolerance:
                continue
            sign = 1.0 if record.side == "buy" else -1.0
            fetched[record.order_id] = None
            fetched[f"{record.order_id}:fill"] = (traded, cost or 0.0, record.side)
            found.append(reconcile.UnownedFill(record.order_id, sign * traded, True, False))
        return found

    def forgotten(
        self, pair: str, need: float, tolerance: float, fetched: dict[str, Any]
    ) -> list[reconcile.UnownedFill]:
        """An exit order of the open trade that the venue no longer knows: placed before the
        oldest fills it still answers, answered "not found", still open in the database or
        resolved by the guard without the venue's word (its fills unreadable). Freqtrade cannot
        book it while its trade holds what the exchange no longer does. The newest whose
        remainder is exactly what the position lacks (`need`, the second read) counts as
        filled at its own limit price."""
        trade = ftmodel.open_trade(pair)
        if trade is None:
            return []
        venue = self.ctx.venue
        if any(o.ft_is_open and venue.fills_complete(o.order_date_utc) for o in trade.orders):
            return []  # an order of the venue's history works: its own answer books it
        for row in sorted(trade.orders, key=lambda o: o.order_date_utc, reverse=True):
            rest = max(row.safe_amount - row.safe_filled, 0.0)
            sign = 1.0 if row.side == "buy" else -1.0
            if row.ft_order_side != trade.exit_side or abs(sign * rest - need) > tolerance:
                continue
            if venue.fills_complete(row.order_date_utc):
                continue  # within the venue's history its own answer says what happened
            known = self.ctx.store.order(str(row.order_id))
            if not row.ft_is_open and (
                known is None or not known.detected or known.cancel_confirmed
            ):
                continue  # closed on the venue's own word (or its cancel accepted: it was live)
            try:
                venue.fetch_order(str(row.order_id), pair)
                continue  # the venue still answers for it: Freqtrade books that
            except InvalidOrderException:
                pass  # not found: forgotten
            filled = row.safe_amount
            fetched[str(row.order_id)] = None
            fetched[f"{row.order_id}:fill"] = (filled, row.safe_price * filled, row.side)
            fetched["__forgotten__"] = {str(row.order_id)}
            return [reconcile.UnownedFill(str(row.order_id), sign * rest, True, True)]
        return []


__all__ = ["FillReads"]
