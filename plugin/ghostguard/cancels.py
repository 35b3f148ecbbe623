"""The `cancel_order_with_result` wrapper: no made-up cancel answers, nothing raised that its
callers do not catch, nothing held back in front of a risk-reducing exit.

Freqtrade's own method answers `{"status": "canceled", "filled": 0}` when neither the cancel nor
the re-fetch after it worked; a filled order answered that way drops the trade and its fill.
The guard answers such an unconfirmed cancel the way each caller handles it: an entry's "open"
(Freqtrade's "not cancelled" path keeps the order; the breaker resolves it over the next loops),
an exit's with an `InvalidOrderException` (`handle_cancel_exit` catches it). In front of a
stop-loss, trailing stop, liquidation, emergency or force exit it answers "cancelled" with the
fill the database booked, as Freqtrade would, and watches the order.

Which order the cancel wrapper is cancelling travels to the fetch wrapper inside it in a
context variable, set only for the duration of that cancel. Part of `detection.Detection`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from freqtrade.exceptions import InvalidOrderException
from freqtrade.persistence import Order

from ghostguard import answers, ftmodel, scopes
from ghostguard.context import GuardContext, safe
from ghostguard.ledger import Ledger


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


class CancelWrapper:
    """The cancel side of `detection.Detection` (which provides the fetch side)."""

    ctx: GuardContext
    ledger: Ledger

    def verify_gone_answer(self, order_id: str, pair: str, answer: Any) -> Any:
        raise NotImplementedError

    def _watch(self, row: Order, known: float) -> None:
        raise NotImplementedError


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
            except Exception as error:  # noqa: BLE001 - nothing leaves a cancel Freqtrade catches none of
                self.ctx.stats["fabricated_refused"] += 1
                cancelled = answers.error_text(cancel_error) if cancel_error else "no usable answer"
                why = f"cancel: {cancelled}; fetch: {answers.error_text(error)}"
                return self._unconfirmed(order_id, pair, amount, cancel_error, why)
            return self._answered(order_id, pair, amount, answer, cancel_error)

    def _answered(
        self, order_id: str, pair: str, amount: float, answer: Any, cancel_error: Exception | None
    ) -> Any:
        """The exchange answered (the cancel, or the re-fetch after it): its fills verified
        before Freqtrade sees it (where they cannot be read, the answer as given, watched)."""
        answer = self.verify_gone_answer(order_id, pair, answer)
        safe(self._after_cancel, order_id, pair, answer, cancel_error)
        return answer

    def _unconfirmed(
        self,
        order_id: str,
        pair: str,
        amount: float,
        cancel_error: Exception | None,
        why: str = "the status query failed",
    ) -> dict[str, Any]:
        """Neither the cancel nor the re-fetch confirmed the order gone. Raising would leave
        `process()` from `manage_open_orders` (no exits that loop, then the worker's 30 s):
        an exit's cancel is refused the way its one caller catches, an entry's is answered
        with the order as the database knows it, still open. Both end by themselves: the next
        loop's status query answers, or after `circuit_breaker_threshold` not-found loops the
        breaker resolves the order. In front of a risk-reducing exit nothing is held back: the
        cancel is answered "cancelled" (`_released`)."""
        if scopes.reducing_risk():
            return self._released(order_id, pair, amount, why)
        row = ftmodel.db_order(order_id)
        exiting = row is not None and ftmodel.role_of_row(row) == "exit"
        logger.warning(
            "GhostGuard: cancel of %s (%s) unconfirmed (%s); refusing Freqtrade's made-up "
            "'canceled' answer: %s until the exchange answers for it",
            order_id,
            pair,
            why,
            "the exit stays open" if exiting else "the order is kept open",
        )
        if exiting:
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

    def _released(self, order_id: str, pair: str, amount: float, why: str) -> dict[str, Any]:
        """An unconfirmed cancel in front of a stop-loss, trailing stop, liquidation, emergency
        or force exit: answered "cancelled" with the fill the database booked, as Freqtrade
        itself would answer (never below it), so the exit goes out now. The order may still
        work: it is watched (cancelled if it turns up open, a late fill reported) and the next
        entry of the pair and role is checked."""
        row = ftmodel.db_order(order_id)
        if row is not None:
            filled = row.safe_filled
            answer = {**row.to_ccxt_object(), "status": "canceled", "filled": filled,
                      "remaining": max(row.safe_amount - filled, 0.0)}
        else:
            answer = {"id": order_id, "symbol": pair, "status": "canceled", "amount": amount,
                      "filled": 0.0, "remaining": amount, "fee": {}, "info": {}}
        self.ctx.stats["released_for_exit"] += 1
        intent = scopes.EXIT_INTENT.get()
        logger.warning(
            "GhostGuard: cancel of %s (%s) not confirmed by the exchange (%s) in front of a %s "
            "exit: answered cancelled with the %g booked, as Freqtrade would; the order is "
            "watched for a late fill",
            order_id,
            pair,
            why,
            intent.label if intent is not None else "risk-reducing",
            answer["filled"],
        )
        if row is not None:
            safe(self._watch, row, row.safe_filled)
            safe(self.ledger.record_gone, pair, ftmodel.role_of_row(row), order_id, "cancel")
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
