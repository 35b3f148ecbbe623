"""An order's life as the guard tracks it, and a loop's work, as pure functions.

    tracked ──not found──▶ not_found ×n ──n = threshold──▶ suspected (breaker tripped)
       ▲                       │                              │ cancel by id + fills verified
       └──── any answer ───────┴──────── any answer ──────────┤
                                                              ▼
    tracked ──gone answer (detected)──────────────────────▶ watching ──watch ends──▶ done

`TRANSITIONS` is the only place a phase changes: every `on_*` function below looks its next
phase up there and returns the new record with the effects to run (log lines); nothing here
does I/O. `plan_loop` turns the records and the clock into the list of actions a bot loop runs
(resolve suspects, re-check the watchlist, settle lost creates, re-check locks, prune), which
the loop module then executes at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ghostguard.records import Intent, OrderRecord, PairLockRecord, PendingReplacement, Phase, Watch


WATCH_FIRST_INTERVAL_S = 5.0
WATCH_MAX_INTERVAL_S = 300.0
LOCK_RECHECK_S = 60.0
LOST_CREATE_GRACE_S = 60.0
# A suspect whose cancel or fills cannot be read is tried again next loop, at most this many
# loops; then it is resolved with what the exchange did show (the database's booked fill, the
# cancel's answer) and its watch goes on reading the trades for a late fill.
RESOLVE_ATTEMPTS = 3

# Detections where the bot itself cancelled its order (a re-price, or Freqtrade's unfilled
# timeout), or an entry on a pair whose disagreement outlived its lock: the next order is
# checked but never rationed by checks 5 and 6.
OWN_CANCEL_DETECTIONS = frozenset({"cancel", "reconciling"})

_REST = "rest"  # back to normal: watching when a watch is set, else tracked
TRANSITIONS: dict[tuple[Phase, str], Phase | str] = {
    # "order does not exist" answers, counted across loops
    (Phase.TRACKED, "not_found"): Phase.NOT_FOUND,
    (Phase.NOT_FOUND, "not_found"): Phase.NOT_FOUND,
    (Phase.SUSPECTED, "not_found"): Phase.SUSPECTED,
    (Phase.WATCHING, "not_found"): Phase.WATCHING,
    (Phase.DONE, "not_found"): Phase.DONE,
    # the count reached the threshold (once per order; a watched order is gone already and
    # its watch reads the fills: it never trips)
    (Phase.TRACKED, "breaker_tripped"): Phase.SUSPECTED,
    (Phase.NOT_FOUND, "breaker_tripped"): Phase.SUSPECTED,
    # any successful answer resets the count (and un-trips an unresolved breaker)
    (Phase.TRACKED, "answered"): Phase.TRACKED,
    (Phase.NOT_FOUND, "answered"): _REST,
    (Phase.SUSPECTED, "answered"): _REST,
    (Phase.WATCHING, "answered"): Phase.WATCHING,
    (Phase.DONE, "answered"): Phase.DONE,
    # a gone answer for an order the database holds open
    (Phase.TRACKED, "detected"): _REST,
    (Phase.NOT_FOUND, "detected"): _REST,
    (Phase.SUSPECTED, "detected"): Phase.SUSPECTED,
    (Phase.WATCHING, "detected"): Phase.WATCHING,
    (Phase.DONE, "detected"): Phase.DONE,
    # the guard verified a suspect gone (cancel by id, fills read) and resolved it
    (Phase.SUSPECTED, "resolved"): Phase.WATCHING,
    # a suspect's cancel or fills could not be read this loop (tried again, RESOLVE_ATTEMPTS)
    (Phase.SUSPECTED, "resolve_failed"): Phase.SUSPECTED,
    # a suspect whose database row is gone or closed: nothing to resolve (a watch goes on)
    (Phase.SUSPECTED, "closed_elsewhere"): _REST,
    # Freqtrade took an answer whose fills could not be verified (the trade list unreadable),
    # or a cancel the exchange did not confirm was answered "cancelled" in front of a
    # risk-reducing exit: the order's trades are watched for a late fill
    (Phase.TRACKED, "watch_started"): Phase.WATCHING,
    (Phase.NOT_FOUND, "watch_started"): Phase.WATCHING,
    (Phase.SUSPECTED, "watch_started"): Phase.WATCHING,
    (Phase.WATCHING, "watch_started"): Phase.WATCHING,
    (Phase.DONE, "watch_started"): Phase.DONE,
    # the watch window ended
    (Phase.WATCHING, "watch_ended"): Phase.DONE,
}


@dataclass(frozen=True)
class BreakerTripped:
    record: OrderRecord


@dataclass(frozen=True)
class Detected:
    record: OrderRecord
    detection: str
    reason: str | None


@dataclass(frozen=True)
class LateFill:
    record: OrderRecord
    filled: float
    known: float


Effect = BreakerTripped | Detected | LateFill
Step = tuple[OrderRecord, tuple[Effect, ...]]


def _move(record: OrderRecord, event: str, **changes: object) -> OrderRecord:
    """The record after `event`: its phase from TRANSITIONS (unknown pairs keep the phase)."""
    changed = replace(record, **changes)  # type: ignore[arg-type]
    target = TRANSITIONS.get((record.phase, event), record.phase)
    if target == _REST:
        target = Phase.WATCHING if changed.watch is not None else Phase.TRACKED
    return replace(changed, phase=Phase(target))


def on_not_found(record: OrderRecord, threshold: int, now: float) -> Step:
    count = record.not_found + 1
    trips = record.phase in (Phase.TRACKED, Phase.NOT_FOUND)
    if count >= threshold and record.tripped_at is None and trips:
        tripped = _move(record, "breaker_tripped", not_found=count, tripped_at=now)
        return tripped, (BreakerTripped(tripped),)
    return _move(record, "not_found", not_found=count), ()


def on_answer(record: OrderRecord) -> Step:
    """Any successful status answer: the exchange knows the order again."""
    if record.resolved or (record.not_found == 0 and record.phase != Phase.SUSPECTED):
        return record, ()
    return _move(record, "answered", not_found=0, tripped_at=None), ()


def on_detected(
    record: OrderRecord, detection: str, reason: str | None, watch: Watch | None
) -> Step:
    """A gone answer: logged once per order; the watch starts unless one runs already."""
    if record.detected:
        return record, ()
    detected = _move(
        record, "detected", detected=detection, watch=record.watch or watch
    )
    return detected, (Detected(detected, detection, reason),)


def on_fill_verified(record: OrderRecord, traded: float) -> Step:
    known = max(traded, record.verified_filled or 0.0)
    return replace(record, verified_filled=known), ()


def on_resolved(
    record: OrderRecord, filled: float, watch: Watch, cancel_confirmed: bool = False
) -> Step:
    resolved = _move(record, "resolved", resolved=True, verified_filled=filled, watch=watch,
                     cancel_confirmed=cancel_confirmed)
    return resolved, ()


def on_closed_elsewhere(record: OrderRecord) -> Step:
    return _move(record, "closed_elsewhere", resolved=True), ()


def on_resolve_failed(record: OrderRecord) -> Step:
    """A suspect's cancel or fills could not be read this loop."""
    return _move(record, "resolve_failed", resolve_failures=record.resolve_failures + 1), ()


def resolve_exhausted(record: OrderRecord) -> bool:
    """The suspect has been tried RESOLVE_ATTEMPTS loops: resolve it with what is known."""
    return record.resolve_failures >= RESOLVE_ATTEMPTS


def on_watch_started(record: OrderRecord, watch: Watch, known: float) -> Step:
    """Freqtrade booked `known` from an answer whose fills the guard could not verify: the
    order's trades are watched (a running watch keeps its window)."""
    verified = max(known, record.verified_filled or 0.0)
    return _move(record, "watch_started", watch=record.watch or watch, verified_filled=verified), ()


def on_watch_ended(record: OrderRecord) -> Step:
    return _move(record, "watch_ended", watch=None), ()


def on_watch_checked(record: OrderRecord, now: float, filled: float) -> Step:
    """A watch check ran (the read `record.watch.read` names). A check is two reads in two
    loops, one request each: the pair's open orders (is it working again?), then, in the next
    loop, its trades (did it fill?); then the next check at a doubled interval. A watch that
    cannot read trades (`since` unknown) reads the open orders only. A fill beyond what was
    known is a late fill."""
    assert record.watch is not None
    if record.watch.read == "orders" and record.watch.since is not None:
        watch = replace(record.watch, next_check=now, read="trades")  # due the next loop
    else:
        interval = min(record.watch.interval * 2, WATCH_MAX_INTERVAL_S)
        watch = replace(record.watch, next_check=now + interval, interval=interval, read="orders")
    known = record.verified_filled or 0.0
    if filled > known + 1e-9:
        late = replace(record, watch=watch, verified_filled=filled)
        return late, (LateFill(late, filled, known),)
    return replace(record, watch=watch), ()


def new_watch(now: float, watchlist_minutes: float, since: float | None) -> Watch:
    """Re-check for `watchlist_minutes`, first after WATCH_FIRST_INTERVAL_S."""
    return Watch(
        until=now + watchlist_minutes * 60.0,
        next_check=now + WATCH_FIRST_INTERVAL_S,
        interval=WATCH_FIRST_INTERVAL_S,
        since=since,
    )


def is_rationed(pending: PendingReplacement | None) -> bool:
    """A ghost replacement (the exchange took the order away) counts against checks 5 and 6;
    a re-price (the bot cancelled its own order) does not."""
    return pending is not None and pending.detection not in OWN_CANCEL_DETECTIONS


def pending_expired(pending: PendingReplacement, now: float, watchlist_minutes: float) -> bool:
    """A gone order stops making the next placement a replacement after its watch window."""
    return now - pending.at > max(watchlist_minutes * 60.0, LOCK_RECHECK_S)


# --- a loop's work, planned ------------------------------------------------------------------


@dataclass(frozen=True)
class SettleLostCreate:
    intent: Intent


@dataclass(frozen=True)
class ResolveSuspect:
    record: OrderRecord


@dataclass(frozen=True)
class CheckWatched:
    """One read for the watched orders of a pair that are due and want the same read (one
    request however many orders of the pair went at once)."""

    pair: str
    read: str
    records: tuple[OrderRecord, ...]


@dataclass(frozen=True)
class EndWatch:
    record: OrderRecord


@dataclass(frozen=True)
class SweepAgain:
    record: OrderRecord


@dataclass(frozen=True)
class RecheckLock:
    lock: PairLockRecord


@dataclass(frozen=True)
class Prune:
    pass


Action = (
    SettleLostCreate | ResolveSuspect | CheckWatched | EndWatch | SweepAgain | RecheckLock | Prune
)


def watch_checks(due: dict[str, list[OrderRecord]]) -> list[CheckWatched]:
    """At most one watch read per pair and loop: the read the longest-waiting due order of the
    pair wants, for every due order of the pair that wants it (the others are due again the
    next loop)."""
    checks = []
    for pair, records in due.items():
        first = min(records, key=lambda r: r.watch.next_check if r.watch else 0.0)
        assert first.watch is not None
        read = first.watch.read
        same = tuple(r for r in records if r.watch is not None and r.watch.read == read)
        checks.append(CheckWatched(pair, read, same))
    return checks


def plan_loop(
    orders: list[OrderRecord],
    intents: list[Intent],
    locks: list[PairLockRecord],
    now: float,
    prune_due: bool,
) -> list[Action]:
    """What this loop has to do, in order: lost creates, failed sweeps, suspects and the
    watchlist, locks, pruning. Empty when nothing is pending (then the loop costs no request)."""
    actions: list[Action] = [
        SettleLostCreate(intent)
        for intent in intents
        if now - (intent.checked_at or intent.at) >= LOST_CREATE_GRACE_S
    ]
    watched: dict[str, list[OrderRecord]] = {}
    for record in orders:
        if record.sweep_due:
            actions.append(SweepAgain(record))
        if record.phase == Phase.SUSPECTED:
            actions.append(ResolveSuspect(record))
        elif record.watch is not None and record.phase == Phase.WATCHING:
            if now > record.watch.until:
                actions.append(EndWatch(record))
            elif now >= record.watch.next_check:
                watched.setdefault(record.pair, []).append(record)
    actions.extend(watch_checks(watched))
    actions.extend(RecheckLock(lock) for lock in locks if now >= lock.next_check)
    if prune_due:
        actions.append(Prune())
    return actions
