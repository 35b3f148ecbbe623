"""An order still open in the database after its trade closed (`orphans`): what the guard does
with it, from the venue's answer (`orphan_action`, facts in, verdict out), and the same through a
real FreqtradeBot on the simulator, guard on and off."""

from __future__ import annotations

import pytest
from freqtrade.persistence import Trade

from ghostguard.orphans import ORPHAN_READS, orphan_action
from tests.conftest import order_row, resting_dca
from tests.harness import run_loop


@pytest.mark.parametrize(
    ("status", "filled", "booked", "failed", "expected"),
    [
        ("open", 0.0, 0.0, 0, "cancel"),  # still working: nothing would manage its fill
        ("open", 0.01, 0.0, 0, "cancel"),  # partly filled and working: cancel first
        ("closed", 0.019, 0.0, 0, "reconcile"),  # filled after its trade closed
        ("canceled", 0.005, 0.0, 0, "reconcile"),  # part filled, then cancelled
        ("canceled", 0.0, 0.0, 0, "close"),  # nothing filled: the row closes, as Freqtrade would
        ("closed", 0.02, 0.02, 0, "close"),  # the database booked all of it
        ("expired", 0.0000001, 0.0, 0, "close"),  # within the amount tolerance
        (None, None, 0.0, 1, "wait"),  # unreadable: read again next loop
        (None, None, 0.0, ORPHAN_READS, "give_up"),  # then the position decides
        ("weird", None, 0.0, 1, "wait"),  # a status nobody documents is no answer
    ],
)
def test_orphan_action(status, filled, booked, failed, expected) -> None:
    assert orphan_action(status, filled, booked, 1e-6, failed) == expected


def _dca_open_on_a_closed_trade(sim, bot, script):
    """A trade with its entry filled and a DCA order resting, closed by a stop that filled its
    whole amount (as Freqtrade closes it: the DCA row stays open on the closed trade)."""
    _, dca = resting_dca(sim, bot, script)
    [trade] = Trade.get_open_trades()
    trade.close(trade.open_rate)
    Trade.commit()
    script.update(enter_long=0)  # no new trade meanwhile
    return dca


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_an_open_order_of_a_closed_trade_is_cancelled_and_its_row_closed(
    bot_on_sim, script, guard
):
    extra = {"stake_amount": 1000.0}
    with bot_on_sim(guard=guard, extra=extra, strategy="ChaosMakerStrategy") as (sim, bot):
        dca = _dca_open_on_a_closed_trade(sim, bot, script)
        run_loop(bot, 2, advance_seconds=5)
        if not guard:  # Freqtrade alone leaves it working: whatever it fills, no trade holds
            assert dca.is_open and order_row(dca.order_id).ft_is_open
            return
        assert not dca.is_open  # cancelled on the exchange
        row = order_row(dca.order_id)
        assert not row.ft_is_open and row.status == "canceled" and not row.filled
        assert not Trade.get_open_trades()  # nothing filled: nothing to adopt


def test_an_open_order_of_a_closed_trade_that_filled_is_adopted(bot_on_sim, script, events):
    extra = {"stake_amount": 1000.0}
    with bot_on_sim(extra=extra, strategy="ChaosMakerStrategy") as (sim, bot):
        dca = _dca_open_on_a_closed_trade(sim, bot, script)
        sim.fill_order(dca.order_id)
        run_loop(bot, 3, advance_seconds=5)
        adopted = [t for t in Trade.get_open_trades() if t.enter_tag == "ghostguard_adopted"]
        assert [t.amount for t in adopted] == [pytest.approx(dca.orig_qty)]
        assert events.named("LATE_FILL_ADOPTED")


def test_an_orphan_with_no_usable_answer_is_left_to_the_position_after_a_bound(
    bot_on_sim, script, monkeypatch, caplog
) -> None:
    """An answer that says nothing (a status nobody documents) counts like no answer: after
    ORPHAN_READS loops the pair is reconciled against the position and the order no longer
    read, never read for ever."""
    extra = {"stake_amount": 1000.0}
    with bot_on_sim(extra=extra, strategy="ChaosMakerStrategy") as (sim, bot):
        dca = _dca_open_on_a_closed_trade(sim, bot, script)
        guard = bot.strategy.ghost_guard
        reads: list[str] = []

        def odd_answer(order_id: str, pair: str, params: dict | None = None) -> dict:
            reads.append(order_id)
            return {"id": order_id, "status": "pending_review", "filled": 0.0}

        monkeypatch.setattr(guard.ctx.venue, "fetch_order", odd_answer)
        run_loop(bot, ORPHAN_READS + 2, advance_seconds=5)
        assert reads.count(str(dca.order_id)) == ORPHAN_READS
        handed = [r.getMessage() for r in caplog.records
                  if f"order {dca.order_id} of closed trade" in r.getMessage()]
        assert handed and "unreadable (pending_review)" in handed[0]
