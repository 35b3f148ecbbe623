"""The six safety checks: pure functions from facts to a denial (or None).

No I/O here. The guard gathers the facts (exchange answers, database, clock) and each check
turns its facts into a verdict, the way Freqtrade's protections return one `ProtectionReturn`
and NautilusTrader's RiskEngine returns a denial reason per pre-trade check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal


Role = Literal["entry", "exit"]
GONE_STATUSES = ("canceled", "cancelled", "expired", "rejected")
KNOWN_STATUSES = ("open", "closed", *GONE_STATUSES)
# An amount below this counts as zero (exchange amounts are rounded to their step, far above).
AMOUNT_EPS = 1e-9


@dataclass(frozen=True)
class Denial:
    """One failing check: its number (1-6, 0 for the exposure rule), reason code and detail."""

    check: int
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason}({self.detail})" if self.detail else self.reason


@dataclass(frozen=True)
class Verdict:
    denials: tuple[Denial, ...]
    exit_amount: float | None = None

    @property
    def approved(self) -> bool:
        return not self.denials

    @property
    def reasons(self) -> list[str]:
        return [d.reason for d in self.denials]

    def describe(self) -> str:
        return ",".join(str(d) for d in self.denials)


def as_amount(value: Any) -> float | None:
    """A finite, non-negative number from an exchange field, or None if it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


# --- check 1: the original order's status on the exchange ------------------------------------


@dataclass(frozen=True)
class OriginalOrderFact:
    """What the exchange says now about the order that went away."""

    order_id: str | None
    status: Any = None
    filled: Any = None
    error: str | None = None  # any error other than a definitive not-found
    not_found: bool = False  # the exchange answered "order does not exist"
    breaker_tripped: bool = False  # the circuit breaker tripped and the order was verified gone
    verified_filled: float | None = None  # fills found on the exchange for a suspected-gone order
    rejected_at_create: bool = False  # post-only rejected at placement: no order ever existed
    fabricated: bool = False  # an answer the bot made up, not the exchange's word
    # What a closed trade of the bot's database holds filled of this order (None: no row, or
    # its trade is open). The next order of the pair and role is checked against the gone one;
    # once the trade that held its fill has closed, that fill was the bot's and was exited.
    closed_trade_booked: float | None = None


def _held_by_closed_trade(fact: OriginalOrderFact, filled: float | None) -> bool:
    """The exchange's fill of the gone order is all held by a closed trade of the bot: nothing
    of it can double, and blocking would stop the pair for the whole watch window."""
    booked = fact.closed_trade_booked
    return booked is not None and filled is not None and filled <= booked + AMOUNT_EPS


def check_original_order(fact: OriginalOrderFact) -> Denial | None:
    if fact.rejected_at_create:
        return None
    if fact.fabricated:
        return Denial(1, "original_order_status_check_failed", "answer was not the exchange's")
    if fact.error is not None:
        return Denial(1, "original_order_status_check_failed", fact.error)
    if fact.not_found:
        if not fact.breaker_tripped:
            return Denial(1, "original_order_unknown_status", "not found, breaker not tripped")
        if fact.verified_filled is None:
            return Denial(1, "original_order_status_check_failed", "fills not verified")
        if fact.verified_filled > AMOUNT_EPS and not _held_by_closed_trade(
            fact, fact.verified_filled
        ):
            return Denial(1, "original_order_partial", f"filled={fact.verified_filled:g}")
        return None
    status = fact.status
    if not isinstance(status, str) or status not in KNOWN_STATUSES:
        return Denial(1, "original_order_unknown_status", f"status={status!r}")
    if status == "open":
        return Denial(1, "original_order_still_active", "status=open")
    if status == "closed":
        if _held_by_closed_trade(fact, as_amount(fact.filled)):
            return None
        return Denial(1, "original_order_filled", "status=closed")
    filled = as_amount(fact.filled)
    if filled is None:
        return Denial(1, "original_order_unknown_status", f"filled={fact.filled!r}")
    if filled > AMOUNT_EPS and not _held_by_closed_trade(fact, filled):
        return Denial(1, "original_order_partial", f"status={status} filled={filled:g}")
    return None


# --- check 2: the exchange position --------------------------------------------------------


@dataclass(frozen=True)
class PositionFact:
    """Signed exchange position for the pair (long > 0, short < 0); readings agree or error."""

    readings: tuple[float | None, ...] = ()
    error: str | None = None


def position_of(fact: PositionFact) -> tuple[float | None, str | None]:
    """(the position, None), or (None, why it cannot be read)."""
    if fact.error is not None:
        return None, fact.error
    if not fact.readings or any(r is None or not math.isfinite(r) for r in fact.readings):
        return None, f"unreadable position {fact.readings!r}"
    first = fact.readings[0]
    assert first is not None
    if any(abs(r - first) > AMOUNT_EPS for r in fact.readings if r is not None):
        return None, f"readings disagree {fact.readings!r}"
    return first, None


def check_position(
    role: Role,
    fact: PositionFact,
    db_position: float,
    direction: int,
    amount: float,
    tolerance: float = AMOUNT_EPS,
) -> tuple[Denial | None, float | None]:
    """Entry: exchange position equals the database's (within `tolerance`, half the market's
    amount step). Exit: a position exists; clamp to it.

    Returns the denial (or None) and, for an exit, the amount clamped to the position.
    """
    position, error = position_of(fact)
    if position is None:
        return Denial(2, "position_check_failed", error or ""), None
    tolerance = max(tolerance, AMOUNT_EPS, abs(db_position) * 1e-9)
    if role == "entry":
        if abs(position - db_position) <= tolerance:
            return None, None
        detail = f"exchange={position:g} database={db_position:g}"
        if abs(db_position) <= AMOUNT_EPS:
            return Denial(2, "position_already_exists", detail), None
        return Denial(2, "position_mismatch", detail), None
    if position * direction <= tolerance:
        return Denial(2, "no_position_to_exit", f"exchange={position:g}"), None
    return None, min(amount, abs(position))


def partial_fill_booked(
    role: Role, fact: PositionFact, db_position: float, tolerance: float = AMOUNT_EPS
) -> bool:
    """An exit whose predecessor partly filled may be re-placed for the rest once that fill is
    booked: the exchange position equals the database's."""
    position, _ = position_of(fact)
    if role != "exit" or position is None:
        return False
    return abs(position - db_position) <= max(tolerance, AMOUNT_EPS, abs(db_position) * 1e-9)


# --- check 3: duplicate working orders -----------------------------------------------------


@dataclass(frozen=True)
class OpenOrdersFact:
    """Ids of open orders of the same role for the pair (stop orders already excluded)."""

    same_role_ids: tuple[str, ...] = ()
    same_role_remaining: float = 0.0
    error: str | None = None
    other_bots: tuple[str, ...] = ()  # open orders of other bots' guards (any role)


def shared_symbol(denial: Denial, other_bots: tuple[str, ...]) -> Denial:
    """A position check that failed while other bots' orders work on the symbol: the position
    may be theirs, so it proves nothing either way (nothing is reconciled or locked)."""
    return Denial(denial.check, "shared_symbol",
                  f"{denial.detail}; other bots' orders {'/'.join(other_bots)}")


def check_open_orders(fact: OpenOrdersFact) -> Denial | None:
    if fact.error is not None:
        return Denial(3, "open_orders_check_failed", fact.error)
    if fact.same_role_ids:
        return Denial(3, "duplicate_working_order", "ids=" + "/".join(fact.same_role_ids))
    return None


# --- beyond the six: exposure -----------------------------------------------------------------


def check_exposure(
    role: Role,
    position: PositionFact,
    open_orders: OpenOrdersFact,
    unknown_amount: float,
    db_position: float,
    amount: float,
    tolerance: float = AMOUNT_EPS,
) -> Denial | None:
    """Entry: position + open same-role orders + unknown-state orders + this order must stay
    within what the bot intends for the pair (what it holds per its database + this order),
    within the amount tolerance (half a step; on spot also the dust no order can sell).

    Unreadable facts are already denied by checks 2 and 3; they are not counted twice here.
    """
    if role != "entry":
        return None
    held, error = position_of(position)
    if held is None or error is not None or open_orders.error is not None:
        return None
    exposure = abs(held) + open_orders.same_role_remaining + unknown_amount + amount
    target = abs(db_position) + amount
    if exposure > target + max(tolerance, AMOUNT_EPS, target * 1e-9):
        return Denial(0, "exposure_exceeds_target", f"exposure={exposure:g} target={target:g}")
    return None


# --- check 4: internal state ----------------------------------------------------------------


@dataclass(frozen=True)
class InternalStateFact:
    signal_active: bool
    db_unexpected_position: bool  # entry: the database holds a filled position it should not
    db_has_position: bool  # exit: the database holds an open position


def check_internal_state(role: Role, fact: InternalStateFact) -> list[Denial]:
    if role == "exit":
        if not fact.db_has_position:
            return [Denial(4, "bot_state_no_position")]
        return []
    denials = []
    if not fact.signal_active:
        denials.append(Denial(4, "signal_no_longer_active"))
    if fact.db_unexpected_position:
        denials.append(Denial(4, "bot_state_has_position"))
    return denials


# --- checks 5 and 6: attempt limit and cooldown ------------------------------------------------


def check_attempt_limit(approved_so_far: int, max_replacements: int) -> Denial | None:
    if approved_so_far >= max_replacements:
        return Denial(5, "max_replacement_attempts", f"{approved_so_far}/{max_replacements}")
    return None


def check_cooldown(last_approved_at: float | None, now: float, cooldown_s: float) -> Denial | None:
    if last_approved_at is None:
        return None
    waited = now - last_approved_at
    if waited < cooldown_s:
        return Denial(6, "cooldown_active", f"waited={waited:.3f}s<{cooldown_s:g}s")
    return None


def check_auto_replace(auto_replace: bool) -> Denial | None:
    """`auto_replace_cancelled_orders: false`: ghosts are detected and resolved, never
    re-placed automatically (a re-price the strategy asks for is not a ghost re-placement)."""
    if not auto_replace:
        return Denial(0, "auto_replace_disabled")
    return None


# --- the verdict ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplacementFacts:
    """Everything the six checks need, gathered by the guard just before the order is sent."""

    role: Role
    direction: int  # +1 long, -1 short
    amount: float
    original: OriginalOrderFact
    position: PositionFact
    open_orders: OpenOrdersFact
    internal: InternalStateFact
    db_position: float
    approved_so_far: int
    max_replacements: int
    last_approved_at: float | None
    now: float
    cooldown_s: float
    unknown_amount: float = 0.0
    # A ghost replacement (the exchange took the order away) is rationed by checks 5 and 6 and
    # by `auto_replace_cancelled_orders`; a re-price (the bot cancelled its own order to move
    # it) is checked by 1-4 and the exposure rule only: a strategy that chases the book keeps
    # chasing.
    rationed: bool = True
    auto_replace: bool = True
    amount_tolerance: float = AMOUNT_EPS  # half the market's amount step
    extra: tuple[Denial, ...] = field(default_factory=tuple)


def rationing_denials(
    approved_so_far: int,
    max_replacements: int,
    last_approved_at: float | None,
    now: float,
    cooldown_s: float,
    auto_replace: bool,
) -> list[Denial]:
    """Checks 5 and 6 and the auto-replace switch: what limits ghost replacements only."""
    found = (
        check_attempt_limit(approved_so_far, max_replacements),
        check_cooldown(last_approved_at, now, cooldown_s),
        check_auto_replace(auto_replace),
    )
    return [denial for denial in found if denial is not None]


def offline_denials(
    role: Role,
    internal: InternalStateFact,
    rationed: bool,
    approved_so_far: int,
    max_replacements: int,
    last_approved_at: float | None,
    now: float,
    cooldown_s: float,
    auto_replace: bool,
) -> list[Denial]:
    """The checks that need no network (4, and for a ghost replacement 5, 6 and auto-replace):
    decided first, so that a replacement they block costs no request."""
    denials = check_internal_state(role, internal)
    if rationed:
        denials.extend(
            rationing_denials(
                approved_so_far, max_replacements, last_approved_at, now, cooldown_s,
                auto_replace,
            )
        )
    return denials


def decide(facts: ReplacementFacts) -> Verdict:
    """Run all six checks and name every failing one (not only the first)."""
    denials: list[Denial] = []
    original = check_original_order(facts.original)
    if original and not (
        original.reason == "original_order_partial"
        and partial_fill_booked(
            facts.role, facts.position, facts.db_position, facts.amount_tolerance
        )
    ):
        denials.append(original)
    position, exit_amount = check_position(
        facts.role,
        facts.position,
        facts.db_position,
        facts.direction,
        facts.amount,
        facts.amount_tolerance,
    )
    if position and facts.role == "entry" and facts.open_orders.other_bots and (
        position.reason != "position_check_failed"
    ):
        position = shared_symbol(position, facts.open_orders.other_bots)
    if position:
        denials.append(position)
    open_orders = check_open_orders(facts.open_orders)
    if open_orders:
        denials.append(open_orders)
    denials.extend(
        offline_denials(
            facts.role,
            facts.internal,
            facts.rationed,
            facts.approved_so_far,
            facts.max_replacements,
            facts.last_approved_at,
            facts.now,
            facts.cooldown_s,
            facts.auto_replace,
        )
    )
    exposure = check_exposure(
        facts.role,
        facts.position,
        facts.open_orders,
        facts.unknown_amount,
        facts.db_position,
        facts.amount,
        facts.amount_tolerance,
    )
    if exposure:
        denials.append(exposure)
    denials.extend(facts.extra)
    return Verdict(denials=tuple(denials), exit_amount=exit_amount)
