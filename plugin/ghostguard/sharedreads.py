"""Reads shared by the replacement decisions of one bot loop: with many pairs, a storm of
ghosts (an exchange-wide expiry, a reconnect) makes one decision per pair in the same loop, and
one account-wide read can serve them all where the venue answers every symbol at the cost of
one (Binance USD-M `positionRisk`: weight 5 with or without a symbol; spot: the balances are
one read of every asset).

A shared answer serves a pair's decision only while it is fresh:

- it was read in this loop (`new_loop` forgets everything), at most `SHARED_MAX_AGE_S` ago on
  the guard's clock;
- nothing the guard saw since could have changed the pair: an order the bot sent or cancelled
  on the pair, or a fill Freqtrade's order read showed that its database did not have
  (`touch`). A touched pair reads again, and that fresh account-wide answer then serves every
  pair.

Only the checks of a replacement decision share (check 2, single reading). A risk-reducing
exit's clamp, the reconciliation and `position_check: "double"` always read afresh. No I/O here:
the caller passes the read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


SHARED_MAX_AGE_S = 2.0


class LoopReads:
    def __init__(self, max_age_s: float = SHARED_MAX_AGE_S) -> None:
        self.max_age_s = max_age_s
        self._answers: dict[str, tuple[float, Any]] = {}
        self._touched: dict[str, set[str]] = {}  # kind -> pairs touched since its answer
        self._rented: dict[str, int] = {}  # kind -> weight of per-symbol reads since its answer
        self.served = 0  # decisions served by an earlier read (counted for the figures)
        self.read = 0  # account-wide reads made

    def new_loop(self) -> None:
        self._answers.clear()
        self._touched.clear()
        self._rented.clear()

    def touch(self, pair: str) -> None:
        """Something may have changed the pair since the shared answers were read."""
        for touched in self._touched.values():
            touched.add(pair)

    def answer(self, kind: str, pair: str, now: float, read: Callable[[], Any]) -> Any:
        """The account-wide answer of `kind` for a decision on `pair`: the shared one while
        fresh for the pair, else `read()` (which then serves the others)."""
        cached = self._answers.get(kind)
        fresh = cached is not None and 0 <= now - cached[0] <= self.max_age_s
        if fresh and pair not in self._touched.get(kind, ()):
            self.served += 1
            return cached[1]
        answer = read()
        self.read += 1
        self._answers[kind] = (now, answer)
        self._touched[kind] = set()  # the fresh answer is as new as any change the guard saw
        return answer

    def rent_or_buy(
        self, kind: str, pair: str, now: float, weights: tuple[int, int],
        read_one: Callable[[], Any], read_all: Callable[[], Any],
    ) -> Any:
        """Where every symbol's answer weighs more than one symbol's (`weights`: one, all): a
        fresh answer of all serves the pair; else the pair's own read, until this loop's
        per-symbol reads would weigh as much as one read of all; then one read of all (which
        serves the rest while fresh). At most twice the cheaper of the two in hindsight, and
        a single decision costs one symbol's read. A pair touched since the answer of all reads
        its own symbol again."""
        cached = self._answers.get(kind)
        fresh = cached is not None and 0 <= now - cached[0] <= self.max_age_s
        if fresh and pair not in self._touched.get(kind, ()):
            self.served += 1
            return cached[1]
        one, every = weights
        rented = self._rented.get(kind, 0)
        if fresh or rented + one < every:
            self._rented[kind] = rented + one
            return read_one()
        answer = read_all()
        self.read += 1
        self._answers[kind] = (now, answer)
        self._touched[kind] = set()
        self._rented[kind] = 0
        return answer


__all__ = ["SHARED_MAX_AGE_S", "LoopReads"]
