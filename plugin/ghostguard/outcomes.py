"""What follows a verdict: the bookkeeping of an approved ghost replacement or re-price, of a
block (logged once while it repeats, a lock where the exchange and the database disagree), and of
an order sent or refused (a post-only refusal is a detected ghost)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ghostguard import answers, events, ftmodel, notify
from ghostguard.checks import Verdict, as_amount
from ghostguard.context import GuardContext, safe
from ghostguard.events import log_event
from ghostguard.ledger import Ledger
from ghostguard.placement import Placement
from ghostguard.records import (
    Cooldown,
    OrderRecord,
    PendingReplacement,
    SignalCounter,
)


logger = logging.getLogger("ghostguard")

# Reasons that mean the exchange and the database may disagree: the pair is reconciled.
DISAGREEMENT_REASONS = frozenset(
    {
        "position_already_exists",
        "position_mismatch",
        "duplicate_working_order",
        "original_order_filled",
        "original_order_partial",
    }
)


def counter_for(ctx: GuardContext, plan: Placement) -> SignalCounter:
    """Ghost replacements approved for this signal (a new signal starts at 0)."""
    counter = ctx.store.of_pair_role(SignalCounter, plan.pair, plan.role)
    if counter is None or counter.signal != plan.signal:
        return SignalCounter(pair=plan.pair, role=plan.role, signal=plan.signal)
    return counter


class Outcomes:
    def __init__(self, ctx: GuardContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger
        # The last block logged per (pair, role), to log a block that cannot change once.
        self.last_block: dict[tuple[str, str], tuple[Any, ...]] = {}

    def approved(self, plan: Placement) -> int:
        settings = self.ctx.settings(plan.pair)
        counter = counter_for(self.ctx, plan)
        counter = replace(counter, approved=counter.approved + 1)
        self.ctx.store.put(counter)
        self.cool_from_now(plan)
        self.ctx.stats["approved"] += 1
        log_event(
            events.GHOST_ORDER_RECOVERY_APPROVED,
            type=plan.role,
            pair=plan.pair,
            order_id=_gone_id(plan.gone),
            attempt=f"{counter.approved}/{settings.max_replacements_per_signal}",
            detection=gone_detection(plan.gone),
        )
        safe(
            ftmodel.update_custom_data, plan.trade_id, attempts=counter.approved,
            last_verdict="approved",
        )
        return counter.approved

    def cool_from_now(self, plan: Placement) -> None:
        """Check 6 counts from now: from the approval, and again once the replacement's create
        has come back (sent or failed), so that the exchange, which stamps the order when it
        arrives, never sees two ghost replacements less than the cooldown apart however long
        the write-ahead commit and the request took."""
        self.ctx.store.put(Cooldown(pair=plan.pair, role=plan.role, at=self.ctx.clock()))

    def reprice_approved(self, plan: Placement) -> None:
        """A re-price passed checks 1-4 and the exposure rule: it uses up no attempt."""
        self.ctx.stats["reprices_approved"] += 1
        logger.debug(
            "GhostGuard: re-price on %s (%s) passed the checks; original %s",
            plan.pair,
            plan.role,
            _gone_id(plan.gone),
        )
        return None

    def blocked(self, plan: Placement, verdict: Verdict) -> None:
        settings = self.ctx.settings(plan.pair)
        self.ctx.stats["blocked"] += 1
        self.ctx.stats[f"blocked_{plan.role}"] += 1  # repeats too (logged once)
        for reason in verdict.reasons:
            self.ctx.stats[f"blocked:{reason}"] += 1
        # The same block again (same signal, same gone order, same reasons): Freqtrade retries
        # every loop; it is logged, noted and notified once, until a fact changes.
        disagreement = sorted(DISAGREEMENT_REASONS.intersection(verdict.reasons))
        fingerprint = (plan.signal, _gone_id(plan.gone), tuple(verdict.reasons))
        if self.last_block.get((plan.pair, plan.role)) == fingerprint:
            self.ctx.stats["blocked_repeats"] += 1
            logger.debug("GhostGuard: same block again on %s: %s", plan.pair, verdict.describe())
            return
        self.last_block[(plan.pair, plan.role)] = fingerprint
        safe(ftmodel.note_ghost_outcome, plan.trade_id, _gone_id(plan.gone),
             "blocked: " + ",".join(verdict.reasons))
        log_event(
            events.REPLACEMENT_BLOCKED,
            type=plan.role,
            pair=plan.pair,
            order_id=_gone_id(plan.gone),
            reason=verdict.describe(),
            detection=gone_detection(plan.gone),
        )
        if "max_replacement_attempts" in verdict.reasons:
            counter = counter_for(self.ctx, plan)
            if not counter.max_logged:
                self.ctx.store.put(replace(counter, max_logged=True))
                log_event(
                    events.MAX_REPLACEMENT_ATTEMPTS_REACHED,
                    type=plan.role,
                    pair=plan.pair,
                    order_id=_gone_id(plan.gone),
                    attempt=f"{counter.approved}/{settings.max_replacements_per_signal}",
                )
        if disagreement:
            self._reconcile_for(plan.pair, disagreement)
        ftmodel.update_custom_data(plan.trade_id, last_verdict=f"blocked:{verdict.describe()}")
        if settings.notify:
            notify.tell(self.ctx, notify.blocked_text(
                plan.pair, plan.role, _gone_id(plan.gone), verdict.describe()))

    def _reconcile_for(self, pair: str, disagreement: list[str]) -> None:
        self.ledger.disagree(
            pair, ",".join(disagreement), working_orders="duplicate_working_order" in disagreement
        )

    def sent(
        self, plan: Placement, order: Any, attempt: int | None, replaced: bool
    ) -> None:
        """Record the order sent; `replaced`: it replaced a gone order (ghost or re-price),
        `attempt`: the ghost replacement's number (None for a re-price or a first order)."""
        order_id = str(order.get("id")) if isinstance(order, dict) else None
        status = order.get("status") if isinstance(order, dict) else None
        if order_id:
            self.ctx.store.put(
                OrderRecord(
                    order_id=order_id,
                    pair=plan.pair,
                    role=plan.role,
                    signal=plan.signal,
                    placed_at=self.ctx.clock(),
                    side=_side_of(plan),
                )
            )
        pending = None
        if replaced:
            pending = self.ctx.store.of_pair_role(PendingReplacement, plan.pair, plan.role)
            if pending is not None:
                self.ctx.store.remove(pending)
                safe(ftmodel.note_ghost_outcome, plan.trade_id, pending.order_id,
                     f"replaced by {order_id}")
        if attempt is not None:
            self.cool_from_now(plan)
            if plan.trade_id is None and order_id:
                # A first entry's trade went with its order: the new trade carries both.
                data: dict[str, Any] = {"attempts": attempt, "last_verdict": "approved"}
                if pending is not None and pending.order_id:
                    data["ghosts"] = [ftmodel.ghost_entry(
                        pending.order_id, pending.detection, pending.at, f"replaced by {order_id}"
                    )]
                self.ledger.custom_data_by_order[order_id] = data
            log_event(
                events.GHOST_ORDER_REPLACED,
                type=plan.role,
                pair=plan.pair,
                order_id=order_id,
                attempt=f"{attempt}/{self.ctx.settings(plan.pair).max_replacements_per_signal}",
            )
        if status in ("expired", "rejected") and not as_amount(order.get("filled")):
            self._record_create_rejected(plan, order_id, f"status={status}")

    def send_failed(self, plan: Placement, error: Exception, attempt: int | None) -> None:
        if attempt is not None:
            self.cool_from_now(plan)  # the create may have arrived (a lost answer) just now
            self.ctx.stats["failed"] += 1
            log_event(
                events.REPLACEMENT_FAILED,
                type=plan.role,
                pair=plan.pair,
                attempt=f"{attempt}/{self.ctx.settings(plan.pair).max_replacements_per_signal}",
                reason=answers.error_text(error),
            )
        if answers.is_post_only_rejection(error):
            self._record_create_rejected(plan, None, answers.error_text(error))

    def _record_create_rejected(self, plan: Placement, order_id: str | None, why: str) -> None:
        self.ctx.stats["detected:create_rejected"] += 1
        log_event(
            events.GHOST_ORDER_DETECTED,
            type=plan.role,
            pair=plan.pair,
            order_id=order_id or "-",
            detection="create_rejected",
            reason=why,
        )
        self.ledger.record_gone(
            plan.pair, plan.role, order_id, "create_rejected", rejected_at_create=True
        )


def _side_of(plan: Placement) -> str:
    if plan.role == "entry":
        return plan.entry_side
    return "sell" if plan.entry_side == "buy" else "buy"


def _gone_id(gone: PendingReplacement | None) -> str | None:
    return gone.order_id if gone is not None else None


def gone_detection(gone: PendingReplacement | None) -> str | None:
    return gone.detection if gone is not None else None


