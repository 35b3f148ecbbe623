"""Detection: what the guard learns from Freqtrade's own status queries and cancels.

- `fetch_order` answers: "not found" counts toward the circuit breaker (one request a loop for
  a suspect, no retry back-off; a network error or 5xx is retried as Freqtrade retries it); a
  gone answer (cancelled/expired/rejected) for an order the database holds open is a detected
  ghost, and its fills are read from the exchange's trades before Freqtrade acts on it; a later
  answer never lowers a fill the database booked. When the trades cannot be read, Freqtrade
  gets the exchange's own answer (at least the booked fill) and the order's trades are watched
  for a late fill: nothing is held back.
- `cancel_order_with_result`: never lets Freqtrade's made-up `{"status": "canceled",
  "filled": 0}` through, and raises nothing its callers do not catch: an entry's unconfirmed
  cancel is answered "open" (Freqtrade's own "not cancelled" path leaves the order as it is; its
  re-price retries get the same answer without a request, and `replace_order_failed` keeps the
  trade), an exit's is an `InvalidOrderException`, which `handle_cancel_exit` catches. Both end
  by themselves: the next loop's status query answers, or the breaker resolves the order.
- In front of a risk-reducing exit (a stop-loss, trailing stop, liquidation, emergency or force
  exit, and the cancels it makes first) nothing is held back: an unconfirmed cancel is answered
  "cancelled" with the fill the database booked, as Freqtrade itself would answer, and the order
  is watched (cancelled if it turns up working, a late fill reported); an order whose status
  query answers "not found" is shown as the database holds it, so that Freqtrade cancels it
  instead of refusing the exit.

Which order the cancel wrapper is cancelling travels to the fetch wrapper inside it in a
context variable, set only for the duration of that cancel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from freqtrade.exceptions import InvalidOrderException, TemporaryError
from freqtrade.persistence import Order

from ghostguard import answers, ftmodel, identity, lifecycle, scopes
from ghostguard.cancels import CANCELLING, CancelWrapper
from ghostguard.checks import AMOUNT_EPS, as_amount
from ghostguard.context import GuardContext, safe
from ghostguard.ledger import Ledger
from ghostguard.records import PendingReplacement
from ghostguard.venue import Venue


logger = logging.getLogger("ghostguard")


class Detection(CancelWrapper):
    def __init__(self, ctx: GuardContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger

    # --- fetch_order ----------------------------------------------------------------------

    def fetch_order(
        self,
        fetch: Callable[..., Any],
        order_id: str,
        pair: str,
        params: dict | None,
        kwargs: dict[str, Any],
    ) -> Any:
        unconfirmed = self.ctx.unconfirmed_cancels.get(order_id)
        if unconfirmed is not None:
            # This loop's cancel of it was not confirmed: the same answer, no request (the
            # re-price path re-fetches it three times; the breaker counts across loops).
            return dict(unconfirmed)
        once = self.ctx.venue.one_attempt_fetch() if "count" not in kwargs else None
        if once is not None and not self._tracked(order_id):
            once = None
        try:
            if once is not None:
                # An order the guard tracks: "not found" costs one request and no retry
                # back-off (the breaker counts it across loops, so Freqtrade's ~35 s of sleeps
                # buy nothing); a network error or 5xx is retried as Freqtrade would.
                order = Venue.retrying_transient(lambda: once(order_id, pair, params))
            else:
                order = fetch(order_id, pair, params, **kwargs)
        except InvalidOrderException as error:
            if not answers.is_not_found(error):
                return self._after_own_cancel(order_id, pair, error)
            safe(self.on_not_found, order_id, pair)
            if scopes.STARTING_UP.get():
                # Freqtrade's start-up pass would take this as "cancelled" with the database's
                # fill; it catches TemporaryError and keeps the order open for the breaker.
                raise TemporaryError(
                    f"GhostGuard: order {order_id} ({pair}) not found at start-up; "
                    "kept open for verification"
                ) from error
            shown = self._as_booked_for_exit(order_id)
            if shown is not None:
                return shown
            return self._after_own_cancel(order_id, pair, error)
        except TemporaryError as error:
            return self._after_own_cancel(order_id, pair, error)
        safe(self.on_status_answer, order_id, pair, order)
        if order_id in CANCELLING.get():
            return order
        return self.verify_gone_answer(order_id, pair, order)

    def _after_own_cancel(self, order_id: str, pair: str, error: Exception) -> Any:
        """A status query that failed. Freqtrade's own re-fetch of an order cancelled this loop
        (the re-price path's three re-fetches, whose caller catches nothing) gets the cancel's
        unconfirmed answer instead of an exception; every other caller gets what Freqtrade
        itself raises (each catches it: see the hook map)."""
        if order_id in self.ctx.cancelled_this_loop and order_id not in CANCELLING.get():
            row = ftmodel.db_order(order_id)
            return self._unconfirmed(
                order_id, pair, row.safe_amount if row else 0.0, error,
                f"re-fetch after this loop's cancel: {answers.error_text(error)}",
            )
        raise error

    def _as_booked_for_exit(self, order_id: str) -> dict[str, Any] | None:
        """In front of a risk-reducing exit, an open order whose status query answers "not
        found" is shown as the database holds it (open), so that Freqtrade cancels it (the
        cancel wrapper then answers it) instead of refusing the exit because it could not query
        it. Elsewhere: None (Freqtrade's caller handles the not-found, the breaker counts)."""
        if not scopes.reducing_risk() or order_id in CANCELLING.get():
            return None
        row = ftmodel.db_order(order_id)
        if not ftmodel.is_guarded_row(row):
            return None
        assert row is not None
        return {**row.to_ccxt_object(), "status": "open"}

    def _tracked(self, order_id: str) -> bool:
        """An order the guard has a record of, or any order the database holds (a closed one
        too: Freqtrade fetches closed orders again every loop until their fee is assigned)."""
        if self.ctx.store.order(order_id) is not None:
            return True
        row = ftmodel.db_order(order_id)
        return row is not None and row.ft_order_side != "stoploss"

    def on_not_found(self, order_id: str, pair: str) -> None:
        row = ftmodel.db_order(order_id)
        if not ftmodel.is_guarded_row(row):
            return
        assert row is not None
        threshold = self.ctx.settings(pair).circuit_breaker_threshold
        self.ledger.apply(
            lifecycle.on_not_found(self.ledger.record_for(row), threshold, self.ctx.clock())
        )

    def on_status_answer(self, order_id: str, pair: str, order: Any) -> None:
        record = self.ctx.store.order(order_id)
        if record is not None:
            stepped, effects = lifecycle.on_answer(record)
            if stepped != record:
                self.ledger.apply((stepped, effects))
        if order_id in CANCELLING.get() or not isinstance(order, dict):
            return
        status = answers.gone_status(order)
        if status is None:
            return
        row = ftmodel.db_order(order_id)
        if not ftmodel.is_guarded_row(row):
            return
        assert row is not None
        shown = order.get("status")
        why = f"status={shown}" if shown == status else f"status={shown} filled<amount"
        self.ledger.detected(row, "rest_status", why)
        self.ledger.record_gone(pair, ftmodel.role_of_row(row), order_id, "rest_status")

    # --- fills: the exchange's trades, never a status answer's `filled` alone ---------------

    def verify_gone_answer(self, order_id: str, pair: str, answer: Any) -> Any:
        """A cancelled/expired/rejected answer for an order the database holds open: its fills
        are read from the exchange's trades before Freqtrade acts on it (a stale "cancelled,
        filled 0" for a filled order would otherwise drop the trade and lose the fill).

        Returns the answer, with `filled` (and `status` closed when fully filled) raised to
        what the trades show. When the trades cannot be read, the answer as the exchange gave it
        (never below the booked fill): holding it back would hold back whatever Freqtrade does
        next, a stop-loss included. The order's trades are then watched for a late fill, and the
        next entry of the pair is a checked replacement (its position read sees any fill).
        """
        if self.ctx.dry_run or not isinstance(answer, dict):
            return answer
        row = ftmodel.db_order(order_id)
        if row is None or row.ft_order_side == "stoploss":
            return answer
        if not row.ft_is_open:
            return self._no_fill_regression(row, answer, row.status)
        # An order's fill never falls: an answer below what the database booked from an
        # earlier one lags or is stale, and Freqtrade would lower the row (a "cancelled,
        # filled 0" drops the trade and leaves its position with no stop-loss).
        answer = self._no_fill_regression(row, answer, None)
        if answers.gone_status(answer) is None:
            return answer
        try:
            traded, cost = self.ctx.venue.traded(order_id, pair, row.order_date_utc)
        except Exception as error:  # noqa: BLE001
            safe(self._fills_unverified, row, answer, error)
            return answer
        if not self.ctx.venue.fills_complete(row.order_date_utc):
            # Older than the venue's trade history: the trades are only a lower bound, and so
            # is what the database booked from the exchange's earlier answers. Never left
            # unknown: the pair stays locked until the exchange and the database agree.
            traded = max(traded, row.safe_filled)
            safe(self.ledger.lock_unreadable_fills, pair, order_id, traded)
        safe(self._note_verified_fill, order_id, traded)
        reported = as_amount(answer.get("filled"))
        if reported is not None and traded <= reported + AMOUNT_EPS:
            return answer
        amount = as_amount(answer.get("amount")) or row.safe_amount
        corrected = answers.with_verified_fill(answer, traded, amount, traded, cost)
        if corrected["status"] == "closed":
            # It filled: nothing went away, so the next order of this pair is no replacement.
            role = ftmodel.role_of_row(row)
            pending = self.ctx.store.of_pair_role(PendingReplacement, pair, role)
            if pending is not None and pending.order_id == order_id:
                self.ctx.store.remove(pending)
        self.ctx.stats["fills_corrected"] += 1
        safe(
            self.ledger.detected,
            row,
            "rest_status",
            f"answer said {answer.get('status')} filled={reported}; trades show {traded:g}",
        )
        logger.warning(
            "GhostGuard: order %s (%s) answered %s with filled=%s, but the exchange's trades "
            "show %s filled: taking the trades",
            order_id,
            pair,
            answer.get("status"),
            reported,
            traded,
        )
        return corrected

    def listed_orders(self, orders: Any) -> Any:
        """An order list's answers, each never below the fill the database booked for that
        order (a list that lags shows an order before its fill; Freqtrade books the list as it
        is). Anything unreadable is passed on as the exchange gave it."""
        if self.ctx.dry_run or not isinstance(orders, list):
            return orders
        # Another bot's guard's orders (their tag) are never this bot's: Freqtrade would book
        # one it does not know into the pair's trade ("Found previously unknown order").
        orders = [
            o for o in orders
            if not (isinstance(o, dict) and identity.owner(
                o.get("clientOrderId"), self.ctx.own_prefix) == "guard_bot")
        ]
        kept = safe(self._without_booked_stop_fills, orders)
        orders = kept if kept is not None else orders
        fixed = [safe(self._listed, order) for order in orders]
        return [new if new is not None else old for new, old in zip(fixed, orders, strict=True)]

    @staticmethod
    def _without_booked_stop_fills(orders: list[Any]) -> list[Any]:
        """Without the orders a booked stop placed when it triggered (Freqtrade books the stop
        under its algo id; it would book that order a second time, into whichever trade of
        the pair is open, as "previously unknown")."""
        pairs = {o.get("symbol") for o in orders if isinstance(o, dict) and o.get("symbol")}
        stops = [
            ((row.side or "").lower(), row.safe_filled, row.average)
            for pair in pairs for row in ftmodel.stop_rows(str(pair))
            if (row.filled or 0) > AMOUNT_EPS
        ]
        if not stops:
            return orders
        kept = []
        for order in orders:
            if (
                isinstance(order, dict) and order.get("id") is not None
                and ftmodel.db_order(str(order["id"])) is None
                and answers.is_booked_stop_fill(order, stops)
            ):
                logger.info(
                    "GhostGuard: order %s (%s) is the order a booked stop placed when it "
                    "triggered: left out of the order list Freqtrade books from",
                    order.get("id"), order.get("symbol"),
                )
                continue
            kept.append(order)
        return kept

    def _listed(self, order: Any) -> Any:
        if not isinstance(order, dict) or order.get("id") is None:
            return order
        row = ftmodel.db_order(str(order["id"]))
        if row is None or row.ft_order_side == "stoploss":
            return order
        return self._no_fill_regression(row, order, None if row.ft_is_open else row.status)

    @staticmethod
    def _no_fill_regression(
        row: Order, answer: dict[str, Any], status: str | None
    ) -> dict[str, Any]:
        """The answer, its fill raised to the one the database booked (`status`: the one to
        answer with, None for the answer's own)."""
        corrected = answers.with_booked_fill(
            answer, row.safe_filled, row.safe_amount, status, row.average
        )
        if corrected is None:
            return answer
        logger.warning(
            "GhostGuard: order %s (%s) answered filled=%s, below the %s already booked: "
            "keeping the booked fill",
            row.order_id,
            row.ft_pair,
            answer.get("filled"),
            row.safe_filled,
        )
        return corrected

    def _fills_unverified(self, row: Order, answer: dict[str, Any], error: Exception) -> None:
        """Freqtrade takes an answer whose fills the trades could not confirm: what it books
        (the answer's fill) is what the watch compares the trades with once they can be read."""
        known = max(as_amount(answer.get("filled")) or 0.0, row.safe_filled)
        self.ctx.stats["fills_unverified"] += 1
        logger.warning(
            "GhostGuard: fills of order %s (%s) unreadable after a '%s' answer (%s); taking the "
            "exchange's answer (filled %g) and watching the order's trades for a late fill",
            row.order_id,
            row.ft_pair,
            answer.get("status"),
            answers.error_text(error),
            known,
        )
        self._watch(row, known)
        self.ledger.record_gone(row.ft_pair, ftmodel.role_of_row(row), row.order_id, "rest_status")

    def _watch(self, row: Order, known: float) -> None:
        watch = lifecycle.new_watch(
            self.ctx.clock(),
            self.ctx.settings(row.ft_pair).watchlist_minutes,
            row.order_date_utc.timestamp(),
        )
        self.ledger.apply(lifecycle.on_watch_started(self.ledger.record_for(row), watch, known))

    def _note_verified_fill(self, order_id: str, traded: float) -> None:
        record = self.ctx.store.order(order_id)
        if record is not None:
            self.ledger.apply(lifecycle.on_fill_verified(record, traded))
