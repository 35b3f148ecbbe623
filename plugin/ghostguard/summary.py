"""The guard's state per pair in the bot's own log: every `SUMMARY_EVERY_S` of the guard's
clock and when the bot stops, the same view as `python -m ghostguard status` (ghosts by how
they were detected, what is watched, pending, reconciled or locked, adopted trades), with the
events of this run counted as they were logged (replacements, blocks by reason, late fills,
adoptions, duplicates cancelled).

`EventTally` counts; `lines` renders; the guard (`guard.GhostGuard`) feeds and logs them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from ghostguard import status


SUMMARY_EVERY_S = 3600.0


class EventTally:
    """The events this bot logged, per (name, pair, reason codes): a listener of
    `events.log_event`, counting only the kinds `status` shows, of the bot's own pairs."""

    def __init__(self, pairs: Iterable[str] | None = None) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.pairs = set(pairs) if pairs is not None else None

    def __call__(self, name: str, fields: dict[str, Any]) -> None:
        pair = str(fields.get("pair") or "")
        if name not in status.COUNTED_EVENTS or not pair:
            return
        if self.pairs is not None and pair not in self.pairs:
            return  # another bot's in this process (tests): not this bot's
        codes = ""
        if name == "REPLACEMENT_BLOCKED":
            codes = ",".join(status.reason_codes(str(fields.get("reason") or "")))
        self.counts[(name, pair, codes)] += 1

    def logged(self) -> list[tuple[str, dict[str, str]]]:
        """The counted events, as `status.summarize` takes a log's."""
        found: list[tuple[str, dict[str, str]]] = []
        for (name, pair, codes), n in self.counts.items():
            found.extend([(name, {"pair": pair, "reason": codes})] * n)
        return found


def lines(
    records: Iterable[Any],
    adopted: Iterable[tuple[str, bool]],
    locks: Iterable[tuple[str, str, str]],
    tally: EventTally,
    when: str,
) -> list[str]:
    """The summary's log lines (one header, then the pairs as `status` renders them)."""
    summary = status.summarize(records, adopted, locks, tally.logged())
    rendered = status.render(summary, f"{when}; events since the bot started", True)
    return rendered.splitlines()


__all__ = ["SUMMARY_EVERY_S", "EventTally", "lines"]
