"""Once per bot loop: the actions `lifecycle.plan_loop` planned, executed at the edge.

Resolve suspected-gone orders (cancel by id, read the fills, resolve in Freqtrade's model),
re-check the watchlist for late fills, settle lost creates nobody claimed, reconcile pairs
whose exchange position and database disagree (`adoption`), read the open orders of closed
trades (`orphans`), prune. No request unless one of those is pending. Runs under the bot's
`_exit_lock`, the way Freqtrade's own order handling does.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from freqtrade.persistence import Trade

from ghostguard import answers, events, ftmodel, lifecycle, shares
from ghostguard.adoption import Reconciler
from ghostguard.checks import as_amount
from ghostguard.context import GuardContext, safe
from ghostguard.events import log_event
from ghostguard.intents import Intents
from ghostguard.ledger import Ledger
from ghostguard.orphans import Orphans
from ghostguard.records import ClientIdSequence, Intent, OrderRecord, PairLockRecord, Phase


logger = logging.getLogger("ghostguard")

PRUNE_EVERY_S = 600.0
CLIENT_ID_KEEP_S = 7 * 86400.0
# A gone order is remembered while the venue still answers its fills (its trade history), until
# a reconciliation of its pair agrees (`adoption`): reconciliation reads its fills by id.
GONE_KEEP_FALLBACK_S = 365 * 86400.0
# A watched order with no placement time (written by an early release): its trades from an hour
# before the check.
WATCH_SINCE_FALLBACK_S = 3600.0


class LoopWork:
    def __init__(self, ctx: GuardContext, ledger: Ledger, intents: Intents) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.intents = intents
        self.reconciler = Reconciler(ctx, ledger)
        self.orphans = Orphans(ctx, ledger)
        self.next_prune = 0.0

    def run(self) -> None:
        self.ledger.flush_custom_data()
        if self.ctx.registry is not None:
            safe(shares.publish, self.ctx)
        store = self.ctx.store
        store.flush()  # what a failed write left unwritten
        with self.ctx.bot._exit_lock:  # open orders of closed trades: Freqtrade's no more
            safe(self.orphans.run)
        now = self.ctx.clock()
        prune_due = now >= self.next_prune
        if prune_due:
            self.next_prune = now + PRUNE_EVERY_S
        active = store.active_orders()  # not every order of the history: those with work
        intents, locks = store.all(Intent), store.all(PairLockRecord)
        if not (active or intents or locks or prune_due):
            return
        actions = lifecycle.plan_loop(active, intents, locks, now, prune_due)
        if not actions:
            return
        with self.ctx.bot._exit_lock:
            for action in actions:
                safe(self.execute, action)
            Trade.commit()

    def execute(self, action: lifecycle.Action) -> None:
        if isinstance(action, lifecycle.SettleLostCreate):
            self.intents.settle(action.intent)
        elif isinstance(action, lifecycle.ResolveSuspect):
            self.resolve_suspect(action.record)
        elif isinstance(action, lifecycle.CheckWatched):
            self.check_watched(action)
        elif isinstance(action, lifecycle.SweepAgain):
            self.intents.sweep_again(action.record)
        elif isinstance(action, lifecycle.EndWatch):
            self.ledger.apply(lifecycle.on_watch_ended(action.record))
        elif isinstance(action, lifecycle.RecheckLock):
            self.reconciler.run(action.lock)
        elif isinstance(action, lifecycle.Prune):
            self.prune()

    def resolve_suspect(self, record: OrderRecord) -> None:
        """A tripped breaker: cancel by id, look up the fills, resolve in Freqtrade's model.
        A cancel or a trade list that cannot be read is tried again next loop, for at most
        `lifecycle.RESOLVE_ATTEMPTS` loops; then the order is resolved with what the exchange
        did show and its watch goes on reading the trades."""
        venue = self.ctx.venue
        order_id, pair = record.order_id, record.pair
        row = ftmodel.db_order(order_id)
        if row is None or not row.ft_is_open:
            self.ledger.apply(lifecycle.on_closed_elsewhere(record))
            return
        cancel_filled, cancelled = 0.0, False
        try:
            answer = venue.cancel_order(order_id, pair)
            if isinstance(answer, dict):
                cancel_filled = as_amount(answer.get("filled")) or 0.0
            how, cancelled = "cancel succeeded: the order was live", True
        except Exception as error:  # noqa: BLE001
            if not answers.is_not_found(error):
                if not self._gives_up(record, "cancel", error):
                    return
                how = f"cancel unanswered ({answers.error_text(error)})"
            else:
                how = "cancel: exchange does not know it either"
        traded, cost, read = 0.0, None, True
        try:
            traded, cost = venue.traded(order_id, pair, row.order_date_utc)
        except Exception as error:  # noqa: BLE001
            if not self._gives_up(record, "fills", error):
                return
            read = False
            how += "; fills unreadable: resolved with what the exchange showed, watched"
        # Every witness is a lower bound: the trades, the cancel's answer, and what the
        # database already booked from the exchange's own earlier answers.
        filled = max(traded, cancel_filled, row.safe_filled)
        complete = venue.fills_complete(row.order_date_utc)
        ccxt_order = answers.with_verified_fill(
            {**row.to_ccxt_object(), "status": "canceled"}, filled, row.safe_amount, traded, cost
        )
        watch = lifecycle.new_watch(
            self.ctx.clock(),
            self.ctx.settings(pair).watchlist_minutes,
            row.order_date_utc.timestamp(),
        )
        self.ledger.apply(lifecycle.on_resolved(record, filled, watch, cancelled))
        self.ledger.detected(row, "circuit_breaker", f"{how}; verified filled={filled:g}")
        self.ledger.record_gone(
            pair,
            ftmodel.role_of_row(row),
            order_id,
            "circuit_breaker",
            breaker_tripped=True,
            verified_filled=filled,
        )
        if read and not complete:  # before Freqtrade's booking, whose own reads may raise
            self.ledger.lock_unreadable_fills(pair, order_id, filled)
        trade = row.trade
        if ccxt_order["status"] == "closed":
            self.ctx.bot.update_trade_state(trade, order_id, ccxt_order)
        else:
            self.ctx.bot.handle_cancel_order(ccxt_order, row, trade, "ghost order (GhostGuard)")
        Trade.commit()

    def _gives_up(self, record: OrderRecord, what: str, error: Exception) -> bool:
        """Count a loop in which a suspect's cancel or fills could not be read; True once it
        has been tried `lifecycle.RESOLVE_ATTEMPTS` loops (resolve with what is known)."""
        current = self.ctx.store.order(record.order_id) or record
        if lifecycle.resolve_exhausted(current):
            return True
        failed = self.ledger.apply(lifecycle.on_resolve_failed(current))
        logger.warning(
            "GhostGuard: %s of suspect %s not readable (%s); retrying next loop (%d of %d)",
            what,
            record.order_id,
            answers.error_text(error),
            failed.resolve_failures,
            lifecycle.RESOLVE_ATTEMPTS,
        )
        return False

    def check_watched(self, check: lifecycle.CheckWatched) -> None:
        """Re-check the pair's suspected-gone originals with one request, however many went:
        the pair's open orders (one that turned up working is cancelled at once, one attempt)
        or the pair's trades (a fill beyond what was known is a late fill). What cannot be
        read now is read again at the next check."""
        venue, pair, now = self.ctx.venue, check.pair, self.ctx.clock()
        filled: dict[str, float] = {}
        if check.read == "trades":
            starts = [
                r.watch.since if r.watch and r.watch.since is not None else r.placed_at
                for r in check.records
            ]
            since = min((s for s in starts if s is not None), default=now - WATCH_SINCE_FALLBACK_S)
            try:
                traded = venue.traded_orders(
                    [r.order_id for r in check.records], pair, datetime.fromtimestamp(since, UTC)
                )
                filled = {order_id: amount for order_id, (amount, _) in traded.items()}
            except Exception:  # noqa: BLE001 - unreadable now: look again at the next check
                pass
        else:
            trade = ftmodel.open_trade(pair)
            entry_side = trade.entry_side if trade is not None else "buy"
            try:
                working = {
                    order_id
                    for order_id, _, _, _ in venue.open_orders_with_ids(pair, entry_side, True)
                }
            except Exception:  # noqa: BLE001 - unreadable now: look again at the next check
                working = set()
            for record in check.records:
                if record.order_id not in working:
                    continue
                safe(venue.cancel_order, record.order_id, pair)  # one attempt: no back-off
                log_event(
                    events.DUPLICATE_CANCELLED,
                    type=record.role,
                    pair=pair,
                    order_id=record.order_id,
                    reason="suspected-gone order turned up open",
                )
        for record in check.records:
            current = self.ctx.store.order(record.order_id) or record
            if current.watch is None or current.phase != record.phase:
                continue
            self.ledger.apply(
                lifecycle.on_watch_checked(current, now, filled.get(record.order_id, 0.0))
            )

    def _gone_keep_s(self) -> float:
        history = self.ctx.venue.adapter.trade_history
        return history.total_seconds() if history is not None else GONE_KEEP_FALLBACK_S

    def prune(self) -> None:
        """Forget orders whose trade is closed (or gone) and that nothing watches any more
        (orders that went gone: once their venue's trade history or a reconciliation that
        agreed lets them go), and client id sequences unused for a week."""
        store = self.ctx.store
        now = self.ctx.clock()
        done: list[OrderRecord | ClientIdSequence] = []
        candidates = [
            record for record in store.all(OrderRecord)
            if record.phase not in (Phase.WATCHING, Phase.SUSPECTED)
            # a gone order is remembered: a reconciliation may need its fills
            and not (record.detected and now - (record.placed_at or 0.0) < self._gone_keep_s())
        ]
        rows = ftmodel.db_orders([record.order_id for record in candidates])
        for record in candidates:
            row = rows.get(record.order_id)
            if row is None or (not row.ft_is_open and not (row.trade and row.trade.is_open)):
                done.append(record)
        done += [s for s in store.all(ClientIdSequence) if now - s.at > CLIENT_ID_KEEP_S]
        store.remove_many(done)  # one transaction
