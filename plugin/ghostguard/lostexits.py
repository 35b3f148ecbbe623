"""Before a risk-reducing exit: the bot's earlier exits whose create answer was lost and whose
fill no trade holds yet. Alone on an account the exchange's reduce-only rule refuses an exit
sent twice; on a symbol another bot shares it would reduce that bot's position. So what such an
exit filled is never sent again: one that filled what is asked is taken as the new exit's
answer, and a partial fill is taken off what is sent."""

from __future__ import annotations

import logging
from typing import Any

from ghostguard import ftmodel
from ghostguard.checks import AMOUNT_EPS, as_amount
from ghostguard.context import safe
from ghostguard.intents import Intents
from ghostguard.placement import Placement
from ghostguard.records import Intent


logger = logging.getLogger("ghostguard")


class LostExits:
    def __init__(self, intents: Intents) -> None:
        self.intents = intents
        self.ctx = intents.ctx

    def before_exit(
        self, intent: Intent | None, plan: Placement, requested: float
    ) -> tuple[dict[str, Any] | None, float]:
        """Before a risk-reducing exit, the bot's earlier exits whose create answer was lost
        and whose fill no trade holds yet (the unresolved `intent`, and those the loop already
        found filled): (the order to take as this exit's answer, the amount they already
        reduced). One is taken when it is done and filled what is asked: nothing is left to
        send, and on a symbol another bot shares a second exit would reduce that bot's
        position. A fill the venue reports while its trades cannot be read counts as a lower
        bound (the intent then stays to be settled)."""
        opened = _opened_ms(plan.pair)

        def since_open(order: dict[str, Any]) -> bool:
            # Only exits placed since the trade this exit closes opened: one of an earlier
            # trade (whose fill no trade could take) never stands in for this trade's exit.
            return opened is not None and (as_amount(order.get("timestamp")) or 0.0) >= opened

        found, settled = None, False
        if intent is not None:
            looked = self.intents.look_up_to_settle(intent)
            settled = looked is not None
            found = looked[0] if looked is not None else safe(self._reported, intent)
            if found is not None and ftmodel.db_order(str(found.get("id"))) is not None:
                found = None  # booked meanwhile (Freqtrade's order-list recovery): not twice
        own = found if (
            found is not None and str(found.get("side")).lower() == plan.exit_side
            and since_open(found)
        ) else None
        if settled and own is None:
            self.intents.settle_found(intent, found)  # as any lost create
        remembered = [o for o in self._unbooked_exits(plan.pair, plan.exit_side)
                      if since_open(o) and (own is None or o.get("id") != own.get("id"))]
        earlier = ([own] if own is not None else []) + remembered
        total = sum(as_amount(o.get("filled")) or 0.0 for o in earlier)
        done = [o for o in earlier if o.get("status") != "open"
                and (as_amount(o.get("filled")) or 0.0) >= requested - AMOUNT_EPS]
        if not done and earlier and total >= requested - AMOUNT_EPS:
            # Exited by several, or by one still working: the largest is this exit's answer
            # (Freqtrade books it; the reconciliation books the others). Nothing is sent.
            done = [max(earlier, key=lambda o: as_amount(o.get("filled")) or 0.0)]
        taken = done[0] if done else None
        if own is not None and intent is not None:
            if taken is own:
                self.intents.finished(intent)
                self.intents.advance(self.intents.digest(plan))
            elif settled:
                self.intents.settle_found(intent, own)  # remembered, cancelled if it works
        if taken is None:
            return None, total
        self.ctx.unbooked_exits.get(plan.pair, {}).pop(str(taken.get("id")), None)
        self.ctx.stats["lost_creates_found"] += 1
        logger.warning(
            "GhostGuard: the lost exit %s on %s filled after all (order %s, filled %s); "
            "taking it as this exit's answer instead of sending another",
            taken.get("clientOrderId"), plan.pair, taken.get("id"),
            as_amount(taken.get("filled")),
        )
        return taken, total

    def _reported(self, intent: Intent) -> dict[str, Any] | None:
        """The order a lost create placed as its status query reports it (its trades unread:
        the reported fill is a lower bound)."""
        found = self.ctx.venue.fetch_by_client_id(intent.pair, intent.client_id)
        if not isinstance(found, dict) or found.get("clientOrderId") not in (
            None, "", intent.client_id
        ):
            return None
        return found

    def _unbooked_exits(self, pair: str, exit_side: str) -> list[dict[str, Any]]:
        """Exits of the bot found filled after their create answer was lost (`_reconcile`)
        whose order no trade holds yet; the booked ones are forgotten."""
        known = self.ctx.unbooked_exits.get(pair, {})
        for order_id in [i for i in known if ftmodel.db_order(i) is not None]:
            del known[order_id]
        return [o for o in known.values() if str(o.get("side")).lower() == exit_side]


def _opened_ms(pair: str) -> float | None:
    """When the pair's open trade's first order was placed (ms), on the exchange's clock as its
    answer stamped it (the exits compared with it carry the same clock); None without one."""
    trade = ftmodel.open_trade(pair)
    dates = [o.order_date_utc for o in trade.orders if o.order_date] if trade is not None else []
    return min(dates).timestamp() * 1000.0 if dates else None


__all__ = ["LostExits"]
