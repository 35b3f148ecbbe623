"""Reconciling a pair whose exchange position and trades disagree: the reads and the actions of
`reconcile.plan`, once per loop for each pair that disagrees (`loop.LoopWork`).

Reads: the position (spot: the base balance; what no order can sell is dust, not a gap), and
what the exchange shows of the pair's fills beyond the trades (`fillreads`). Actions: book the
fills into Freqtrade's model (`booking`), send an excess back as a reduce-only market order
(`late_fill: "reduce"`), lock the pair for `lock_hours` with advice, lift the lock once they
agree. Every adoption, reduction and lock is sent as a Freqtrade RPC message (Telegram,
webhooks).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from freqtrade.persistence import Trade

from ghostguard import answers, booking, events, ftmodel, notify, reconcile, venuefacts
from ghostguard.checks import AMOUNT_EPS
from ghostguard.context import GuardContext
from ghostguard.events import log_event
from ghostguard.fillreads import FillReads
from ghostguard.ledger import Ledger
from ghostguard.records import OrderRecord, PairLockRecord, Phase


logger = logging.getLogger("ghostguard")

LOCKED_RECHECK_S = 60.0


class Reconciler:
    def __init__(self, ctx: GuardContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.reads = FillReads(ctx)

    def run(self, record: PairLockRecord) -> None:
        pair = record.pair
        settings = self.ctx.settings(pair)
        venue = self.ctx.venue
        booked = ftmodel.booked_orders(pair) if self.ctx.dry_run else None
        reading = venuefacts.position_fact(venue, pair, 1, booked)
        expected = ftmodel.signed_db_position(ftmodel.open_trade(pair))
        if reading.error is not None or not reading.readings or reading.readings[0] is None:
            self._unreadable(record, None, expected, f"position unreadable ({reading.error})")
            return
        position = float(reading.readings[0])
        tolerance = venue.amount_tolerance(pair)
        fills: list[reconcile.UnownedFill] = []
        fetched: dict[str, Any] = {}
        if not self.ctx.dry_run:
            try:
                fills = self.reads.unowned(pair, tolerance, fetched)
            except Exception as error:  # noqa: BLE001 - unreadable: one more attempt
                self._unreadable(record, position, expected, _failed("fills", error))
                return
            # A closed trade whose orders the fills list and whose rows do not net to zero
            # holds what it booked: its fills are part of what the trades hold.
            expected += ftmodel.closed_trades_net(pair, fetched.get("__listed__", set()))
            explained = sum(f.delta for f in fills)
            if abs(position - expected - explained) > tolerance:
                try:  # older than the list: the gone orders the guard remembers, by id
                    fills += self.reads.remembered(pair, tolerance, fetched)
                except Exception as error:  # noqa: BLE001 - unreadable: one more attempt
                    self._unreadable(record, position, expected, _failed("fills", error))
                    return
            explained = sum(f.delta for f in fills)
            if abs(position - expected - explained) > tolerance and abs(position) < abs(
                expected
            ) - tolerance:
                try:  # the trades hold more: an exit the venue forgot, filled before
                    fills += self.reads.forgotten(
                        pair, position - expected - explained, tolerance, fetched
                    )
                except Exception as error:  # noqa: BLE001 - unreadable: one more attempt
                    self._unreadable(record, position, expected, _failed("orders", error))
                    return
            explained = sum(f.delta for f in fills)
            if not venue.futures and abs(position - expected - explained) > tolerance:
                try:  # spot: another bot's share of the base, held through another quote
                    fills += self.reads.siblings(pair, tolerance)
                except Exception as error:  # noqa: BLE001 - unreadable: one more attempt
                    self._unreadable(record, position, expected, _failed("fills", error))
                    return
        decision = reconcile.plan(
            position, expected, tolerance, fills, settings.late_fill, record.attempts
        )
        self.ctx.shared_gaps.pop(pair, None)
        if isinstance(decision, reconcile.Agree):
            self._agreed(record)
        elif isinstance(decision, reconcile.Adopt):
            self._adopt(record, decision.fills, fetched)
        elif isinstance(decision, reconcile.RoundTrip):
            self._round_trip(record, decision.fills, fetched)
        elif isinstance(decision, reconcile.Reduce):
            self._reduce(record, decision, fetched)
        elif isinstance(decision, reconcile.Shared):
            self.ctx.shared_gaps[pair] = (
                position, tuple(f.order_id for f in fills if f.other_bot)
            )
            self._shared(record, decision.why)
        elif isinstance(decision, reconcile.Wait):
            self._again(record, decision.why)
        else:
            self._lock(record, decision.why, decision.unmanaged)

    def _unreadable(
        self, record: PairLockRecord, position: float | None, expected: float, why: str
    ) -> None:
        """A read failed: again next loop, or (`reconcile.unreadable`) past the bound the
        position alone ends the hold or locks the pair."""
        pair = record.pair
        decision = reconcile.unreadable(
            position, expected, self.ctx.venue.amount_tolerance(pair), record.attempts, why
        )
        if isinstance(decision, reconcile.Agree):
            logger.info(
                "GhostGuard: reconciling %s: %s; the position agrees with the trades: done",
                pair, why,
            )
            self.ctx.shared_gaps.pop(pair, None)
            self._agreed(record)
        elif isinstance(decision, reconcile.Lock):
            self._lock(record, decision.why, decision.unmanaged)
        else:
            self._again(record, why)

    # --- actions --------------------------------------------------------------------------

    def _book_all(
        self, record: PairLockRecord, fills: tuple[reconcile.UnownedFill, ...],
        fetched: dict[str, Any],
    ) -> list[str] | None:
        """Book each fill into Freqtrade's model; None (and the pair locked) when one cannot
        be booked faithfully."""
        pair = record.pair
        done = []
        # Entries first: an exit is booked on the trade an entry of the same gap opened.
        for fill in sorted(fills, key=lambda f: self._fill_role(f, fetched) != "entry"):
            filled, cost, side = fetched[f"{fill.order_id}:fill"]
            shown = fetched.get(fill.order_id)
            row = ftmodel.db_order(fill.order_id) if fill.booked_row else None
            if row is not None:
                forgotten = fill.order_id in fetched.get("__forgotten__", ())
                shown = {**row.to_ccxt_object(), "status": "closed" if forgotten else row.status}
            answer = booking.order_answer(fill.order_id, pair, shown, filled, cost, side)
            try:
                what = booking.book(self.ctx.bot, self.ctx.strategy, pair, answer)
            except Exception as error:  # noqa: BLE001 - Freqtrade's session must stay usable
                Trade.session.rollback()
                what = _booked_anyway(fill.order_id, filled)
                logger.warning(
                    "GhostGuard: booking order %s's fill on %s %s (%s)", fill.order_id, pair,
                    "was committed before Freqtrade's follow-up failed" if what else "failed",
                    answers.error_text(error),
                )
            if what is None:
                self._lock(record, f"a fill of order {fill.order_id} ({fill.delta:+g}) that no "
                           "trade can take", unmanaged=True)
                return None
            if fill.order_id in fetched.get("__forgotten__", ()):
                what += " at its limit price: the venue no longer knows the order"
            done.append(what)
        Trade.commit()
        return done

    def _adopt(
        self, record: PairLockRecord, fills: tuple[reconcile.UnownedFill, ...],
        fetched: dict[str, Any],
    ) -> None:
        done = self._book_all(record, fills, fetched)
        if done is None:
            return
        self.ctx.stats["adopted"] += len(done)
        text = f"adopted {', '.join(done)}"
        log_event(events.LATE_FILL_ADOPTED, pair=record.pair, reason=text)
        self.tell(f"GhostGuard {record.pair}: a fill no trade owned is now managed: {text}.")
        self._again(record, "adopted: verifying", count=False)

    def _round_trip(
        self, record: PairLockRecord, fills: tuple[reconcile.UnownedFill, ...],
        fetched: dict[str, Any],
    ) -> None:
        """Fills of the bot's own orders that net to nothing: one closed trade books them (the
        position agrees either way; when they cannot be booked, nothing is)."""
        pair = record.pair
        legs = []
        for fill in fills:
            filled, cost, side = fetched[f"{fill.order_id}:fill"]
            row = ftmodel.db_order(fill.order_id) if fill.booked_row else None
            shown = fetched.get(fill.order_id)
            if row is not None:
                shown = {**row.to_ccxt_object(), "status": row.status}
            answer = booking.order_answer(fill.order_id, pair, shown, filled, cost, side)
            legs.append((self._role(fill.order_id, answer), answer))
        try:
            what = booking.book_round_trip(self.ctx.bot, self.ctx.strategy, pair, legs)
        except Exception as error:  # noqa: BLE001 - Freqtrade's session must stay usable
            Trade.session.rollback()
            what = None
            logger.warning("GhostGuard: booking a round trip on %s failed (%s)", pair,
                           answers.error_text(error))
        if what is None:
            self._agreed(record)
            return
        self.ctx.stats["adopted"] += len(legs)
        log_event(events.LATE_FILL_ADOPTED, pair=pair, reason=what)
        self.tell(f"GhostGuard {pair}: fills no trade owned, netting to nothing, are booked: "
                  f"{what}.")
        self._again(record, "round trip booked: verifying", count=False)

    def _fill_role(self, fill: reconcile.UnownedFill, fetched: dict[str, Any]) -> str | None:
        shown = fetched.get(fill.order_id)
        side = fetched[f"{fill.order_id}:fill"][2]
        answer = shown if isinstance(shown, dict) else {"side": side}
        return self._role(fill.order_id, {**answer, "side": answer.get("side") or side})

    def _role(self, order_id: str, answer: dict[str, Any]) -> str | None:
        """Entry or exit: what the guard recorded, the database's row, a reduce-only flag, or
        a spot buy; None when nothing says."""
        known = self.ctx.store.order(order_id)
        if known is not None:
            return known.role
        row = ftmodel.db_order(order_id)
        if row is not None and row.ft_order_side != "stoploss":
            return ftmodel.role_of_row(row)
        if answer.get("reduceOnly"):
            return "exit"
        if not self.ctx.venue.futures:
            return "entry" if answer.get("side") == "buy" else "exit"
        return None

    def _reduce(
        self, record: PairLockRecord, decision: reconcile.Reduce, fetched: dict[str, Any]
    ) -> None:
        pair = record.pair
        if decision.fills and self._book_all(record, decision.fills, fetched) is None:
            return
        amount = abs(decision.amount)
        side = "buy" if decision.amount > 0 else "sell"
        exchange = self.ctx.venue.exchange
        try:
            amount = exchange.amount_to_precision(pair, amount)
            rate = exchange.get_rate(pair, side="exit", is_short=side == "buy", refresh=True)
            order = self.ctx.venue.original["create_order"](
                pair=pair, ordertype="market", side=side, amount=amount, rate=rate,
                leverage=1.0, reduceOnly=self.ctx.venue.futures, time_in_force="GTC",
            )
        except Exception as error:  # noqa: BLE001 - tried again next loop
            self._again(record, f"reduction failed ({answers.error_text(error)})")
            return
        self.ctx.stats["reduced"] += 1
        order_id = order.get("id") if isinstance(order, dict) else None
        text = f"sent back {amount:g} ({side}, order {order_id}) that no trade owned"
        log_event(events.LATE_FILL_REDUCED, pair=pair, order_id=order_id, reason=text)
        self.tell(f"GhostGuard {pair}: {text} (late_fill is \"reduce\").")
        self._again(record, "reduced: verifying", count=False)

    def _lock(self, record: PairLockRecord, why: str, unmanaged: bool) -> None:
        pair = record.pair
        now = self.ctx.clock()
        hours = self.ctx.settings(pair).lock_hours
        if record.expired:
            self._again(record, why, count=False, later=LOCKED_RECHECK_S)
            return
        if record.locked_until is not None:
            if now < record.locked_until:
                self._again(record, why, count=False, later=LOCKED_RECHECK_S)
                return
            self.ctx.store.put(replace(record, expired=True, next_check=now + LOCKED_RECHECK_S))
            ftmodel.unlock_pair(pair, f"the lock's {hours:g} h ran out; entries are checked")
            self.tell(
                f"GhostGuard {pair}: the lock ended after {hours:g} h and the pair trades again; "
                f"the exchange and the bot still disagree ({why})."
            )
            return
        advice = reconcile.lock_advice(why, hours, unmanaged)
        if ftmodel.lock_pair(pair, advice, hours):
            self.ctx.stats["locks"] += 1
        self.ctx.store.put(
            replace(record, reason=advice, locked_until=now + hours * 3600.0,
                    next_check=now + LOCKED_RECHECK_S)
        )
        self.tell(advice)

    def _shared(self, record: PairLockRecord, why: str) -> None:
        """Other bots' share of a symbol: the bot's own trades agree with what is its own."""
        log_event(events.SHARED_SYMBOL, pair=record.pair, reason=why)
        self._agreed(record)

    def _agreed(self, record: PairLockRecord) -> None:
        unknown = self.ledger.unknown_working_orders(record.pair) if record.working_orders else []
        if unknown:
            self.ledger.cancel_own_lost_orders(record.pair)
            why = f"orders the database does not know work on the exchange ({', '.join(unknown)})"
            if record.attempts + 1 >= reconcile.RECONCILE_ATTEMPTS:
                self._lock(record, why, unmanaged=False)
            else:
                self._again(record, why)
            return
        self.ledger.unlock_pair(record)
        for gone in self.ctx.store.all(OrderRecord):  # agreed: their fills are all booked
            if gone.pair == record.pair and gone.detected and gone.phase == Phase.DONE:
                if ftmodel.db_order(gone.order_id) is None:
                    self.ctx.store.remove(gone)
        if record.locked_until is not None and not record.expired:
            self.tell(f"GhostGuard {record.pair}: exchange and database agree again; unlocked.")

    def _again(
        self, record: PairLockRecord, why: str, count: bool = True, later: float = 0.0
    ) -> None:
        """Look again at the next loop (`later`: that many seconds on)."""
        current = self.ctx.store.of_pair(PairLockRecord, record.pair) or record
        attempts = current.attempts + (1 if count else 0)
        self.ctx.store.put(
            replace(current, attempts=attempts, next_check=self.ctx.clock() + later)
        )
        logger.info("GhostGuard: reconciling %s: %s", record.pair, why)

    def tell(self, text: str) -> None:
        """A Freqtrade RPC message (Telegram, webhooks): on by default for what changes a
        position or stops a pair."""
        notify.tell(self.ctx, text)


def _failed(what: str, error: Exception) -> str:
    return f"{what} unreadable ({answers.error_text(error)})"


def _booked_anyway(order_id: str, filled: float) -> str | None:
    """Freqtrade commits an order's fill before its follow-up reads (the liquidation price
    reads the positions), which can raise: the fill is booked when an open trade's row now
    holds it."""
    row = ftmodel.db_order(order_id)
    if row is None or row.trade is None or not row.trade.is_open:
        return None
    if row.safe_filled < filled - AMOUNT_EPS:
        return None
    return f"booked on trade {row.trade.id} (order {order_id} filled {row.safe_filled:g})"


__all__ = ["Reconciler"]
