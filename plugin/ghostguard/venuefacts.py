"""The facts of checks 1-3 of a replacement decision, read from the venue (each one request, or
a read the loop's decisions share: `sharedreads`); every failure is a fact that blocks. The
readers themselves are `venue.Venue`'s."""

from __future__ import annotations

import time

from ghostguard import answers, identity
from ghostguard.checks import OpenOrdersFact, OriginalOrderFact, PositionFact, Role
from ghostguard.records import PendingReplacement
from ghostguard.venue import Booked, Venue


def original_fact(
    venue: Venue, pending: PendingReplacement, closed_trade_booked: float | None = None
) -> OriginalOrderFact:
    """`closed_trade_booked`: `ftmodel.closed_trade_fill` of the gone order, read by the caller
    (the database is read on the bot's thread, not in the pool's)."""
    order_id = pending.order_id
    if pending.rejected_at_create or not order_id:
        return OriginalOrderFact(order_id=None, rejected_at_create=True)
    try:
        answer = venue.fetch_order(order_id, pending.pair)
    except Exception as error:  # noqa: BLE001
        if answers.is_not_found(error):
            return OriginalOrderFact(
                order_id=order_id,
                not_found=True,
                breaker_tripped=pending.breaker_tripped,
                verified_filled=pending.verified_filled,
                closed_trade_booked=closed_trade_booked,
            )
        return OriginalOrderFact(order_id=order_id, error=answers.error_text(error))
    if not isinstance(answer, dict):
        return OriginalOrderFact(order_id=order_id, error=f"answer={answer!r}")
    # A "closed" order that filled less than its amount ended early (Bybit's
    # PartiallyFilledCanceled): for check 1 it is a cancelled order with a partial fill.
    status = answers.gone_status(answer) or answer.get("status")
    return OriginalOrderFact(
        order_id=order_id, status=status, filled=answer.get("filled"),
        closed_trade_booked=closed_trade_booked,
    )


def position_fact(
    venue: Venue, pair: str, readings_wanted: int, booked: Booked | None = None,
    shared: bool = False,
) -> PositionFact:
    readings: list[float | None] = []
    # "double" wants two reads of its own; a venue not proven reads per symbol
    shared = shared and readings_wanted == 1 and venue.adapter.shared_positions
    try:
        for index in range(readings_wanted):
            if index:
                time.sleep(0.5)
            readings.append(venue.position(pair, booked, shared))
    except Exception as error:  # noqa: BLE001
        return PositionFact(error=answers.error_text(error))
    return PositionFact(readings=tuple(readings))


def open_orders_fact(
    venue: Venue, pair: str, role: Role, entry_side: str, own_prefix: str,
    registered: frozenset[str] = frozenset(),
) -> OpenOrdersFact:
    """Check 3's fact: the open orders of the role, but those other bots registered in the
    account registry (`registered`) and those of other bots' guards (another tag:
    ghostguard.identity), which are named apart whatever their role."""
    try:
        orders = venue.open_orders_with_ids(pair, entry_side, shared=True)
    except Exception as error:  # noqa: BLE001
        return OpenOrdersFact(error=answers.error_text(error))
    orders = [o for o in orders if o[0] not in registered]
    others = tuple(
        i for i, _, c, _ in orders if identity.owner(c, own_prefix) == "guard_bot"
    )
    same = [(i, r) for i, r, _, of in orders if of == role and i not in others]
    return OpenOrdersFact(
        same_role_ids=tuple(order_id for order_id, _ in same),
        same_role_remaining=sum(remaining for _, remaining in same),
        other_bots=others,
    )


__all__ = ["open_orders_fact", "original_fact", "position_fact"]
