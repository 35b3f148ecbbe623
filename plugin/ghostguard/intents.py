"""Client order ids scoped to the intent, the write-ahead intent of every live order, lost
creates, and the sweep right after a replacement.

The client id travels from the create wrapper to the `_get_params` wrapper (which Freqtrade's
`create_order` calls inside) in a context variable, set only for the duration of that one send.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ghostguard import answers, events, ftmodel, notify
from ghostguard.checks import AMOUNT_EPS, GONE_STATUSES, Role, as_amount
from ghostguard.context import GuardContext
from ghostguard.events import log_event
from ghostguard.ledger import Ledger
from ghostguard.placement import Placement
from ghostguard.records import ClientIdSequence, Intent, OrderRecord, Phase


logger = logging.getLogger("ghostguard")

SENDING_CLIENT_ID: ContextVar[str | None] = ContextVar("ghostguard_client_id", default=None)


@contextmanager
def sending(client_id: str | None) -> Iterator[None]:
    """The client id `_get_params` adds to the order being sent inside this block."""
    token = SENDING_CLIENT_ID.set(client_id)
    try:
        yield
    finally:
        SENDING_CLIENT_ID.reset(token)


@dataclass(frozen=True)
class LostCreateOutcome:
    """What looking a lost create up found: the order to take (`found`), or nothing."""

    found: dict[str, Any] | None


class UnknownFills(ValueError):
    """A lost create's order is not found, but the pair's trades show fills of an order the
    database does not know."""


class Intents:
    def __init__(self, ctx: GuardContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger

    # --- client order ids -------------------------------------------------------------------

    @staticmethod
    def digest(plan: Placement) -> str:
        return hashlib.sha1(f"{plan.signal}|{plan.role}".encode()).hexdigest()[:12]

    def _sequence(self, digest: str) -> int:
        record = self.ctx.store.of_digest(ClientIdSequence, digest)
        return record.next if record is not None else 0

    def client_id(self, plan: Placement) -> str:
        """`gg` + the bot's tag + hash(signal, role) + role letter + sequence: alphanumeric,
        at most 26 chars (OKX allows 32, Binance and Bybit 36; ghostguard.identity). A retry
        after a lost answer reuses the id, so the exchange itself refuses a second open order
        for the same intent."""
        digest = self.digest(plan)
        return f"{self.ctx.own_prefix}{digest}{plan.role[0]}{self._sequence(digest)}"

    def advance(self, digest: str) -> None:
        self.ctx.store.put(
            ClientIdSequence(digest=digest, next=self._sequence(digest) + 1, at=self.ctx.clock())
        )

    # --- the write-ahead intent ---------------------------------------------------------------

    def write_ahead(self, plan: Placement, client_id: str, amount: float) -> Intent:
        """The intent of a create about to be sent. An unresolved lost create of the same pair
        and role with another client id stays to be looked up (in ``older``)."""
        current = self.unresolved(plan)
        older = current.older if current is not None else ()
        if current is not None and current.client_id != client_id:
            older = (*older, (current.client_id, current.at))
        intent = Intent(
            pair=plan.pair,
            role=plan.role,
            client_id=client_id,
            digest=self.digest(plan),
            amount=amount,
            at=self.ctx.clock(),
            older=older,
        )
        self.ctx.store.put(intent)
        return intent

    def fresh_client_id(self, plan: Placement, taken: Intent) -> str:
        """A client id for ``plan`` that none of ``taken``'s creates used (the exchange would
        refuse a reused one while that order works: -4116)."""
        used = {taken.client_id, *(c for c, _ in taken.older)}
        client_id = self.client_id(plan)
        while client_id in used:
            self.advance(self.digest(plan))
            client_id = self.client_id(plan)
        return client_id

    def finished(self, intent: Intent) -> None:
        """The create of ``intent`` is answered (or settled): the intent goes; an older lost
        create of the pair and role, if any, becomes the one to look up."""
        if not intent.older:
            self.ctx.store.remove(intent)
            return
        (client_id, at), rest = intent.older[-1], intent.older[:-1]
        self.ctx.store.put(
            replace(intent, client_id=client_id, at=at, checked_at=None, older=rest)
        )

    def unresolved(self, plan: Placement) -> Intent | None:
        return self.ctx.store.of_pair_role(Intent, plan.pair, plan.role)

    # --- lost creates ---------------------------------------------------------------------------

    def lookup(self, pair: str, client_id: str, since: float) -> dict[str, Any] | None:
        """The order a lost create may have placed, by client order id, with its fills read
        from the exchange's trades (a stale status must not hide a fill). None: not found.
        Raises when the exchange cannot tell."""
        venue = self.ctx.venue
        try:
            found = venue.fetch_by_client_id(pair, client_id)
        except Exception as error:
            if not answers.is_not_found(error):
                raise
            found = None
        if isinstance(found, dict) and found.get("clientOrderId") not in (None, "", client_id):
            found = None  # the venue answered another order: it did not read the client id
        if found is None:
            # The query side may lag the matching engine (-2013 for a live order): the open
            # orders list is a second witness, and the pair's trades since the create a third
            # (a lost order that filled and went away shows only there).
            found_open = venue.find_open_by_client_id(pair, client_id)
            if found_open is not None:
                return found_open
            unknown = venue.unknown_fills(pair, since, ftmodel.order_ids(pair))
            if unknown:
                raise UnknownFills(
                    f"not found by client id {client_id}, but orders the bot does not know "
                    f"filled since: {unknown}"
                )
            return None
        if not isinstance(found, dict) or not found.get("id"):
            raise ValueError(f"lookup answer={found!r}")
        stamp = as_amount(found.get("timestamp"))
        since = (
            datetime.fromtimestamp(stamp / 1000, UTC)
            if stamp
            else datetime.now(UTC) - timedelta(days=1)
        )
        traded, cost = venue.traded(str(found["id"]), pair, since)
        reported = as_amount(found.get("filled")) or 0.0
        if not venue.fills_complete(since):
            self.ledger.lock_unreadable_fills(pair, str(found["id"]), max(traded, reported))
        if traded > reported + AMOUNT_EPS:
            amount = as_amount(found.get("amount")) or traded
            found = answers.with_verified_fill(found, traded, amount, traded, cost)
        return found

    def resolve_before_send(self, plan: Placement, intent: Intent) -> LostCreateOutcome:
        """A create whose answer was lost, before the next placement of its pair and role: look
        its client order id up. `found` is the order to take instead of sending (Freqtrade takes
        it as the create's answer) — only for a placement of the same intent (signal, role and
        side). None means go on, as a checked replacement; an order found for another intent is
        reconciled on its own first (cancelled if working, pair locked if filled). Raises when
        the exchange cannot tell (the caller blocks)."""
        found = self.lookup(plan.pair, intent.client_id, intent.at)
        if found is not None and ftmodel.db_order(str(found.get("id"))) is not None:
            # Booked meanwhile (Freqtrade's own order-list recovery): never taken twice.
            self.finished(intent)
            self.advance(self.digest(plan))
            found = None
        elif found is not None and not self._same_intent(plan, intent, found):
            # Reconciled first: if that fails, the intent stays and is settled later.
            self._reconcile(intent, found, f"placement of another intent ({plan.signal})")
            self.finished(intent)
            found = None
        elif found is not None:
            self.finished(intent)
        else:
            # Not found (yet): the read side may lag. The intent stays, so the order is looked
            # up again by the loop even if the placement that follows is blocked; a placement
            # that is sent reuses its client id (the exchange refuses a twin while it works).
            self.ctx.store.put(replace(intent, checked_at=self.ctx.clock()))
        if found is not None:
            filled = as_amount(found.get("filled")) or 0.0
            if found.get("status") not in GONE_STATUSES or filled > AMOUNT_EPS:
                self.ctx.stats["lost_creates_found"] += 1
                logger.warning(
                    "GhostGuard: the lost create %s on %s was placed after all (order %s, %s, "
                    "filled %s); taking it instead of sending a second order",
                    intent.client_id,
                    plan.pair,
                    found.get("id"),
                    found.get("status"),
                    filled,
                )
                self.advance(self.digest(plan))
                return LostCreateOutcome(found=found)
            self.advance(self.digest(plan))  # it existed and is gone: its id is used up
        # Not found (the exchange may lag) or gone: the placement that follows is a replacement
        # decision (checks 2, 3 and exposure), and a not-found id is reused so that the
        # exchange itself refuses a duplicate of a still-working original.
        self.ledger.record_gone(
            plan.pair,
            plan.role,
            None,
            "lost_create",
            rejected_at_create=True,
            client_id=intent.client_id,
        )
        return LostCreateOutcome(found=None)

    def _keep_s(self, pair: str) -> float:
        return self.ctx.settings(pair).watchlist_minutes * 60.0

    def _same_intent(self, plan: Placement, intent: Intent, found: dict[str, Any]) -> bool:
        side = plan.entry_side if plan.role == "entry" else plan.exit_side
        return intent.digest == self.digest(plan) and str(found.get("side")).lower() == side

    def settle(self, intent: Intent) -> None:
        """A create with no answer that no later placement has claimed (after a crash, or the
        signal went away): find it by client order id and make sure no unknown order stays
        working and no fill stays unknown."""
        looked = self.look_up_to_settle(intent)
        if looked is not None:
            self.settle_found(intent, looked[0])

    def look_up_to_settle(self, intent: Intent) -> tuple[dict[str, Any] | None] | None:
        """(the order found, or None); None when the exchange cannot tell (logged)."""
        try:
            return (self.lookup(intent.pair, intent.client_id, intent.at),)
        except Exception as error:  # noqa: BLE001 - the exchange cannot tell: ask again later
            logger.warning(
                "GhostGuard: lost create %s not resolved: %s",
                intent.client_id,
                answers.error_text(error),
            )
            if isinstance(error, UnknownFills):
                # A fill the bot does not know is on the exchange: never leave it unknown.
                self.ledger.disagree(
                    intent.pair, f"unknown fill after lost create {intent.client_id}"
                )
            return None

    def settle_found(self, intent: Intent, found: dict[str, Any] | None) -> None:
        pair, role = intent.pair, intent.role
        if found is None and self.ctx.clock() - intent.at < self._keep_s(pair):
            # Not found (yet): the views may lag and the trades may not show a fill yet. Looked
            # up again a minute later, for as long as a gone order is watched.
            self.ctx.store.put(replace(intent, checked_at=self.ctx.clock()))
            return
        if found is not None:
            # Reconciled first: if that fails, the intent stays and is settled again later.
            self._reconcile(intent, found, "a create whose answer was lost")
        self.finished(intent)
        # Whatever happened to it, the next placement for this pair and role is checked.
        self.ledger.record_gone(
            pair, role, None, "lost_create", rejected_at_create=True, client_id=intent.client_id
        )

    def _reconcile(self, intent: Intent, found: dict[str, Any], why: str) -> None:
        """An order of a lost create that no placement takes: cancelled if it works, the pair
        locked if it filled (no position stays unknown to the bot)."""
        pair, role = intent.pair, intent.role
        if intent.digest:
            self.advance(intent.digest)
        if found.get("status") == "open":
            self.ctx.venue.exchange.cancel_order(str(found.get("id")), pair)
            log_event(
                events.DUPLICATE_CANCELLED,
                type=role,
                pair=pair,
                order_id=found.get("id"),
                reason=f"unclaimed order {intent.client_id} from {why}",
            )
        filled = as_amount(found.get("filled")) or 0.0
        if filled > AMOUNT_EPS and found.get("id") and self.ctx.store.order(
            str(found["id"])
        ) is None:
            # Remembered as the bot's own gone order: the reconciliation reads its fills by id
            # when the account's fills list no longer holds them (after a long downtime).
            stamp = as_amount(found.get("timestamp"))
            self.ctx.store.put(OrderRecord(
                order_id=str(found["id"]), pair=pair, role=role, phase=Phase.DONE,
                signal=intent.digest, placed_at=stamp / 1000.0 if stamp else intent.at,
                resolved=True, detected="lost_create", verified_filled=filled,
                side=str(found.get("side") or "").lower() or None,
            ))
        if filled > AMOUNT_EPS and role == "exit" and found.get("id"):
            # Until a trade holds it, a risk-reducing exit does not send it again.
            self.ctx.unbooked_exits.setdefault(pair, {})[str(found["id"])] = found
        if filled > AMOUNT_EPS:
            self.ctx.stats["late_fills"] += 1
            log_event(
                events.GHOST_LATE_FILL,
                type=role,
                pair=pair,
                order_id=found.get("id"),
                reason=f"filled={filled:g} of {why} ({intent.client_id})",
            )
            notify.tell(self.ctx, notify.late_fill_text(pair, role, found.get("id"), filled))
            self.ledger.disagree(pair, f"fill of unclaimed order {found.get('id')}: {filled:g}")

    # --- the sweep after a replacement -------------------------------------------------------

    def sweep(self, pair: str, role: Role, entry_side: str, sent_id: str | None) -> None:
        """Right after a replacement: a working order of the same role that neither the
        database nor this placement knows, and that is the bot's own (its client id carries
        the bot's tag, or the guard remembers the order), is cancelled. Orders of anybody else
        (another bot's tag, no tag) are never touched."""
        working = [
            (i, c) for i, _, c, of in self.ctx.venue.open_orders_with_ids(pair, entry_side)
            if of == role
        ]
        known = {str(sent_id)} | ftmodel.open_order_ids(pair)
        unknown = [
            order_id for order_id, client_id in working
            if str(order_id) not in known and (
                self.ctx.own_tag(client_id)
                or self.ctx.store.order(str(order_id)) is not None
            )
        ]
        if not unknown or len(working) < 2:
            return
        for order_id in unknown:
            self.ctx.venue.exchange.cancel_order(order_id, pair)
            self.ctx.stats["duplicates_cancelled"] += 1
            log_event(
                events.DUPLICATE_CANCELLED,
                type=role,
                pair=pair,
                order_id=order_id,
                reason=f"second working {role} order, unknown to the bot; kept {sent_id}",
            )

    def sweep_after(self, plan: Placement, sent_id: str | None) -> None:
        """The sweep right after a replacement; if it fails, it is due again next loop (the
        sent order's record carries `sweep_due`)."""
        try:
            self.sweep(plan.pair, plan.role, plan.entry_side, sent_id)
        except Exception as error:  # noqa: BLE001 - retried by the next loop
            logger.warning(
                "GhostGuard: sweep after the replacement on %s failed (%s); retrying next loop",
                plan.pair,
                answers.error_text(error),
            )
            record = self.ctx.store.order(str(sent_id)) if sent_id else None
            if record is not None:
                self.ctx.store.put(replace(record, sweep_due=True))

    def sweep_again(self, record: OrderRecord) -> None:
        """A sweep that failed right after its replacement, run from the loop."""
        trade = ftmodel.open_trade(record.pair)
        entry_side = trade.entry_side if trade is not None else "buy"
        self.sweep(record.pair, record.role, entry_side, record.order_id)
        current = self.ctx.store.order(record.order_id)
        if current is not None:
            self.ctx.store.put(replace(current, sweep_due=False))
