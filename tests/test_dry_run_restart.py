"""Dry-run after a restart (defect 8 of the correctness work): the guard read the position
from Freqtrade's in-memory dry-run orders, which are empty after a restart (an exit re-price was
then blocked with `no_position_to_exit`). In dry-run the position is what Freqtrade persisted
(its simulation's orders), with the in-memory fills on top."""

from __future__ import annotations

from freqtrade.persistence import Order, Trade

from ghostguard import ftmodel, venuefacts
from tests.conftest import PAIR, loop
from tests.harness import restart_bot


def _dry_orders(bot) -> dict:
    return bot.exchange._dry_run_open_orders


def test_an_exit_reprice_after_a_restart_goes_out_in_dry_run(events, script, tmp_path) -> None:
    from tests.harness import sim_bot

    config = {
        "ghost_guard": {"replacement_cooldown_s": 0.0},
        "exchange": {"pair_whitelist": [PAIR]},
        "db_url": f"sqlite:///{tmp_path / 'dry.sqlite'}",
    }
    with sim_bot(strategy="OverridingMakerStrategy", extra_config=config, dry_run=True,
                 db_url=f"sqlite:///{tmp_path / 'dry.sqlite'}") as (sim, bot):
        loop(bot)
        [entry] = Order.session.query(Order).all()
        entry_price = entry.price
        # The simulation fills the entry (the price comes through its limit).
        sim.set_price(PAIR, entry_price * 0.98)
        loop(bot, 2)
        [trade] = Trade.get_open_trades()
        assert trade.amount > 0
        bot = restart_bot(bot)
        bot.startup()
        memory = [o for o in _dry_orders(bot).values() if o.get("symbol") == PAIR]
        assert memory == []  # Freqtrade's simulation forgot its orders ...
        [trade] = Trade.get_open_trades()
        guard = bot.strategy.ghost_guard
        # ... the guard's dry-run position is what Freqtrade persisted.
        held = guard.ctx.venue.position(PAIR, ftmodel.booked_orders(PAIR))
        assert held == trade.amount > 0
        fact = venuefacts.position_fact(guard.ctx.venue, PAIR, 1, ftmodel.booked_orders(PAIR))
        assert fact.readings == (trade.amount,)
