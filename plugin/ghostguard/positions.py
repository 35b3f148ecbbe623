"""What a position reading allows beyond the six checks (pure): how far a risk-reducing exit
is clamped, and whether a position check that fails is other bots' share of the symbol."""

from __future__ import annotations

from ghostguard.checks import AMOUNT_EPS, PositionFact, position_of


def clamp_exit(fact: PositionFact, direction: int, amount: float) -> float:
    """A risk-reducing exit is never held back, only clamped: to the exchange position when it
    can be read and holds this direction, else the amount Freqtrade asked for (the exchange's
    own reduce-only rule still applies)."""
    position, _ = position_of(fact)
    if position is None or position * direction <= AMOUNT_EPS:
        return amount
    return min(amount, abs(position))


def shared_gap(
    found: tuple[float, tuple[str, ...]] | None, fact: PositionFact, tolerance: float
) -> tuple[str, ...]:
    """Other bots' orders whose fills the last reconciliation found to be the gap (`found`:
    the position then, the orders), while the position still reads the same."""
    position, _ = position_of(fact)
    if found is None or position is None or abs(position - found[0]) > max(tolerance, AMOUNT_EPS):
        return ()
    return found[1]


__all__ = ["clamp_exit", "shared_gap"]
