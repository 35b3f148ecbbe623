"""Detection: what the guard learns from Freqtrade's own status queries and cancels.

- `fetch_order` answers: "not found" counts toward the circuit breaker (one request a loop for
  a suspect, no retry back-off); a gone answer (cancelled/expired/rejected) for an order the
  database holds open is a detected ghost, and its fills are read from the exchange's trades
  before Freqtrade acts on it; a later answer never lowers a fill the database booked.
- `cancel_order_with_result`: never lets Freqtrade's made-up `{"status": "canceled",
  "filled": 0}` through, and raises nothing its callers do not catch: an entry's unconfirmed
  cancel is answered "open" (Freqtrade's own "not cancelled" path leaves the order as it is; its
  re-price retries get the same answer without a request, and `replace_order_failed` keeps the
  trade), an exit's is an `InvalidOrderException`, which `handle_cancel_exit` catches.

Which order the cancel wrapper is cancelling travels to the fetch wrapper inside it in a
context variable, set only for the duration of that cancel.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from freqtrade.exceptions import InvalidOrderException, TemporaryError
from freqtrade.persistence import Order

from ghostguard import answers, ftmodel, lifecycle, scopes
from ghostguard.checks import AMOUNT_EPS, as_amount
from ghostguard.context import GuardContext, safe
from ghostguard.ledger import Ledger
from ghostguard.records import PendingReplacement


logger = logging.getLogger("ghostguard")

CANCELLING: ContextVar[frozenset[str]] = ContextVar(
    "ghostguard_cancelling", default=frozenset()
)


@contextmanager
def cancelling(order_id: str) -> Iterator[None]:
    token = CANCELLING.set(CANCELLING.get() | {order_id})
    try:
        yield
    finally:
        CANCELLING.reset(token)


class Detection:
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
                # An order the guard tracks costs one request and no retry back-off: the
                # breaker counts "not found" across loops, so Freqtrade's ~35 s of sleeps buy
                # nothing (on Bybit too, whose fetch_order takes no `count`).
                order = once(order_id, pair, params)
            else:
                order = fetch(order_id, pair, params, **kwargs)
        except InvalidOrderException as error:
            if answers.is_not_found(error):
                safe(self.on_not_found, order_id, pair)
                if scopes.STARTING_UP.get():
                    # Freqtrade's start-up pass would take this as "cancelled" with the
                    # database's fill; it catches TemporaryError and keeps the order open
                    # for the breaker to verify.
                    raise TemporaryError(
                        f"GhostGuard: order {order_id} ({pair}) not found at start-up; "
                        "kept open for verification"
                    ) from error
            raise
        safe(self.on_status_answer, order_id, pair, order)
        if order_id in CANCELLING.get():
            return order
        try:
            return self.verify_gone_answer(order_id, pair, order)
        except TemporaryError:
            if order_id not in self.ctx.cancelled_this_loop:
                raise  # every other caller catches it (see the hook map)
            # Freqtrade's own re-fetch after this loop's cancel (the re-price path), whose
            # caller catches nothing: the cancel stays unconfirmed, as the cancel wrapper
            # answers one.
            amount = as_amount(order.get("amount")) if isinstance(order, dict) else None
            return self._unconfirmed(order_id, pair, amount or 0.0, None)

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
        what the trades show. Raises `TemporaryError` when the trades cannot be read: Freqtrade
        then skips the order this loop instead of acting on an unverified cancel.
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
            raise TemporaryError(
                f"GhostGuard: fills of order {order_id} ({pair}) unreadable after a "
                f"'{answer.get('status')}' answer ({answers.error_text(error)}); "
                "re-checking next loop"
            ) from error
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

    def _note_verified_fill(self, order_id: str, traded: float) -> None:
        record = self.ctx.store.order(order_id)
        if record is not None:
            self.ledger.apply(lifecycle.on_fill_verified(record, traded))

    # --- cancel_order_with_result (no made-up answers) ----------------------------------------

    def cancel_with_result(self, order_id: str, pair: str, amount: float) -> Any:
        exchange = self.ctx.venue.exchange
        self.ctx.cancelled_this_loop.add(order_id)
        with cancelling(order_id):
            cancel_error: Exception | None = None
            answer: Any = None
            try:
                answer = exchange.cancel_order(order_id, pair)
            except InvalidOrderException as error:
                cancel_error = error
                logger.warning("Could not cancel order %s for %s.", order_id, pair)
            if cancel_error is None and exchange.is_cancel_order_result_suitable(answer):
                return self._answered(order_id, pair, amount, answer, None)
            try:
                answer = exchange.fetch_order(order_id, pair)
            except InvalidOrderException as error:
                self.ctx.stats["fabricated_refused"] += 1
                logger.warning(
                    "GhostGuard: cancel of %s (%s) unconfirmed (cancel: %s; fetch: %s); "
                    "refusing Freqtrade's made-up 'canceled' answer, nothing is replaced",
                    order_id,
                    pair,
                    answers.error_text(cancel_error) if cancel_error else "no usable answer",
                    answers.error_text(error),
                )
                return self._unconfirmed(order_id, pair, amount, cancel_error)
            return self._answered(order_id, pair, amount, answer, cancel_error)

    def _answered(
        self, order_id: str, pair: str, amount: float, answer: Any, cancel_error: Exception | None
    ) -> Any:
        """The exchange answered (the cancel, or the re-fetch after it): its fills verified
        before Freqtrade sees it; fills that cannot be read leave the cancel unconfirmed."""
        try:
            answer = self.verify_gone_answer(order_id, pair, answer)
        except TemporaryError:
            return self._unconfirmed(order_id, pair, amount, cancel_error)
        safe(self._after_cancel, order_id, pair, answer, cancel_error)
        return answer

    def _unconfirmed(
        self, order_id: str, pair: str, amount: float, cancel_error: Exception | None
    ) -> dict[str, Any]:
        """Neither the cancel nor the re-fetch confirmed the order gone. Raising would leave
        `process()` from `manage_open_orders` (no exits that loop, then the worker's 30 s):
        an exit's cancel is refused the way its one caller catches, an entry's is answered
        with the order as the database knows it, still open."""
        row = ftmodel.db_order(order_id)
        if row is not None and ftmodel.role_of_row(row) == "exit":
            raise InvalidOrderException(
                f"GhostGuard: cancel of order {order_id} ({pair}) not confirmed by the "
                "exchange; re-checked next loop"
            ) from None
        if row is not None:
            answer = {**row.to_ccxt_object(), "status": "open"}
        else:
            answer = {"id": order_id, "symbol": pair, "status": "open", "amount": amount,
                      "filled": 0.0, "remaining": amount, "fee": {}, "info": {}}
        self.ctx.unconfirmed_cancels[order_id] = answer
        safe(self._after_cancel, order_id, pair, answer, cancel_error)
        return dict(answer)

    def keeping_trade(self, own: Callable[..., Any]) -> Callable[..., Any]:
        """Freqtrade's `replace_order_failed`, which deletes a trade with no closed entry: not
        while one of its orders is still open in the database. The cancel before the
        replacement did not complete (unconfirmed, answered "open", or refused by Freqtrade
        itself because the fill would be unexitable), so the order may still work and may hold
        fills: deleting the trade would forget both. The trade stays, its order open, to be
        fetched again next loop; a replacement that failed after a completed cancel is
        Freqtrade's own to handle."""

        @functools.wraps(own)
        def replace_order_failed(trade: Any, msg: str) -> Any:
            try:
                kept = [o.order_id for o in trade.open_orders]
            except Exception:  # noqa: BLE001 - Freqtrade's own handling then
                kept = []
            if not kept:
                return own(trade, msg)
            self.ctx.stats["trades_kept"] += 1
            logger.warning(
                "GhostGuard: keeping %s (Freqtrade: %s): order %s is still open in the "
                "database (its cancel did not complete); re-checked next loop",
                trade,
                msg,
                kept[0],
            )
            return None

        return replace_order_failed

    def _after_cancel(
        self, order_id: str, pair: str, answer: Any, cancel_error: Exception | None
    ) -> None:
        row = ftmodel.db_order(order_id)
        if row is None or row.ft_order_side == "stoploss":
            return
        if answers.gone_status(answer) is None:
            if isinstance(answer, dict) and answer.get("status") == "open":
                # The cancel is not confirmed (the order may still work, or a lagging view
                # shows it): Freqtrade may drop the trade all the same ("not cancelled"), so
                # the next placement of this pair and role is checked against the exchange.
                self.ledger.record_gone(pair, ftmodel.role_of_row(row), order_id, "cancel")
            return
        detection = "cancel"  # the bot's own cancel: a re-price (checked, never rationed)
        if cancel_error is not None and answers.is_not_found(cancel_error):
            detection = "replace_response"
            self.ledger.detected(row, detection, "cancel answered: already gone")
        self.ledger.record_gone(pair, ftmodel.role_of_row(row), order_id, detection)
