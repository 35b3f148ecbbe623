"""Orders Freqtrade no longer looks after: an entry or exit still open in the database when its
trade closed (a stop-loss on the exchange filled while a DCA order rested, or while a view that
lagged hid the order's fill). Freqtrade manages the open orders of open trades only
(`manage_open_orders`) and reads the others again only at its next start
(`startup_update_open_orders`): until then a fill of such an order is a position no trade holds,
and an order still working can fill at any time.

Each loop the guard reads each such order of the bot's database itself (one status read, never
Freqtrade's retrier) and `orphan_action` decides:

- still open on the exchange: cancel it (its trade is over; nothing will manage what it fills);
- ended with more filled than the database booked: hand the pair to the reconciliation once
  (`adoption`: the fill is booked into a trade that manages it, or the pair is locked);
- ended with nothing more filled: close the row with the venue's answer, as Freqtrade would;
- unreadable: read again next loop; after `ORPHAN_READS` loops, hand the pair to the
  reconciliation (the position decides) and stop reading it.

Stop orders are left alone: Freqtrade cancels them when their trade closes, and they only
reduce. No sleep and no retry: one request per such order and loop, for at most a few loops.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Literal

from freqtrade.persistence import Order, Trade

from ghostguard import answers
from ghostguard.checks import GONE_STATUSES, as_amount
from ghostguard.context import GuardContext, safe
from ghostguard.ledger import Ledger


logger = logging.getLogger("ghostguard")

ORPHAN_READS = 5  # loops an orphan's status may stay unreadable before the position decides

Action = Literal["cancel", "reconcile", "close", "wait", "give_up"]
ENDED = ("closed", *GONE_STATUSES)


def orphan_action(
    status: str | None, filled: float | None, booked: float, tolerance: float,
    failed_reads: int,
) -> Action:
    """What to do with an open row of a closed trade, from the venue's answer for the order
    (`status` None: unreadable this loop)."""
    if status is None:
        return "give_up" if failed_reads >= ORPHAN_READS else "wait"
    if status == "open":
        return "cancel"
    if status not in ENDED:
        return "give_up" if failed_reads >= ORPHAN_READS else "wait"
    if (filled or 0.0) > booked + tolerance:
        return "reconcile"
    return "close"


def orphan_rows() -> list[Order]:
    """The database's open entry and exit orders whose trade is closed."""
    return [
        row for row in Order.get_open_orders()
        if row.ft_order_side != "stoploss" and row.trade is not None and not row.trade.is_open
    ]


class Orphans:
    def __init__(self, ctx: GuardContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.failed: Counter[str] = Counter()
        self.handed: set[str] = set()  # handed to the reconciliation: not read again

    def run(self) -> None:
        if self.ctx.dry_run:
            return  # a dry-run order never reaches the exchange
        for row in orphan_rows():
            order_id = str(row.order_id or "")
            if order_id and order_id not in self.handed:
                safe(self.check, row, order_id)

    def check(self, row: Order, order_id: str) -> None:
        pair, venue = row.ft_pair, self.ctx.venue
        try:
            answer: Any = venue.fetch_order(order_id, pair)
        except Exception as error:  # noqa: BLE001 - not found or unreachable: read again
            answer = {"error": answers.error_text(error)}
        status = answer.get("status") if isinstance(answer, dict) else None
        if status != "open" and status not in ENDED:  # no answer, or none that says anything
            self.failed[order_id] += 1
        filled = as_amount(answer.get("filled")) if isinstance(answer, dict) else None
        action = orphan_action(status, filled, float(row.filled or 0.0),
                               venue.amount_tolerance(pair), self.failed[order_id])
        trade_id = row.ft_trade_id
        if action == "cancel":
            logger.warning(
                "GhostGuard: order %s (%s) was still open when trade %s closed; cancelling it: "
                "nothing manages what it would fill", order_id, pair, trade_id,
            )
            safe(venue.cancel_order, order_id, pair)  # one attempt: no retry back-off
        elif action == "reconcile":
            self.handed.add(order_id)
            self.ledger.disagree(
                pair, f"order {order_id} filled {filled:g} after its trade {trade_id} closed"
            )
        elif action == "close":  # never lowering what the database booked (a stale answer)
            booked = float(row.filled or 0.0)
            row.update_from_ccxt_object({**answer, "filled": max(filled or 0.0, booked)})
            Trade.commit()
            self.failed.pop(order_id, None)
        elif action == "give_up":
            self.handed.add(order_id)
            self.ledger.disagree(
                pair, f"order {order_id} of closed trade {trade_id} unreadable "
                f"({answer.get('error') or status})"
            )


__all__ = ["ORPHAN_READS", "Orphans", "orphan_action", "orphan_rows"]
