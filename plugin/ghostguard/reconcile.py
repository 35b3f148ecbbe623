"""Reconcile, don't lock: what to do when a pair's exchange position and the bot's trades
disagree, as a pure function of what the exchange showed (facts in, decision out).

Two independent reads must agree before anything is booked: the position (or, on spot, the base
balance) and the account's trades. The gap between the position and what the bot's trades hold
is *explained* when the fills the trades show beyond what the database booked add up to it
(within the market's amount tolerance). A lagging view alone never explains a gap: it waits.

- The reads agree (no gap): nothing to do; the disagreement is over.
- The gap is explained by fills of the bot's own orders: `late_fill` decides. "adopt" books
  them into Freqtrade's trades (an entry into the open trade of its direction, as one more
  entry order, or a new trade; an exit onto its trade); "reduce" sends back what adds to the
  position as a risk-reducing exit (a fill that reduced it is booked: that is only the truth);
  "lock" locks the pair and says the position is unmanaged.
- The reads agree, but fills of the bot's own orders that no trade holds net to nothing (an
  entry and the exit that closed it, both with answers lost): they are booked as one closed
  round trip, so that the trades' profit is the exchange's (nothing open changes).
- The gap is fills of other bots' orders (their client ids carry another bot's tag) on a
  shared symbol: their share; nothing is booked or locked (the bot's own fills beside them
  are planned as above).
- A read fails (the position, the fills): it looks again next loop; after
  `RECONCILE_ATTEMPTS` loops the position alone decides (`unreadable`): agreeing, the hold
  ends; otherwise a lock, lifted once the reads agree.
- Otherwise (a view lags, coins held outside the bot, an order of somebody else, fills the venue
  no longer lists) it waits a few loops, then locks the pair for `lock_hours`, saying what the
  user can do. Only a person can decide that.

No I/O here: `adoption` reads the exchange and books into Freqtrade's model.
"""

from __future__ import annotations

from dataclasses import dataclass


# Loops a gap may stay unexplained before the pair is locked (views that lag catch up).
RECONCILE_ATTEMPTS = 4


@dataclass(frozen=True)
class UnownedFill:
    """One order's fills the database does not hold: `delta` is the signed change of the
    position they made beyond what was booked (long > 0), `ours` whether the order carries the
    guard's client id (an order of somebody else is never booked)."""

    order_id: str
    delta: float
    ours: bool
    booked_row: bool  # the database has the order (it booked less than it filled)
    other_bot: bool = False  # its client id carries another bot's tag (ghostguard.identity)


@dataclass(frozen=True)
class Agree:
    pass


@dataclass(frozen=True)
class Adopt:
    fills: tuple[UnownedFill, ...]


@dataclass(frozen=True)
class RoundTrip:
    """Fills that net to nothing: booked as one closed trade."""

    fills: tuple[UnownedFill, ...]


@dataclass(frozen=True)
class Reduce:
    """Send `amount` (signed: the position change to make) back; book `fills` that reduced."""

    amount: float
    fills: tuple[UnownedFill, ...]


@dataclass(frozen=True)
class Shared:
    """The gap is other bots' fills on a shared symbol: nothing to book, nothing to lock."""

    why: str


@dataclass(frozen=True)
class Wait:
    why: str


@dataclass(frozen=True)
class Lock:
    why: str
    unmanaged: bool  # the exchange holds a position no trade manages


Decision = Agree | Adopt | RoundTrip | Reduce | Shared | Wait | Lock


def gap_text(position: float, expected: float) -> str:
    return f"exchange {position:g}, the bot's trades {expected:g}, gap {position - expected:+g}"


def plan(
    position: float,
    expected: float,
    tolerance: float,
    fills: list[UnownedFill],
    late_fill: str,
    attempts: int,
) -> Decision:
    """What to do about a pair whose position is `position` while its trades hold `expected`
    (both signed, long > 0), given the fills the database does not hold. Other bots' fills
    (their guards' tags) are their share of the position, taken out first: what remains is
    decided on the bot's own (an own fill is never hidden by another bot's fill that nets it
    to nothing)."""
    others = [f for f in fills if f.other_bot and not f.ours]
    if others:
        rest = [f for f in fills if not (f.other_bot and not f.ours)]
        share = sum(f.delta for f in others)
        decision = plan(position, expected + share, tolerance, rest, late_fill, attempts)
        if isinstance(decision, Agree) and abs(share) > tolerance:
            return Shared(f"{gap_text(position, expected)}: fills of other bots' orders "
                          f"({', '.join(f.order_id for f in others)}) on a shared symbol")
        return decision
    gap = position - expected
    explained = sum(f.delta for f in fills)
    slack = tolerance * max(1, len(fills))
    if abs(gap) <= tolerance:
        if abs(explained) <= slack:
            moved = [f for f in fills if abs(f.delta) > tolerance]
            if moved and all(f.ours for f in moved):
                return RoundTrip(tuple(moved))
            return Agree()
        # The trades show a fill no trade owns but the position does not (yet): one of the
        # two views lags. Nothing is booked on one witness.
        return _wait_or_lock(
            attempts,
            f"{gap_text(position, expected)}, but the trades show {explained:+g} the bot's "
            "trades do not hold: a view lags",
            unmanaged=False,
        )
    if fills and abs(explained - gap) <= slack:
        foreign = [f.order_id for f in fills if not f.ours]
        if foreign:
            return _wait_or_lock(
                attempts,
                f"{gap_text(position, expected)}: fills of orders the bot did not place "
                f"({', '.join(foreign)})",
                unmanaged=True,
            )
        if late_fill == "lock":
            return Lock(
                f"{gap_text(position, expected)} from fills of the bot's own orders "
                f"({', '.join(f.order_id for f in fills)}); late_fill is \"lock\"",
                unmanaged=True,
            )
        adding = abs(position) > abs(expected) + tolerance and gap * position > 0
        if late_fill == "reduce" and adding:
            reducing = tuple(f for f in fills if f.delta * position < 0)
            return Reduce(amount=-(gap - sum(f.delta for f in reducing)), fills=reducing)
        return Adopt(tuple(fills))
    why = (
        f"{gap_text(position, expected)}; the trades explain {explained:+g}"
        if fills
        else f"{gap_text(position, expected)}; no fill of the bot's explains it"
    )
    return _wait_or_lock(attempts, why, unmanaged=abs(position) > abs(expected) + tolerance)


def unreadable(
    position: float | None, expected: float, tolerance: float, attempts: int, why: str
) -> Decision:
    """What to do when a read the plan needs failed (`why`): look again next loop, for
    `RECONCILE_ATTEMPTS` loops in all; then the position alone decides, so that no outage holds
    a pair without end. The position agrees with the trades: nothing the trades miss can add
    to it (fills no trade holds then net to nothing), the hold ends. A gap, or no position at
    all: a lock, bounded and lifted as soon as the reads agree again."""
    if attempts + 1 < RECONCILE_ATTEMPTS:
        return Wait(why)
    if position is None:
        return Lock(f"{why} for {RECONCILE_ATTEMPTS} loops", unmanaged=False)
    if abs(position - expected) <= tolerance:
        return Agree()
    return Lock(
        f"{gap_text(position, expected)}; {why} for {RECONCILE_ATTEMPTS} loops",
        unmanaged=abs(position) > abs(expected) + tolerance,
    )


def _wait_or_lock(attempts: int, why: str, unmanaged: bool) -> Decision:
    if attempts + 1 < RECONCILE_ATTEMPTS:
        return Wait(why)
    return Lock(why, unmanaged)


def lock_advice(why: str, hours: float, unmanaged: bool) -> str:
    """The lock's reason, as a person reads it: what happened and what to do."""
    what = (
        "part of the position is in no trade: no stop-loss, ROI or exit signal watches it"
        if unmanaged
        else "the bot's trades hold more than the exchange"
    )
    return (
        f"GhostGuard: exchange and database disagree ({why}); {what}. New entries of this "
        f"pair wait up to {hours:g} h or until they agree. Close or adjust the difference on "
        "the exchange (or /delete_locks if it is meant to be there)."
    )


__all__ = [
    "RECONCILE_ATTEMPTS",
    "Adopt",
    "Agree",
    "Decision",
    "Lock",
    "Reduce",
    "RoundTrip",
    "Shared",
    "UnownedFill",
    "Wait",
    "gap_text",
    "lock_advice",
    "plan",
]
