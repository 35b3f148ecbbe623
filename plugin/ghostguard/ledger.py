"""Bookkeeping the parts share: order records through their lifecycle, gone orders awaiting a
replacement, detection, locks and custom data. Applies lifecycle steps and runs their effects.
Main thread only.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from freqtrade.persistence import Order

from ghostguard import events, ftmodel, identity, lifecycle, notify
from ghostguard.checks import Role
from ghostguard.context import GuardContext, safe
from ghostguard.events import log_event
from ghostguard.records import (
    OrderRecord,
    PairLockRecord,
    PendingReplacement,
)


logger = logging.getLogger("ghostguard")


class Ledger:
    def __init__(self, ctx: GuardContext) -> None:
        self.ctx = ctx
        # Custom data for trades Freqtrade creates only after the order is sent (new entries),
        # by order id; written to the trade at the next loop.
        self.custom_data_by_order: dict[str, dict[str, Any]] = {}

    # --- order records ----------------------------------------------------------------------

    def record_for(self, row: Order) -> OrderRecord:
        record = self.ctx.store.order(row.order_id) or OrderRecord(
            order_id=row.order_id, pair=row.ft_pair, role=ftmodel.role_of_row(row),
            placed_at=row.order_date_utc.timestamp(),
        )
        if record.side is None and row.side in ("buy", "sell"):
            record = replace(record, side=row.side)
        return record

    def apply(self, step: lifecycle.Step) -> OrderRecord:
        """Store the record of a lifecycle step and run its effects."""
        record, effects = step
        self.ctx.store.put(record)
        for effect in effects:
            self._run(effect)
        return record

    def _run(self, effect: lifecycle.Effect) -> None:
        record = effect.record
        if isinstance(effect, lifecycle.BreakerTripped):
            self.ctx.stats["breaker_trips"] += 1
            log_event(
                events.CIRCUIT_BREAKER_TRIGGERED,
                type=record.role,
                pair=record.pair,
                order_id=record.order_id,
                reason=f"{record.not_found} consecutive not-found answers",
            )
            notify.tell(self.ctx, notify.breaker_text(
                record.pair, record.role, record.order_id, record.not_found))
        elif isinstance(effect, lifecycle.Detected):
            self.ctx.stats[f"detected:{effect.detection}"] += 1
            log_event(
                events.GHOST_ORDER_DETECTED,
                type=record.role,
                pair=record.pair,
                order_id=record.order_id,
                detection=effect.detection,
                reason=effect.reason,
            )
        elif isinstance(effect, lifecycle.LateFill):
            self.ctx.stats["late_fills"] += 1
            log_event(
                events.GHOST_LATE_FILL,
                type=record.role,
                pair=record.pair,
                order_id=record.order_id,
                reason=f"filled={effect.filled:g} known={effect.known:g}",
            )
            notify.tell(self.ctx, notify.late_fill_text(
                record.pair, record.role, record.order_id, effect.filled))
            row = ftmodel.db_order(record.order_id)
            safe(
                ftmodel.note_ghost_outcome, row.ft_trade_id if row is not None else None,
                record.order_id, f"late fill {effect.filled:g}",
            )
            self.disagree(record.pair, f"late fill of {record.order_id}: {effect.filled:g}")

    def watch_for(self, row: Order) -> Any:
        """A new watch for a gone order (none in dry-run: nothing can fill behind the bot)."""
        if self.ctx.dry_run:
            return None
        return lifecycle.new_watch(
            self.ctx.clock(),
            self.ctx.settings(row.ft_pair).watchlist_minutes,
            row.order_date_utc.timestamp(),
        )

    def detected(self, row: Order, detection: str, reason: str | None = None) -> None:
        """Log GHOST_ORDER_DETECTED once per order, start its watch, note it on the trade."""
        record = self.record_for(row)
        if record.detected:
            return
        watch = None if record.watch is not None else self.watch_for(row)
        if watch is not None:
            known = max(row.safe_filled, record.verified_filled or 0.0)
            record = replace(record, verified_filled=known)
        self.apply(lifecycle.on_detected(record, detection, reason, watch))
        ftmodel.note_ghost_order(row, detection, self.ctx.clock())

    # --- gone orders awaiting a replacement ----------------------------------------------

    def record_gone(
        self, pair: str, role: Role, order_id: str | None, detection: str, **extra: Any
    ) -> None:
        self.ctx.store.put(
            PendingReplacement(
                pair=pair,
                role=role,
                order_id=order_id,
                detection=detection,
                at=self.ctx.clock(),
                **extra,
            )
        )

    def pending(self, pair: str, role: Role) -> PendingReplacement | None:
        """The gone order the next placement of this pair and role replaces (None when none,
        or when its window has passed)."""
        pending = self.ctx.store.of_pair_role(PendingReplacement, pair, role)
        if pending is None:
            return None
        if lifecycle.pending_expired(
            pending, self.ctx.clock(), self.ctx.settings(pair).watchlist_minutes
        ):
            self.ctx.store.remove(pending)
            return None
        return pending

    # --- locks and custom data ------------------------------------------------------------

    def disagree(self, pair: str, why: str, working_orders: bool = False) -> None:
        """The pair's exchange position and database may disagree: reconcile it from the next
        loop on (`adoption.Reconciler`); new entries of the pair wait meanwhile (the gate).
        `working_orders`: an order the database does not know works on the exchange."""
        now = self.ctx.clock()
        earlier = self.ctx.store.of_pair(PairLockRecord, pair)
        if earlier is None:
            self.ctx.stats["disagreements"] += 1
            logger.warning("GhostGuard: reconciling %s: %s", pair, why)
            record = PairLockRecord(pair=pair, reason=why, next_check=now, since=now,
                                    working_orders=working_orders)
        else:
            waiting = earlier.locked_until is not None or earlier.expired
            record = replace(
                earlier,
                working_orders=working_orders or earlier.working_orders,
                next_check=earlier.next_check if waiting else min(earlier.next_check, now),
            )
        self.ctx.store.put(record)

    def lock_unreadable_fills(self, pair: str, order_id: str, verified: float) -> None:
        """An order whose life began before the venue's trade history (`Venue.fills_complete`):
        what could be verified of its fills is only a lower bound; the pair is reconciled
        against the position (and locked if that cannot be explained)."""
        self.disagree(
            pair, f"fills of {order_id} predate the venue's trade history: verified {verified:g}"
        )

    def unlock_pair(self, lock: PairLockRecord) -> None:
        if lock.locked_until is not None and not lock.expired:
            ftmodel.unlock_pair(lock.pair, "exchange and database agree again")
        self.ctx.store.remove(lock)

    def disagreement(self, pair: str) -> PairLockRecord | None:
        return self.ctx.store.of_pair(PairLockRecord, pair)

    def reconciling(self, pair: str) -> PairLockRecord | None:
        """The pair's disagreement while it holds back new entries (none once its lock ran
        out)."""
        record = self.ctx.store.of_pair(PairLockRecord, pair)
        return record if record is not None and not record.expired else None

    def unknown_working_orders(self, pair: str) -> list[str]:
        """Working orders of the pair (either role) that the database does not know."""
        trade = ftmodel.open_trade(pair)
        entry_side = trade.entry_side if trade is not None else "buy"
        known = ftmodel.open_order_ids(pair)
        return [
            order_id
            for order_id, _, client_id, _ in self.ctx.venue.open_orders_with_ids(pair, entry_side)
            if str(order_id) not in known
            and identity.owner(client_id, self.ctx.own_prefix) != "guard_bot"
        ]

    def cancel_own_lost_orders(self, pair: str) -> None:
        """Working orders with the guard's own client id that the database lost (a create
        whose answer never came, a suspect resolved while the exchange hid it) are cancelled;
        orders of anybody else are left alone (the disagreement stays while they rest)."""
        known = ftmodel.open_order_ids(pair)
        trade = ftmodel.open_trade(pair)
        lost = [
            order_id
            for order_id, _, client_id, _ in self.ctx.venue.open_orders_with_ids(
                pair, trade.entry_side if trade is not None else "buy"
            )
            if str(order_id) not in known
            and (self.ctx.own_tag(client_id) or self.ctx.store.order(str(order_id)) is not None)
        ]
        for order_id in lost:
            if safe(self.ctx.venue.exchange.cancel_order, order_id, pair) is None:
                continue  # refused: tried again at the next re-check
            log_event(
                events.DUPLICATE_CANCELLED,
                pair=pair,
                order_id=order_id,
                reason="working order of the bot's own that its database does not know",
            )

    def flush_custom_data(self) -> None:
        for order_id, values in list(self.custom_data_by_order.items()):
            row = ftmodel.db_order(order_id)
            if row is not None and row.trade is not None:
                ftmodel.update_custom_data(row.trade.id, **values)
            self.custom_data_by_order.pop(order_id, None)
