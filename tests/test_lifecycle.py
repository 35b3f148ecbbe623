"""The order lifecycle, the loop plan and the records' codecs: pure, no bot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostguard import keys, lifecycle
from ghostguard.lifecycle import (
    BreakerTripped,
    CheckWatched,
    Detected,
    EndWatch,
    LateFill,
    Prune,
    RecheckLock,
    ResolveSuspect,
    SettleLostCreate,
)
from ghostguard.records import (
    ClientIdSequence,
    Cooldown,
    Intent,
    OrderRecord,
    PairLockRecord,
    PendingReplacement,
    Phase,
    SignalCounter,
    Watch,
)


PAIR = "BTC/USDT:USDT"
FIXTURE = Path(__file__).parent / "fixtures" / "state_v0_1_0.json"


def _order(**changes: object) -> OrderRecord:
    return OrderRecord(order_id="42", pair=PAIR, role="entry", **changes)  # type: ignore[arg-type]


# --- transitions ---------------------------------------------------------------------------


def test_not_found_answers_trip_the_breaker_once_at_the_threshold() -> None:
    record, effects = lifecycle.on_not_found(_order(), threshold=3, now=10.0)
    assert (record.phase, record.not_found, effects) == (Phase.NOT_FOUND, 1, ())
    record, effects = lifecycle.on_not_found(record, threshold=3, now=11.0)
    assert (record.phase, record.not_found, effects) == (Phase.NOT_FOUND, 2, ())
    record, effects = lifecycle.on_not_found(record, threshold=3, now=12.0)
    assert record.phase == Phase.SUSPECTED and record.tripped_at == 12.0
    assert effects == (BreakerTripped(record),)
    record, effects = lifecycle.on_not_found(record, threshold=3, now=13.0)
    assert (record.phase, record.not_found, effects) == (Phase.SUSPECTED, 4, ())


def test_any_answer_resets_the_count_and_untrips_an_unresolved_breaker() -> None:
    counting, _ = lifecycle.on_not_found(_order(), threshold=3, now=1.0)
    assert lifecycle.on_answer(counting)[0] == _order()
    suspected = _order(phase=Phase.SUSPECTED, not_found=3, tripped_at=1.0)
    back, _ = lifecycle.on_answer(suspected)
    assert (back.phase, back.not_found, back.tripped_at) == (Phase.TRACKED, 0, None)
    watch = Watch(until=100.0, next_check=5.0, interval=5.0, since=0.0)
    watching = _order(phase=Phase.SUSPECTED, not_found=3, tripped_at=1.0, watch=watch)
    assert lifecycle.on_answer(watching)[0].phase == Phase.WATCHING


def test_a_resolved_order_is_never_reset_nor_tripped_again() -> None:
    watch = Watch(until=100.0, next_check=5.0, interval=5.0, since=0.0)
    resolved, _ = lifecycle.on_resolved(
        _order(phase=Phase.SUSPECTED, not_found=3, tripped_at=1.0), filled=0.5, watch=watch
    )
    assert resolved.phase == Phase.WATCHING and resolved.resolved
    assert resolved.verified_filled == 0.5
    assert lifecycle.on_answer(resolved) == (resolved, ())
    again, effects = lifecycle.on_not_found(resolved, threshold=3, now=50.0)
    assert again.phase == Phase.WATCHING and effects == ()


def test_detection_is_logged_once_and_starts_the_watch() -> None:
    watch = Watch(until=100.0, next_check=5.0, interval=5.0, since=0.0)
    detected, effects = lifecycle.on_detected(_order(), "rest_status", "status=expired", watch)
    assert detected.phase == Phase.WATCHING and detected.watch == watch
    assert effects == (Detected(detected, "rest_status", "status=expired"),)
    assert lifecycle.on_detected(detected, "replace_response", None, watch) == (detected, ())
    # In dry-run nothing is watched: the order stays tracked, detected.
    quiet, _ = lifecycle.on_detected(_order(), "rest_status", None, None)
    assert quiet.phase == Phase.TRACKED and quiet.detected == "rest_status"


def test_the_watch_doubles_its_interval_reports_late_fills_and_ends() -> None:
    watch = Watch(until=100.0, next_check=5.0, interval=5.0, since=0.0)
    record = _order(phase=Phase.WATCHING, watch=watch, verified_filled=0.0)
    # A check is two reads in two loops: the open orders, then (due at once) the trades.
    checked, effects = lifecycle.on_watch_checked(record, now=5.0, filled=0.0)
    assert checked.watch == Watch(100.0, next_check=5.0, interval=5.0, since=0.0, read="trades")
    assert effects == ()
    checked, effects = lifecycle.on_watch_checked(checked, now=10.0, filled=0.0)
    assert checked.watch == Watch(100.0, next_check=20.0, interval=10.0, since=0.0, read="orders")
    late, effects = lifecycle.on_watch_checked(checked, now=20.0, filled=0.3)
    assert effects == (LateFill(late, 0.3, 0.0),) and late.verified_filled == 0.3
    ended, _ = lifecycle.on_watch_ended(late)
    assert ended.phase == Phase.DONE and ended.watch is None


def test_every_phase_change_is_in_the_table() -> None:
    events = ("not_found", "breaker_tripped", "answered", "detected", "resolved",
              "closed_elsewhere", "watch_ended", "resolve_failed", "watch_started")
    for (phase, event), target in lifecycle.TRANSITIONS.items():
        assert phase in Phase and event in events
        assert isinstance(target, Phase) or target == "rest"
    # Nothing leaves DONE.
    assert all(
        target == Phase.DONE for (phase, _), target in lifecycle.TRANSITIONS.items()
        if phase == Phase.DONE
    )


def test_a_watched_order_never_trips_the_breaker_and_keeps_its_watch() -> None:
    """A gone order being watched for a late fill answers "not found" (the venue forgot it):
    its watch goes on to its end. Before, the breaker tripped it into SUSPECTED, and the
    suspect's closed row ended it DONE: the late-fill watch stopped early (issue 16, item 6)."""
    watch = Watch(until=1000.0, next_check=5.0, interval=5.0, since=0.0)
    record = _order(phase=Phase.WATCHING, watch=watch, detected="rest_status")
    for _ in range(5):
        record, effects = lifecycle.on_not_found(record, 3, now=1.0)
        assert effects == ()
    assert record.phase == Phase.WATCHING and record.watch == watch
    suspect = _order(phase=Phase.SUSPECTED, not_found=3, tripped_at=1.0, watch=watch)
    closed, _ = lifecycle.on_closed_elsewhere(suspect)
    assert closed.phase == Phase.WATCHING and closed.watch == watch


def test_a_suspect_is_resolved_after_a_bounded_number_of_unreadable_loops() -> None:
    record = _order(phase=Phase.SUSPECTED, not_found=3, tripped_at=1.0)
    for attempt in range(lifecycle.RESOLVE_ATTEMPTS):
        assert not lifecycle.resolve_exhausted(record)
        record, _ = lifecycle.on_resolve_failed(record)
        assert record.phase == Phase.SUSPECTED and record.resolve_failures == attempt + 1
    assert lifecycle.resolve_exhausted(record)


def test_an_unverified_answer_starts_a_watch_with_what_freqtrade_booked() -> None:
    watch = Watch(until=1000.0, next_check=5.0, interval=5.0, since=0.0)
    record, _ = lifecycle.on_watch_started(_order(), watch, known=0.01)
    assert record.phase == Phase.WATCHING and record.verified_filled == 0.01
    later = Watch(until=2000.0, next_check=9.0, interval=5.0, since=0.0)
    again, _ = lifecycle.on_watch_started(record, later, known=0.0)
    assert again.watch == watch and again.verified_filled == 0.01  # a running watch is kept


@pytest.mark.parametrize(
    ("detection", "rationed"),
    [("rest_status", True), ("replace_response", True), ("circuit_breaker", True),
     ("create_rejected", True), ("lost_create", True), ("cancel", False)],
)
def test_only_ghost_replacements_are_rationed(detection: str, rationed: bool) -> None:
    pending = PendingReplacement(pair=PAIR, role="entry", order_id="1", detection=detection, at=0)
    assert lifecycle.is_rationed(pending) is rationed
    assert lifecycle.is_rationed(None) is False


# --- the loop plan -----------------------------------------------------------------------------


def test_the_loop_plan_is_empty_when_nothing_is_due() -> None:
    watch = Watch(until=100.0, next_check=50.0, interval=5.0, since=0.0)
    orders = [_order(), _order(phase=Phase.WATCHING, watch=watch), _order(phase=Phase.DONE)]
    intents = [Intent(PAIR, "entry", "gg1", None, 0.1, at=0.0)]
    locks = [PairLockRecord(PAIR, "why", next_check=60.0)]
    assert lifecycle.plan_loop(orders, intents, locks, now=10.0, prune_due=False) == []


def test_the_loop_plan_orders_its_work() -> None:
    due = Watch(until=100.0, next_check=5.0, interval=5.0, since=0.0)
    over = Watch(until=5.0, next_check=5.0, interval=5.0, since=0.0)
    suspect = _order(phase=Phase.SUSPECTED, not_found=3, tripped_at=1.0)
    watched = OrderRecord("43", PAIR, "exit", phase=Phase.WATCHING, watch=due)
    ended = OrderRecord("44", PAIR, "entry", phase=Phase.WATCHING, watch=over)
    intent = Intent(PAIR, "entry", "gg1", None, 0.1, at=0.0)
    lock = PairLockRecord(PAIR, "why", next_check=60.0)
    plan = lifecycle.plan_loop(
        [suspect, watched, ended], [intent], [lock], now=61.0, prune_due=True
    )
    assert plan == [
        SettleLostCreate(intent),
        ResolveSuspect(suspect),
        EndWatch(ended),
        CheckWatched(PAIR, "orders", (watched,)),
        RecheckLock(lock),
        Prune(),
    ]
    plan = lifecycle.plan_loop([watched], [], [], now=6.0, prune_due=False)
    assert plan == [CheckWatched(PAIR, "orders", (watched,))]


def test_the_watch_reads_once_per_pair_and_loop() -> None:
    """Three orders of one pair went at once, one of another pair: one read per pair. An order
    of the pair that wants the other read waits for the next loop."""
    due = Watch(until=100.0, next_check=5.0, interval=5.0, since=0.0)
    first = [
        OrderRecord(str(i), PAIR, "exit", phase=Phase.WATCHING, watch=due) for i in range(3)
    ]
    other = OrderRecord("9", "ETH/USDT:USDT", "exit", phase=Phase.WATCHING, watch=due)
    later = OrderRecord(
        "5", PAIR, "entry", phase=Phase.WATCHING,
        watch=Watch(until=100.0, next_check=6.0, interval=5.0, since=0.0, read="trades"),
    )
    plan = lifecycle.plan_loop([*first, later, other], [], [], now=7.0, prune_due=False)
    assert plan == [
        CheckWatched(PAIR, "orders", tuple(first)),
        CheckWatched("ETH/USDT:USDT", "orders", (other,)),
    ]


# --- records and keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        _order(signal="entry|x", placed_at=1.0),
        _order(phase=Phase.WATCHING, detected="rest_status", verified_filled=0.0,
               watch=Watch(until=9.0, next_check=2.0, interval=5.0, since=0.5)),
        _order(phase=Phase.SUSPECTED, not_found=3, tripped_at=4.0),
        PendingReplacement(PAIR, "exit", "7", "circuit_breaker", 3.0, breaker_tripped=True,
                           verified_filled=0.2),
        PendingReplacement(PAIR, "entry", None, "lost_create", 3.0, rejected_at_create=True,
                           client_id="gg1"),
        Intent(PAIR, "entry", "gg1", "abc", 0.01, 2.0),
        SignalCounter(PAIR, "entry", "entry|sig", approved=2, max_logged=True),
        Cooldown(PAIR, "exit", 5.0),
        ClientIdSequence("abc", next=3, at=1.0),
        PairLockRecord(PAIR, "GhostGuard: why", next_check=6.0),
    ],
)
def test_every_record_round_trips_through_its_key_and_document(record: object) -> None:
    key, doc = keys.encode(record)  # type: ignore[arg-type]
    assert keys.decode(key, json.loads(json.dumps(doc))) == record


def test_keys_split_pairs_with_colons_from_the_right() -> None:
    assert keys.pair_role_key(Intent, PAIR, "exit") == "lost:BTC/USDT:USDT:exit"
    decoded = keys.decode("sig:BTC/USDT:USDT:exit", {"signal": "s", "approved": 1})
    assert decoded == SignalCounter(PAIR, "exit", "s", approved=1)
    assert keys.decode("nonsense", {}) is None
    assert keys.decode("sig:BTC/USDT:USDT:sideways", {}) is None


def test_state_written_by_release_0_1_0_decodes_with_its_phases() -> None:
    """`tests/fixtures/state_v0_1_0.json` holds the rows the previous release (0.1.0, before
    the explicit lifecycle) wrote in one run: a ghost replaced, an order that then answered
    "not found" three times (suspected), a lock, a lost create; then one more loop (resolved).
    """
    snapshots = json.loads(FIXTURE.read_text())
    suspected = {k: keys.decode(k, v) for k, v in snapshots["suspected"].items()}
    assert None not in suspected.values()
    assert suspected["ord:1000001"].phase == Phase.WATCHING  # detected rest_status, watched
    assert suspected["ord:1000001"].watch is not None
    assert suspected["ord:1000002"].phase == Phase.SUSPECTED
    assert suspected["ord:1000002"].tripped_at is not None
    assert isinstance(suspected["lost:ETH/USDT:USDT:entry"], Intent)
    assert isinstance(suspected["lock:BTC/USDT:USDT"], PairLockRecord)
    assert suspected["sig:BTC/USDT:USDT:entry"].approved == 1
    resolved = {k: keys.decode(k, v) for k, v in snapshots["resolved"].items()}
    assert resolved["ord:1000002"].phase == Phase.WATCHING and resolved["ord:1000002"].resolved
    assert resolved["ord:1000002"].verified_filled == pytest.approx(0.001)
    gone = resolved["gone:BTC/USDT:USDT:entry"]
    assert gone.detection == "circuit_breaker" and gone.breaker_tripped
    assert resolved["gone:ETH/USDT:USDT:entry"].client_id == "ggabc123def456e0"
    # Written again by this release, each reads back the same.
    for record in (*suspected.values(), *resolved.values()):
        key, doc = keys.encode(record)
        assert keys.decode(key, doc) == record
