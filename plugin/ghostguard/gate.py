"""The gate in front of `Exchange.create_order`: every order of every path passes here last.

A first order goes out with its client id written ahead. A replacement (an order of a pair and
role whose previous order went away) goes out only when the checks pass: checks 1-3 as three
concurrent exchange requests at the last moment before sending, 4-6 and the exposure rule from
memory and the database. A ghost replacement is rationed by checks 5 and 6; a re-price is not.
A block raises `GhostGuardBlocked` (a Freqtrade `DependencyException`, which every caller of
`create_order` catches).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from freqtrade.exceptions import DependencyException

from ghostguard import answers, events, ftmodel, registry, scopes, shares, venuefacts
from ghostguard.checks import (
    AMOUNT_EPS,
    Denial,
    InternalStateFact,
    ReplacementFacts,
    Verdict,
    decide,
    offline_denials,
)
from ghostguard.context import GuardContext, safe
from ghostguard.events import log_event
from ghostguard.intents import Intents, sending
from ghostguard.ledger import Ledger
from ghostguard.lostexits import LostExits
from ghostguard.outcomes import Outcomes, counter_for, gone_detection
from ghostguard.placement import Placement, plan_placement
from ghostguard.positions import clamp_exit, shared_gap
from ghostguard.records import (
    Cooldown,
    Intent,
    OrderRecord,
    PendingReplacement,
    Phase,
)


logger = logging.getLogger("ghostguard")

class GhostGuardBlocked(DependencyException):
    """A replacement the checks did not prove safe. Freqtrade logs it and sends nothing."""

    def __init__(self, pair: str, verdict: Verdict) -> None:
        super().__init__(f"GhostGuard blocked replacement on {pair}: {verdict.describe()}")
        self.verdict = verdict


class Gate:
    def __init__(self, ctx: GuardContext, ledger: Ledger, intents: Intents) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.intents = intents
        self.lost_exits = LostExits(intents)
        self.pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="ghostguard")
        self.outcomes = Outcomes(ctx, ledger)
        # Test seam: called after a replacement is approved, just before it is sent.
        self.before_send: Callable[[], None] | None = None

    def create_order(self, send: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        """Freqtrade's `create_order(**kwargs)` through the gate (`send` is the original)."""
        pair = kwargs.get("pair", "")
        try:
            plan = plan_placement(self.ledger, kwargs)
        except Exception as error:  # noqa: BLE001 - fail safe: an unplanned order is blocked
            exit_intent = scopes.EXIT_INTENT.get()
            if exit_intent is not None and exit_intent.risk_reducing:
                logger.warning(
                    "GhostGuard could not assess a %s exit on %s (%s); sending it as asked",
                    exit_intent.label,
                    pair,
                    answers.error_text(error),
                )
                return send(**kwargs)  # a risk-reducing exit is never held back
            verdict = Verdict((Denial(0, "guard_error", answers.error_text(error)),))
            log_event(events.REPLACEMENT_BLOCKED, pair=pair, reason=verdict.describe())
            raise GhostGuardBlocked(pair, verdict) from error
        exit_intent = scopes.EXIT_INTENT.get()
        if plan.role == "exit" and exit_intent is not None and exit_intent.risk_reducing:
            return self._risk_reducing_exit(send, plan, kwargs, exit_intent)
        if plan.role == "entry":
            plan = self._hold_while_reconciling(plan)
        intent = self.intents.unresolved(plan)
        if intent is not None and not self.ctx.dry_run:
            found = self._claim_lost_create(plan, intent)
            if found is not None:
                return found
            plan = replace(plan, gone=self.ledger.pending(pair, plan.role))
        with self._serialized(plan) as sent:
            order = self._checked_send(send, plan, kwargs)
            sent.append(order)
            return order

    def _checked_send(
        self, send: Callable[..., Any], plan: Placement, kwargs: dict[str, Any]
    ) -> Any:
        """A replacement is checked, then sent; every order gets its client id, written
        ahead."""
        attempt: int | None = None
        if plan.is_replacement:
            attempt = self.check(plan, kwargs)
            if self.before_send is not None:
                self.before_send()
        client_id = None if self.ctx.dry_run else self.intents.client_id(plan)
        written: Intent | None = None
        if client_id is not None:
            # Written ahead: a crash or a lost answer leaves the intent to be looked up.
            written = self._write_ahead(plan, client_id, float(kwargs.get("amount") or 0))
            if written is None:  # no durable intent: sending would risk an unknown order
                verdict = Verdict((Denial(0, "guard_error", "write-ahead intent not stored"),))
                safe(self.outcomes.blocked, plan, verdict)
                raise GhostGuardBlocked(plan.pair, verdict)
        try:
            with sending(client_id):
                order = send(**kwargs)
        except Exception as error:
            if written is not None and answers.refused_without_order(error):
                safe(self.intents.finished, written)  # refused: no order exists (-4116 keeps it)
            safe(self.outcomes.send_failed, plan, error, attempt)
            raise
        if written is not None:
            safe(self.intents.finished, written)
        safe(self.outcomes.sent, plan, order, attempt, plan.is_replacement)
        if written is not None:
            safe(self.intents.advance, self.intents.digest(plan))
        if plan.is_replacement and not self.ctx.dry_run:
            sent_id = order.get("id") if isinstance(order, dict) else None
            safe(self.intents.sweep_after, plan, sent_id)
        return order

    def _risk_reducing_exit(
        self,
        send: Callable[..., Any],
        plan: Placement,
        kwargs: dict[str, Any],
        exit_intent: scopes.ExitIntent,
    ) -> Any:
        """A stop-loss, emergency, force or liquidation exit is never held back by checks 1, 4,
        5 or 6, a pending gone exit or an unresolved lost create: it is only clamped to the
        exchange position (one request; an unreadable position sends it as asked). An earlier
        exit whose create answer was lost is settled first when the exchange can tell (cancelled
        if it works), never waited for: if it filled what is asked it is taken as this exit's
        answer, and what it filled is not sent again (on a symbol another bot shares, the
        exchange's reduce-only rule would let it reduce that bot's position)."""
        requested = float(kwargs["amount"])
        reduced = 0.0
        if not self.ctx.dry_run:
            earlier = safe(self.intents.unresolved, plan)
            settled = safe(self.lost_exits.before_exit, earlier, plan, requested)
            taken, reduced = settled if settled is not None else (None, 0.0)
            if taken is not None:  # it filled what is asked: nothing is left to send
                self.ctx.stats["risk_reducing_exits"] += 1
                return taken
        booked = safe(ftmodel.booked_orders, plan.pair) if self.ctx.dry_run else None
        position = venuefacts.position_fact(self.ctx.venue, plan.pair, 1, booked)
        clamped = clamp_exit(position, plan.direction, requested - reduced)
        if clamped < requested:
            kwargs["amount"] = clamped
        self.ctx.stats["risk_reducing_exits"] += 1
        logger.info(
            "GhostGuard lets a %s exit on %s through (%s, amount %s of %s requested)",
            exit_intent.label,
            plan.pair,
            "not clamped" if clamped >= requested
            else "clamped to the exchange position" if reduced <= AMOUNT_EPS
            else f"less the {reduced:g} a lost earlier exit filled",
            kwargs["amount"],
            requested,
        )
        client_id = None
        written: Intent | None = None
        if not self.ctx.dry_run:
            # Beside a lost create still unresolved, with a client id of its own; both are
            # looked up if this answer is lost too.
            still = safe(self.intents.unresolved, plan)
            client_id = (
                safe(self.intents.client_id, plan) if still is None
                else safe(self.intents.fresh_client_id, plan, still)
            )
            if client_id is not None:
                written = self._write_ahead(plan, client_id, float(kwargs["amount"]))
            if written is None:
                client_id = None  # sent all the same, without a client id
        try:
            with sending(client_id):
                order = send(**kwargs)
        except Exception as error:
            if written is not None and answers.refused_without_order(error):
                safe(self.intents.finished, written)
            raise
        if written is not None:
            safe(self.intents.finished, written)
            safe(self.intents.advance, self.intents.digest(plan))
        safe(self.outcomes.sent, plan, order, None, plan.is_replacement)
        if plan.is_replacement:
            log_event(
                events.GHOST_ORDER_REPLACED,
                type=plan.role,
                pair=plan.pair,
                order_id=order.get("id") if isinstance(order, dict) else None,
                reason=f"{exit_intent.label} exit: never held back, only clamped",
                detection=gone_detection(plan.gone),
            )
        return order

    def _hold_while_reconciling(self, plan: Placement) -> Placement:
        """No entry adds to a pair whose exchange position and database disagree until the
        reconciliation (`adoption`) has made them agree or locked the pair for a person. Once
        that lock has run out the pair trades again, each entry checked as a replacement (check
        2 still refuses one beside a position no trade holds: no double)."""
        record = safe(self.ledger.disagreement, plan.pair)
        if record is None:
            return plan
        if record.expired:
            if plan.gone is not None:
                return plan
            gone = PendingReplacement(
                pair=plan.pair, role="entry", order_id=None, detection="reconciling",
                at=self.ctx.clock(), rejected_at_create=True,
            )
            return replace(plan, gone=gone)
        verdict = Verdict((Denial(0, "reconciling", record.reason[:160]),))
        safe(self.outcomes.blocked, plan, verdict)
        raise GhostGuardBlocked(plan.pair, verdict)

    def _write_ahead(self, plan: Placement, client_id: str, amount: float) -> Intent | None:
        """The write-ahead intent, or None when the guard's store cannot take it (the error is
        logged; nothing is raised into Freqtrade)."""
        return safe(self.intents.write_ahead, plan, client_id, amount)

    def _claim_lost_create(self, plan: Placement, intent: Intent) -> Any:
        try:
            outcome = self.intents.resolve_before_send(plan, intent)
        except Exception as error:  # noqa: BLE001
            verdict = Verdict(
                (Denial(0, "lost_create_unresolved", answers.error_text(error)),)
            )
            safe(self.outcomes.blocked, plan, verdict)
            raise GhostGuardBlocked(plan.pair, verdict) from error
        if outcome.found is not None:
            safe(self.outcomes.sent, plan, outcome.found, None, False)
        return outcome.found

    # --- the decision -----------------------------------------------------------------------

    def check(self, plan: Placement, kwargs: dict[str, Any]) -> int | None:
        """Decide a replacement; raise `GhostGuardBlocked`, or return the approved ghost
        replacement's attempt number (None for an approved re-price: it uses up none)."""
        self.ctx.stats["decisions"] += 1
        try:
            if plan.role == "entry" and not self.ctx.store.flush():
                # Its counters and cooldown would not survive a restart: no entry replacement
                # until the store writes again (exits and first entries go on).
                why = f"the guard's store cannot write ({self.ctx.store.last_error})"
                verdict = Verdict((Denial(0, "guard_error", why),))
            else:
                verdict = self.decide(plan, float(kwargs["amount"]))
        except Exception as error:  # noqa: BLE001
            verdict = Verdict((Denial(0, "guard_error", answers.error_text(error)),))
        if not verdict.approved:
            safe(self.outcomes.blocked, plan, verdict)
            raise GhostGuardBlocked(plan.pair, verdict)
        attempt = (
            self.outcomes.approved(plan) if plan.rationed else self.outcomes.reprice_approved(plan)
        )
        if plan.role == "exit" and verdict.exit_amount is not None:
            if verdict.exit_amount < float(kwargs["amount"]):
                logger.info(
                    "GhostGuard clamps exit on %s from %s to the position %s",
                    plan.pair,
                    kwargs["amount"],
                    verdict.exit_amount,
                )
                kwargs["amount"] = verdict.exit_amount
        return attempt

    def decide(self, plan: Placement, amount: float) -> Verdict:
        assert plan.gone is not None
        settings = self.ctx.settings(plan.pair)
        venue = self.ctx.venue
        db_position = ftmodel.signed_db_position(ftmodel.open_trade(plan.pair))
        # Checks 4-6 need no network: decided first, so a block they make costs no request.
        if plan.role == "entry":
            internal = InternalStateFact(
                signal_active=ftmodel.signal_active(self.ctx.strategy, plan.pair, plan.direction),
                db_unexpected_position=plan.initial and abs(db_position) > AMOUNT_EPS,
                db_has_position=abs(db_position) > AMOUNT_EPS,
            )
        else:
            internal = InternalStateFact(
                signal_active=True,
                db_unexpected_position=False,
                db_has_position=db_position * plan.direction > AMOUNT_EPS,
            )
        counter = counter_for(self.ctx, plan)
        cooldown = self.ctx.store.of_pair_role(Cooldown, plan.pair, plan.role)
        last_approved_at = cooldown.at if cooldown is not None else None
        now = self.ctx.clock()
        offline = offline_denials(
            plan.role,
            internal,
            plan.rationed,
            counter.approved,
            settings.max_replacements_per_signal,
            last_approved_at,
            now,
            settings.replacement_cooldown_s,
            settings.auto_replace_cancelled_orders,
        )
        if offline:
            return Verdict(tuple(offline))
        # The other bots' shares of the symbol (an entry, with an account registry): part of
        # the position, and orders that are not this bot's working orders.
        shared = self._shared(plan)
        # The three exchange checks, issued concurrently, at the last moment before sending.
        readings = 2 if settings.position_check == "double" else 1
        held = ftmodel.closed_trade_fill(plan.gone.order_id, plan.pair) if plan.gone else None
        original = self.pool.submit(venuefacts.original_fact, venue, plan.gone, held)
        booked = ftmodel.booked_orders(plan.pair) if self.ctx.dry_run else None
        position = self.pool.submit(
            venuefacts.position_fact, venue, plan.pair, readings, booked, True
        )
        open_orders = self.pool.submit(
            venuefacts.open_orders_fact, venue, plan.pair, plan.role, plan.entry_side,
            self.ctx.own_prefix, shared.orders,
        )
        orders_fact, position_fact = open_orders.result(), position.result()
        others = shared_gap(
            self.ctx.shared_gaps.get(plan.pair), position_fact, venue.amount_tolerance(plan.pair)
        )
        if others and orders_fact.error is None:  # their fills: the position proves nothing
            orders_fact = replace(orders_fact, other_bots=orders_fact.other_bots + others)
        facts = ReplacementFacts(
            role=plan.role,
            direction=plan.direction,
            amount=amount,
            original=original.result(),
            position=position_fact,
            open_orders=orders_fact,
            internal=internal,
            db_position=db_position + shared.position,
            approved_so_far=counter.approved,
            max_replacements=settings.max_replacements_per_signal,
            last_approved_at=last_approved_at,
            now=now,
            cooldown_s=settings.replacement_cooldown_s,
            unknown_amount=self._unknown_amount(plan),
            rationed=plan.rationed,
            auto_replace=settings.auto_replace_cancelled_orders,
            amount_tolerance=venue.amount_tolerance(plan.pair),
        )
        return decide(facts)

    def _shared(self, plan: Placement) -> registry.SharedFacts:
        return shares.shared_facts(self.ctx, plan.pair, plan.role)

    @contextmanager
    def _serialized(self, plan: Placement) -> Iterator[list[Any]]:
        def busy(verdict: Verdict) -> None:
            safe(self.outcomes.blocked, plan, verdict)
            raise GhostGuardBlocked(plan.pair, verdict)

        with shares.serialized(self.ctx, plan, busy) as sent:
            yield sent

    def _unknown_amount(self, plan: Placement) -> float:
        """Amount of orders of the pair and role whose state the exchange has not confirmed:
        suspects the breaker has not resolved, and creates whose answer was lost and that no
        read has found yet (the reused client id is no protection once that order filled:
        Binance refuses a duplicate id among OPEN orders only)."""
        pair, role = plan.pair, plan.role
        total = 0.0
        for record in self.ctx.store.all(OrderRecord):
            if record.pair != pair or record.role != role or record.resolved:
                continue
            if not (record.phase == Phase.SUSPECTED or record.not_found > 0):
                continue
            row = ftmodel.db_order(record.order_id)
            if row is not None and row.ft_is_open:
                total += row.safe_remaining
        intent = self.ctx.store.of_pair_role(Intent, pair, role)
        if intent is not None:
            total += intent.amount
        return total

    # --- after the verdict -----------------------------------------------------------------

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False)


