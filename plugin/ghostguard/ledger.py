"""Bookkeeping the parts share: order records through their lifecycle, gone orders awaiting a
replacement, detection, locks and custom data. Applies lifecycle steps and runs their effects.
Main thread only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from freqtrade.persistence import Order

from ghostguard import events, ftmodel, lifecycle
from ghostguard.checks import Role
from ghostguard.context import GuardContext
from ghostguard.events import log_event
from ghostguard.records import OrderRecord, PairLockRecord, PendingReplacement


class Ledger:
    def __init__(self, ctx: GuardContext) -> None:
        self.ctx = ctx
        # Custom data for trades Freqtrade creates only after the order is sent (new entries),
        # by order id; written to the trade at the next loop.
        self.custom_data_by_order: dict[str, dict[str, Any]] = {}

    # --- order records ----------------------------------------------------------------------

    def record_for(self, row: Order) -> OrderRecord:
        return self.ctx.store.order(row.order_id) or OrderRecord(
            order_id=row.order_id, pair=row.ft_pair, role=ftmodel.role_of_row(row)
        )

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
            self.lock_pair(record.pair, f"late fill of {record.order_id}: {effect.filled:g}")

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
        ftmodel.note_ghost_order(row)

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

    def lock_pair(self, pair: str, why: str, working_orders: bool = False) -> None:
        """Lock the pair for new entries until the disagreement is gone (`working_orders`: it
        includes an order the database does not know)."""
        reason = ftmodel.lock_reason(why)
        if ftmodel.lock_pair(pair, reason):
            self.ctx.stats["locks"] += 1
        earlier = self.ctx.store.of_pair(PairLockRecord, pair)
        self.ctx.store.put(
            PairLockRecord(
                pair=pair,
                reason=reason,
                next_check=self.ctx.clock() + lifecycle.LOCK_RECHECK_S,
                working_orders=working_orders or bool(earlier and earlier.working_orders),
            )
        )

    def lock_unreadable_fills(self, pair: str, order_id: str, verified: float) -> None:
        """An order whose life began before the venue's trade history (`Venue.fills_complete`):
        what could be verified of its fills is only a lower bound, so the pair is locked until
        the exchange and the database agree."""
        self.lock_pair(
            pair, f"fills of {order_id} predate the venue's trade history: verified {verified:g}"
        )

    def unlock_pair(self, lock: PairLockRecord) -> None:
        ftmodel.unlock_pair(lock.pair)
        self.ctx.store.remove(lock)

    def flush_custom_data(self) -> None:
        for order_id, values in list(self.custom_data_by_order.items()):
            row = ftmodel.db_order(order_id)
            if row is not None and row.trade is not None:
                ftmodel.update_custom_data(row.trade.id, **values)
            self.custom_data_by_order.pop(order_id, None)
