"""The six checks as pure functions: each verdict from facts alone."""

from __future__ import annotations

import pytest

from ghostguard.checks import (
    InternalStateFact,
    OpenOrdersFact,
    OriginalOrderFact,
    PositionFact,
    ReplacementFacts,
    check_attempt_limit,
    check_cooldown,
    check_internal_state,
    check_open_orders,
    check_original_order,
    check_position,
    decide,
)


@pytest.mark.parametrize(
    ("fact", "reason"),
    [
        (OriginalOrderFact("1", status="canceled", filled=0.0), None),
        (OriginalOrderFact("1", status="expired", filled="0"), None),
        (OriginalOrderFact("1", status="rejected", filled=0), None),
        (OriginalOrderFact("1", status="closed", filled=1.0), "original_order_filled"),
        (OriginalOrderFact("1", status="canceled", filled=0.4), "original_order_partial"),
        (OriginalOrderFact("1", status="open", filled=0.0), "original_order_still_active"),
        (OriginalOrderFact("1", status="weird", filled=0.0), "original_order_unknown_status"),
        (OriginalOrderFact("1", status=None, filled=0.0), "original_order_unknown_status"),
        (OriginalOrderFact("1", status="canceled", filled=None), "original_order_unknown_status"),
        (OriginalOrderFact("1", status="canceled", filled="x"), "original_order_unknown_status"),
        (OriginalOrderFact("1", status="canceled", filled=-1), "original_order_unknown_status"),
        (
            OriginalOrderFact("1", error="NetworkError: timeout"),
            "original_order_status_check_failed",
        ),
        (OriginalOrderFact("1", not_found=True), "original_order_unknown_status"),
        (
            OriginalOrderFact("1", not_found=True, breaker_tripped=True, verified_filled=0.0),
            None,
        ),
        (
            OriginalOrderFact("1", not_found=True, breaker_tripped=True, verified_filled=0.2),
            "original_order_partial",
        ),
        (
            OriginalOrderFact("1", not_found=True, breaker_tripped=True, verified_filled=None),
            "original_order_status_check_failed",
        ),
        (OriginalOrderFact(None, rejected_at_create=True), None),
        (OriginalOrderFact("1", fabricated=True), "original_order_status_check_failed"),
        # The gone order's fill is all held by a closed trade of the bot: the pair trades on.
        (OriginalOrderFact("1", status="closed", filled=1.0, closed_trade_booked=1.0), None),
        (OriginalOrderFact("1", status="canceled", filled=0.4, closed_trade_booked=0.4), None),
        (
            OriginalOrderFact("1", not_found=True, breaker_tripped=True, verified_filled=0.2,
                              closed_trade_booked=0.2),
            None,
        ),
        # ... but not a fill beyond what that trade holds, nor an order still working.
        (
            OriginalOrderFact("1", status="closed", filled=1.0, closed_trade_booked=0.4),
            "original_order_filled",
        ),
        (
            OriginalOrderFact("1", status="canceled", filled=0.6, closed_trade_booked=0.4),
            "original_order_partial",
        ),
        (
            OriginalOrderFact("1", status="open", filled=0.4, closed_trade_booked=0.4),
            "original_order_still_active",
        ),
        (
            OriginalOrderFact("1", status="closed", filled=None, closed_trade_booked=1.0),
            "original_order_filled",
        ),
    ],
)
def test_check_original_order(fact: OriginalOrderFact, reason: str | None) -> None:
    denial = check_original_order(fact)
    assert (denial.reason if denial else None) == reason


@pytest.mark.parametrize(
    ("role", "readings", "db", "direction", "reason", "clamped"),
    [
        ("entry", (0.0,), 0.0, 1, None, None),
        ("entry", (0.164,), 0.0, -1, "position_already_exists", None),
        ("entry", (0.3,), 0.1, 1, "position_mismatch", None),
        ("entry", (0.1,), 0.1, 1, None, None),
        ("entry", (0.1, 0.2), 0.1, 1, "position_check_failed", None),
        ("entry", (None,), 0.0, 1, "position_check_failed", None),
        ("exit", (0.0,), 1.0, 1, "no_position_to_exit", None),
        ("exit", (-1.0,), 1.0, 1, "no_position_to_exit", None),
        ("exit", (0.5,), 1.0, 1, None, 0.5),
        ("exit", (-2.0,), -2.0, -1, None, 1.0),
    ],
)
def test_check_position(role, readings, db, direction, reason, clamped) -> None:
    denial, amount = check_position(role, PositionFact(readings=readings), db, direction, 1.0)
    assert (denial.reason if denial else None) == reason
    assert amount == clamped


def test_check_position_error_blocks() -> None:
    denial, _ = check_position("entry", PositionFact(error="boom"), 0.0, 1, 1.0)
    assert denial is not None and denial.reason == "position_check_failed"
    assert "boom" in denial.detail


def test_open_orders_and_internal_state() -> None:
    assert check_open_orders(OpenOrdersFact()) is None
    assert check_open_orders(OpenOrdersFact(("9",))).reason == "duplicate_working_order"
    assert check_open_orders(OpenOrdersFact(error="x")).reason == "open_orders_check_failed"
    flipped = InternalStateFact(False, True, True)
    assert [d.reason for d in check_internal_state("entry", flipped)] == [
        "signal_no_longer_active",
        "bot_state_has_position",
    ]
    gone = InternalStateFact(True, False, False)
    assert [d.reason for d in check_internal_state("exit", gone)] == ["bot_state_no_position"]


def test_attempt_limit_and_cooldown() -> None:
    assert check_attempt_limit(2, 3) is None
    assert check_attempt_limit(3, 3).reason == "max_replacement_attempts"
    assert check_cooldown(None, 10.0, 1.0) is None
    assert check_cooldown(9.5, 10.0, 1.0).reason == "cooldown_active"
    assert check_cooldown(9.0, 10.0, 1.0) is None


def test_verdict_names_every_failing_check() -> None:
    facts = ReplacementFacts(
        role="entry",
        direction=1,
        amount=1.0,
        original=OriginalOrderFact("1", status="closed", filled=1.0),
        position=PositionFact(readings=(1.0,)),
        open_orders=OpenOrdersFact(("2",)),
        internal=InternalStateFact(False, False, False),
        db_position=0.0,
        approved_so_far=3,
        max_replacements=3,
        last_approved_at=9.9,
        now=10.0,
        cooldown_s=1.0,
    )
    verdict = decide(facts)
    assert not verdict.approved
    assert verdict.reasons == [
        "original_order_filled",
        "position_already_exists",
        "duplicate_working_order",
        "signal_no_longer_active",
        "max_replacement_attempts",
        "cooldown_active",
        "exposure_exceeds_target",
    ]


def test_exposure_counts_unknown_state_orders() -> None:
    from ghostguard.checks import check_exposure

    flat = PositionFact(readings=(0.0,))
    none_open = OpenOrdersFact()
    assert check_exposure("entry", flat, none_open, 0.0, 0.0, 1.0) is None
    denial = check_exposure("entry", flat, none_open, 1.0, 0.0, 1.0)
    assert denial is not None and denial.reason == "exposure_exceeds_target"
    assert check_exposure("entry", flat, OpenOrdersFact(("7",), 0.5), 0.0, 0.0, 1.0)
    assert check_exposure("exit", flat, none_open, 5.0, 0.0, 1.0) is None


def test_a_risk_reducing_exit_is_clamped_to_the_position_only_when_it_holds_its_direction():
    from ghostguard.positions import clamp_exit

    assert clamp_exit(PositionFact(readings=(0.01,)), 1, 0.03) == 0.01
    assert clamp_exit(PositionFact(readings=(0.05,)), 1, 0.03) == 0.03
    assert clamp_exit(PositionFact(readings=(0.0,)), 1, 0.03) == 0.03  # the venue's rule decides
    assert clamp_exit(PositionFact(readings=(-0.01,)), -1, 0.03) == 0.01
    assert clamp_exit(PositionFact(error="timeout"), 1, 0.03) == 0.03  # sent as asked


def test_other_bots_gap_names_their_orders_only_while_the_position_reads_the_same():
    from ghostguard.positions import shared_gap

    found = (0.002, ("1000012 (BTC/USDC)",))
    assert shared_gap(found, PositionFact(readings=(0.002,)), 1e-8) == found[1]
    assert shared_gap(found, PositionFact(readings=(0.004,)), 1e-8) == ()  # moved: reconcile
    assert shared_gap(found, PositionFact(error="timeout"), 1e-8) == ()
    assert shared_gap(None, PositionFact(readings=(0.002,)), 1e-8) == ()
