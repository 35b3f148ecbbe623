"""Schedules the campaign shrank from a guard-on failure, kept as tests (each fails on the
code before its fix). Replay any of them with `python -m tests.chaos --schedule '<json>'`."""

from __future__ import annotations

import pytest

from tests.chaos.runner import run_schedule
from tests.chaos.schedule import Schedule


# Seed 994 (2,000-schedule run on fac0615): a lost short entry no read could see (the lookup by
# client id, the open orders and the trades all missed it) filled while the position view
# lagged; the retry reused its client id -- Binance refuses a duplicate id among OPEN orders
# only -- and the short doubled. A lost create no read has found is an order of unknown state:
# its amount counts toward exposure until the watch window passes.
SEED_994 = (
    '{"seed":994,"steps":5,"start_signal":"short","advance_s":[1.0,2.0,2.0,30.0,2.0],'
    '"events":[{"step":2,"kind":"fill","role":"entry","which":"newest"},'
    '{"step":3,"kind":"reprice","on":true},'
    '{"step":1,"kind":"lagging_views","seconds":30,"views":"position","for_steps":4},'
    '{"step":0,"kind":"restart_unassigned_fee","for_steps":4,"count":null},'
    '{"step":0,"kind":"retried_create","for_steps":3}],'
    '"position_check":"single","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_994_a_lost_create_no_read_sees_is_not_retried_beside(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_994), guard=guard)
    if guard:
        assert not result.failed, result.violations
    else:
        # Freqtrade alone never learns of the lost order: it rests on the exchange, unknown.
        assert "b" in result.failed_invariants()


# Seed 126 of the first four-venue run (shrunk; it fails on Binance USD-M too): a restart, then
# an entry fills half while every read lags 3 s; the re-price's cancel is answered "open" by the
# lagging view, Freqtrade says "not cancelled" and drops the trade, and a new entry went out
# unchecked beside the half-filled one. An unconfirmed cancel now makes the next placement of
# that pair and role a checked one.
SEED_126 = (
    '{"seed":126,"steps":6,"start_signal":"long","advance_s":[30.0,0.5,30.0,1.0,2.0,5.0],'
    '"events":[{"step":1,"kind":"restart"},'
    '{"step":1,"kind":"partial","role":"entry","which":"newest","fraction":0.5},'
    '{"step":4,"kind":"reprice","on":true},'
    '{"step":2,"kind":"lagging_views","seconds":3,"views":"all","for_steps":6}],'
    '"position_check":"single","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false,"venue":"binance"}'
)


def test_seed_126_an_unconfirmed_cancel_makes_the_next_entry_checked() -> None:
    """Guard on only. Whether the harm happens depends on the wall clock (Freqtrade's candles
    decide when the re-price falls inside the 3 s lag): on the parent this test failed in 1 of
    5 runs, and a clean clone's guard-off run once did not double. It pins the path, it is not
    a reliable proof; a guard-off twin that passes only sometimes is not kept."""
    result = run_schedule(Schedule.from_json(SEED_126), guard=True)
    assert not result.failed, result.violations


# Seed 1236 of the first four-venue run (OKX; the shrinker kept every event): the second pair's
# entry half fills, the bot is down 91 days, then the entry fills a sixth more. The order is no
# longer found (OKX keeps order details 3 months), the breaker cancels it and reads its fills --
# but OKX's fills-history holds 3 months only: the trades showed 0.083 of the 0.249 that had
# filled, and the guard booked 0.083 without a lock (invariant c). An order whose life began
# before the venue's trade history now books at least what the database held and locks the pair
# until the exchange and the database agree. (Seed 1223 is the same on the first pair.)
SEED_1236 = (
    '{"seed":1236,"steps":21,"start_signal":"short","advance_s":[30.0,70.0,2.0,30.0,2.0,1.0,'
    '70.0,30.0,70.0,30.0,5.0,30.0,0.5,30.0,1.0,30.0,2.0,70.0,2.0,2.0,0.5],'
    '"events":[{"step":7,"kind":"archive_downtime","days":91},'
    '{"step":0,"kind":"lagging_views","seconds":10,"views":"all","for_steps":2},'
    '{"step":7,"kind":"force_exit"},{"step":4,"kind":"second_pair_fill","fraction":0.5},'
    '{"step":14,"kind":"second_pair_fill","fraction":1.0},'
    '{"step":8,"kind":"second_pair_fill","fraction":0.5}],'
    '"position_check":"double","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":true,"venue":"okx"}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_1236_fills_older_than_the_venues_history_are_reconciled(guard: bool) -> None:
    """Guarded, the fills the venue still lists (those after the database last booked the
    order) and the position agree on the part nobody booked: it is adopted onto the order's
    trade. (Before the reconciliation work the pair was locked, the extra short unmanaged.)"""
    result = run_schedule(Schedule.from_json(SEED_1236), guard=guard, keep_log=True)
    if guard:
        assert not result.failed, result.violations
        adopted = [line for line in result.log if "LATE_FILL_ADOPTED pair=ETH/USDT:USDT" in line]
        assert adopted and "order 1001238 filled 0.249" in adopted[0]
    else:
        # Freqtrade alone keeps the half fill it last saw and leaves its replacement unknown.
        assert "c" in result.failed_invariants()


# Seed 229 of the first four-venue run (Binance spot) was the oracle's: the engine's position is
# gross of the fee a spot BUY pays in BTC, so after the exit 0.00002 stayed behind and the next
# entry read 0.02001 > 0.02. Invariant (a) now reads the base balance the account holds on spot;
# the guard-off twin shows it still sees a real double there (0.03996 for one 0.02 entry).
SEED_229 = (
    '{"seed":229,"steps":20,"start_signal":"long","advance_s":[2.0,70.0,2.0,1.0,5.0,30.0,30.0,'
    '1.0,0.5,1.0,2.0,30.0,70.0,70.0,2.0,1.0,0.5,1.0,30.0,1.0],'
    '"events":[{"step":1,"kind":"stale_filled","role":"entry","which":"newest",'
    '"status":"CANCELED","fraction":1.0},{"step":1,"kind":"crash_before_send","for_steps":1},'
    '{"step":2,"kind":"delay_visibility","seconds":3,"for_steps":6},'
    '{"step":2,"kind":"cancel","role":"entry","which":"oldest"},'
    '{"step":2,"kind":"stale_filled","role":"exit","which":"newest","status":"CANCELED",'
    '"fraction":0.5},{"step":7,"kind":"stale_filled","role":"entry","which":"newest",'
    '"status":"CANCELED","fraction":1.0},{"step":7,"kind":"price","ticks":27},'
    '{"step":12,"kind":"restart"},{"step":12,"kind":"stale_filled","role":"exit",'
    '"which":"newest","status":"EXPIRED","fraction":1.0},{"step":14,"kind":"stale_filled",'
    '"role":"entry","which":"newest","status":"CANCELED","fraction":1.0},'
    '{"step":14,"kind":"expire","role":"exit","which":"oldest"},'
    '{"step":14,"kind":"signal","to":"long"},{"step":16,"kind":"reprice","on":true},'
    '{"step":17,"kind":"timeout","role":"entry","which":"newest"},'
    '{"step":5,"kind":"lagging_views","seconds":10,"views":"position","for_steps":2},'
    '{"step":7,"kind":"force_exit"}],"position_check":"double","dry_run":false,'
    '"stoploss_on_exchange":false,"second_pair":false,"venue":"binance-spot"}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_229_spot_fee_dust_is_no_double(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_229), guard=guard)
    if guard:
        assert not result.failed, result.violations
    else:
        assert "a" in result.failed_invariants()


# Seed 109 of the sixth stream's first run (shrunk): rapid cancellations while every create takes
# its own trip to the exchange (0.9 s, then 0.1 s, ...). The cooldown counted from the approval,
# so the first replacement's slow trip ate into it: the exchange stamped the next one 600 ms
# after it (cooldown 1 s; invariant i). It counts again from when the create came back.
SEED_109 = (
    '{"seed":109,"steps":3,"start_signal":"long","advance_s":[2.0,5.0,2.0],'
    '"events":[{"step":1,"kind":"slow_create","trips_s":[0.9,0.1,0.6,0.6,0.9,0.3],'
    '"rapid_steps":3}],"position_check":"single","dry_run":false,'
    '"stoploss_on_exchange":false,"second_pair":false,"venue":"binance"}'
)


def test_seed_109_a_slow_create_does_not_shorten_the_cooldown() -> None:
    result = run_schedule(Schedule.from_json(SEED_109), guard=True)
    assert not result.failed, result.violations
    assert result.applied["slow_create"] == 1


# Seed 1646 of the first four-venue run with the sixth stream (shrunk; Binance USD-M): a limit,
# not a fix. The entry fills, and every read lags it: the status answers "cancelled, filled 0",
# the trade list does not list the fill yet (120 s), the position view shows it 10 s late. No
# read the guard can make shows the fill, so the replacement is approved and, once it fills,
# the position is double. What the guard does then: the watchlist re-reads the gone order,
# finds the late fill and locks the pair for new entries. Pinned as it is (docs/behaviour.md,
# "What the guard cannot see"); a defence would change this test.
SEED_1646 = (
    '{"seed":1646,"steps":3,"start_signal":"long","advance_s":[1.0,1.0,0.5],"events":['
    '{"step":1,"kind":"stale_filled","role":"entry","which":"newest","status":"CANCELED",'
    '"fraction":1.0},{"step":2,"kind":"fill_during_cancel","role":"entry","which":"newest",'
    '"trigger":"timeout"},{"step":1,"kind":"lagging_views","seconds":10,"views":"position",'
    '"for_steps":4},{"step":0,"kind":"lagging_trades","seconds":120,"for_steps":6}],'
    '"position_check":"single","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false,"venue":"binance"}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_1646_when_every_read_lags_a_fill_the_late_fill_is_adopted(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_1646), guard=guard)
    log = "\n".join(result.log)
    if guard:
        assert result.failed_invariants() == ["a"]  # the double: no read could show the fill
        assert "GHOST_LATE_FILL" in log
        assert "LATE_FILL_ADOPTED pair=BTC/USDT:USDT" in log  # a trade manages all of it
    else:
        assert result.failed_invariants() == ["a", "c"]  # and the fill is lost, unlocked


# Seed 371 of the first four-venue run with invariant (c) without the lock excuse (Bybit): a
# stale "cancelled" entry filled while the trade list was hidden, the pair could not be
# reconciled and was locked for 4 h; 91 days of downtime later the fill was outside
# execution/list's default window and the position in no trade. The guard now remembers gone
# orders while their venue lists their fills and reads them by id: the fill is adopted.
SEED_371 = (
    '{"seed":371,"steps":13,"start_signal":"short","advance_s":[5.0,5.0,2.0,0.5,30.0,30.0,5.0'
    ',2.0,1.0,30.0,30.0,1.0,30.0],"events":[{"step":0,"kind":"crash_before_send","for_steps":'
    '2},{"step":0,"kind":"fail","method":"GET","path":"/fapi/v1/order","count":1},{"step":3,"'
    'kind":"stale_filled","role":"entry","which":"newest","status":"CANCELED","fraction":1.0}'
    ',{"step":3,"kind":"delay_visibility","seconds":120,"for_steps":5},{"step":3,"kind":"part'
    'ial","role":"entry","which":"newest","fraction":0.5},{"step":4,"kind":"price","ticks":-5'
    '7},{"step":7,"kind":"partial","role":"entry","which":"newest","fraction":0.25},{"step":9'
    ',"kind":"fail","method":"GET","path":"/fapi/v1/order","count":2},{"step":9,"kind":"timeo'
    'ut","role":"exit","which":"newest"},{"step":10,"kind":"price","ticks":9},{"step":10,"kin'
    'd":"reprice","on":true},{"step":10,"kind":"race_fill","role":"entry","which":"oldest","m'
    'ethod":"GET","path":"/fapi/v1/openOrders","nth":2,"fraction":1.0},{"step":8,"kind":"arch'
    'ive_downtime","days":91},{"step":1,"kind":"force_exit"},{"step":4,"kind":"restart_unassi'
    'gned_fee","for_steps":5,"count":6},{"step":3,"kind":"lagging_trades","seconds":30,"for_s'
    'teps":4},{"step":10,"kind":"stop_trigger","move":0.03,"prelude":"missing_entry"},{"step"'
    ':12,"kind":"transient_read","method":"GET","path":"/fapi/v3/positionRisk","after_cancel"'
    ':false}],"position_check":"single","dry_run":false,"stoploss_on_exchange":false,"second_'
    'pair":false,"venue":"bybit","stoploss":-0.02}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_371_a_fill_outside_the_fills_window_is_adopted(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_371), guard=guard, keep_log=True)
    if guard:
        assert not result.failed, result.violations
        assert any("LATE_FILL_ADOPTED" in line for line in result.log)
    else:
        assert "c" in result.failed_invariants()


# Seed 928 of the 2,000-schedule four-venue run on 9a6c421 (shrunk; Bybit): a DCA entry whose
# create was answered 503 filled, and so did the stop-loss exit whose create was answered 503;
# the two fills net to nothing, so the position agreed with the trades and the reconciliation
# let them be, booked nowhere (the trades' profit 28.5 USDT off the exchange's). Fills of the
# bot's own orders that net to nothing are booked as one closed round trip. Guard off: the
# short doubles (a) and neither fill is booked (c).
SEED_928 = (
    '{"seed":928,"steps":6,"start_signal":"short","advance_s":[0.5,5.0,1.0,2.0,30.0,2.0],'
    '"events":[{"step":2,"kind":"dca","on":true},'
    '{"step":3,"kind":"fill","role":"entry","which":"newest"},'
    '{"step":1,"kind":"unknown_create","count":2,"answer":"503"},'
    '{"step":4,"kind":"restart_unassigned_fee","for_steps":4,"count":6},'
    '{"step":5,"kind":"stop_trigger","move":0.03,"prelude":"none"}],'
    '"position_check":"single","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false,"venue":"bybit","stoploss":-0.02}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_928_fills_that_net_to_nothing_are_booked_as_a_round_trip(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_928), guard=guard, keep_log=True)
    if guard:
        assert not result.failed, result.violations
        # Since seed 353's fix the lost stop-loss is taken as the next stop-loss's answer, so
        # the DCA's late fill is adopted as a trade of its own; before, both were booked as
        # one round trip (the round trip itself is pinned by the reconciliation's plan tests).
        assert any(
            "a round trip as trade" in line or "taking it as this exit's answer" in line
            for line in result.log
        )
    else:
        assert {"a", "c"} <= set(result.failed_invariants())


# Seed 1223 of the 2,000-schedule four-venue run on 9a6c421 (shrunk; OKX): the exit rested and
# filled, then 91 days of downtime; OKX no longer knew the order ("51603 Order does not exist")
# nor its fills, the breaker could verify none of them, and the trade held 0.01 that the
# exchange no longer did ("Not enough BTC in wallet to exit", every loop; the pair locked 4 h).
# An exit the venue forgot whose remainder is exactly what the position lacks is booked filled
# at its limit price. Guard off: Freqtrade keeps the trade open with its exit not found (c).
SEED_1223 = (
    '{"seed":1223,"steps":23,"start_signal":"none","advance_s":[0.5,5.0,30.0,2.0,5.0,0.5,5.0,'
    '5.0,5.0,70.0,30.0,2.0,1.0,70.0,70.0,70.0,1.0,70.0,2.0,5.0,30.0,2.0,1.0],"events":['
    '{"step":1,"kind":"signal","to":"long"},{"step":3,"kind":"stale_filled","role":"entry",'
    '"which":"newest","status":"CANCELED","fraction":0.5},{"step":10,"kind":"signal","to":'
    '"exit"},{"step":14,"kind":"price","ticks":36},{"step":14,"kind":"archive_downtime",'
    '"days":91}],"position_check":"single","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false,"venue":"okx","stoploss":null}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_1223_an_exit_the_venue_forgot_is_booked_at_its_price(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_1223), guard=guard, keep_log=True)
    if guard:
        assert not result.failed, result.violations
        assert any("the venue no longer knows the order" in line for line in result.log)
    else:
        assert "c" in result.failed_invariants()


# Seed 1487 of the 2,000-schedule four-venue run on efd8c5b (shrunk; OKX): an entry filled
# while Freqtrade cancelled it for a re-price; 91 days of downtime later OKX no longer knew the
# order ("51603"), so its client id could not be read, and the reconciliation took its fill,
# still in the account's fills list, for somebody else's: the pair locked, the short in no
# trade (c). An order the guard remembers is the bot's own whatever the venue still answers:
# the fill is adopted. Guard off: the ETH entry Freqtrade lost track of rests unknown (b).
SEED_1487 = (
    '{"seed":1487,"steps":3,"start_signal":"short","advance_s":[70.0,0.5,0.5],"events":['
    '{"step":1,"kind":"fill_during_cancel","role":"entry","which":"oldest","trigger":"reprice"},'
    '{"step":2,"kind":"archive_downtime","days":91},{"step":1,"kind":"restart_unassigned_fee",'
    '"for_steps":3,"count":3}],"position_check":"double","dry_run":false,'
    '"stoploss_on_exchange":false,"second_pair":true,"venue":"okx","stoploss":-0.02}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_1487_a_remembered_order_is_the_bots_own_when_the_venue_forgot_it(
    guard: bool,
) -> None:
    result = run_schedule(Schedule.from_json(SEED_1487), guard=guard, keep_log=True)
    if guard:
        assert not result.failed, result.violations
        assert any("LATE_FILL_ADOPTED" in line for line in result.log)
    else:
        assert "b" in result.failed_invariants()


# The whole seed 1487: after the fix above, the forced exit resting before 91 days of downtime
# was cancelled by the breaker (OKX accepted the cancel: it was live), the stop-loss went out
# as a market order and filled; before Freqtrade booked that fill, the reconciliation took the
# cancelled exit for one the venue forgot and booked it filled at its limit price, while the
# stop-loss's real fill stayed unbooked (c). An exit whose cancel the venue accepted is never
# "forgotten", and nothing is while an order of the venue's history still works on the trade.
SEED_1487_WHOLE = (
    '{"seed":1487,"steps":9,"start_signal":"short","advance_s":[70.0,30.0,30.0,2.0,0.5,0.5,'
    '2.0,2.0,0.5],"events":[{"step":4,"kind":"fill_during_cancel","role":"entry","which":'
    '"oldest","trigger":"reprice"},{"step":5,"kind":"archive_downtime","days":3.5},{"step":8,'
    '"kind":"archive_downtime","days":91},{"step":4,"kind":"lagging_views","seconds":10,'
    '"views":"order","for_steps":2},{"step":4,"kind":"restart_unassigned_fee","for_steps":3,'
    '"count":3},{"step":7,"kind":"force_exit"},{"step":6,"kind":"second_pair_fill","fraction":'
    '1.0},{"step":8,"kind":"second_pair_fill","fraction":1.0},{"step":4,"kind":'
    '"second_pair_fill","fraction":1.0},{"step":8,"kind":"slow_create","trips_s":[0.6,0.0],'
    '"rapid_steps":0},{"step":3,"kind":"lagging_trades","seconds":30,"for_steps":3},{"step":5,'
    '"kind":"stop_trigger","move":0.03,"prelude":"none"},{"step":4,"kind":"trades_outage",'
    '"for_steps":1}],"position_check":"double","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":true,"venue":"okx","stoploss":-0.02}'
)


def test_seed_1487_whole_an_exit_whose_cancel_was_accepted_is_never_forgotten() -> None:
    result = run_schedule(Schedule.from_json(SEED_1487_WHOLE), guard=True, keep_log=True)
    assert not result.failed, result.violations
    assert not any("the venue no longer knows the order" in line for line in result.log)


# Seed 51 of the first 400 four-venue schedules with the eighth stream (another bot on the
# account; shrunk, Binance USD-M): the bot's short entry filled, and another bot's BUY of the
# same size filled on the symbol. Freqtrade's handle_onexchange_order lists the pair's orders
# and books one it does not know into the trade ("Found previously unknown order"): the other
# bot's BUY closed the bot's short trade in its database while the short stayed on the
# exchange, in no trade (c, m). The guard's fetch_orders wrapper leaves other bots' orders
# (their tag) out of the list. Guard off: Freqtrade alone books it (c, m).
SEED_51 = (
    '{"seed":51,"steps":2,"start_signal":"short","advance_s":[2.0,70.0],"events":[{"step":1,'
    '"kind":"fill","role":"entry","which":"newest"},{"step":1,"kind":"other_bot","side":"BUY",'
    '"fill":1.0}],"position_check":"double","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false,"venue":"binance","stoploss":null}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_51_another_bots_order_is_never_booked_into_the_trade(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_51), guard=guard, keep_log=True)
    if guard:
        assert not result.failed, result.violations
    else:
        assert {"c", "m"} <= set(result.failed_invariants())


# Seed 353 of the first 400 four-venue schedules with the eighth stream (shrunk; OKX): another
# bot's long of 0.02 on the symbol, the bot's long of 0.01; its stop-loss's answer was lost
# (50004) though it filled, and Freqtrade sent the stop-loss again the next loop. Alone on the
# account the exchange's reduce-only rule refuses that second exit; here the account still held
# the other bot's 0.02, so it sold 0.01 of the other bot's position (a: the bot short of its
# own; c: the first fill in no trade). The guard looks the lost exit up before a risk-reducing
# exit (as it did) and, now, takes it as this exit's answer when it filled what is asked. Guard
# off: Freqtrade alone sends it twice (a, c).
SEED_353 = (
    '{"seed":353,"steps":4,"start_signal":"long","advance_s":[2.0,2.0,30.0,2.0],"events":['
    '{"step":2,"kind":"unknown_create","count":1,"answer":"-1007"},{"step":2,"kind":'
    '"stop_trigger","move":0.05,"prelude":"partial_expire"},{"step":1,"kind":"other_bot",'
    '"side":"BUY","fill":1.0}],"position_check":"single","dry_run":false,'
    '"stoploss_on_exchange":false,"second_pair":false,"venue":"okx","stoploss":-0.02}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_353_a_lost_stop_loss_that_filled_is_not_sent_again(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_353), guard=guard, keep_log=True)
    if guard:
        assert not result.failed, result.violations
        assert any("taking it as this exit's answer" in line for line in result.log)
    else:
        assert {"a", "c"} <= set(result.failed_invariants())


# Seed 20014 of make test's 200 Binance schedules with the eighth stream (shrunk): the bot's
# long was stopped out by its stop on the exchange (an algo order; Freqtrade books the stop
# under the algo id, with the fill of the market order it placed). A lost create of the next
# entry filled and was adopted as a trade; then another bot's SELL reduced the account's
# position, so Freqtrade found that trade's balance short and listed the pair's orders: it
# booked the stop's market order, unknown to it by that id, into the adopted trade as well
# ("Found previously unknown order"), and the trade held 0.001 of the 0.021 on the exchange
# (c). The guard's fetch_orders wrapper leaves out an order a booked stop placed (its side,
# fill and average price are the booked stop's; tests/test_answers.py pins the match).
SEED_20014 = (
    '{"seed":20014,"steps":24,"start_signal":"long","advance_s":[1.0,30.0,2.0,0.5,1.0,2.0,0'
    '.5,1.0,2.0,1.0,5.0,2.0,70.0,2.0,30.0,2.0,30.0,70.0,0.5,0.5,1.0,70.0,70.0,5.0],"events"'
    ':[{"step":3,"kind":"reprice","on":true},{"step":3,"kind":"partial","role":"entry","whi'
    'ch":"oldest","fraction":0.5},{"step":4,"kind":"not_found","role":"entry","which":"newe'
    'st","count":10,"on_cancel":true,"then":"expire"},{"step":8,"kind":"stale_filled","role'
    '":"entry","which":"newest","status":"CANCELED","fraction":0.5},{"step":8,"kind":"race_'
    'fill","role":"entry","which":"newest","method":"GET","path":"/fapi/v3/positionRisk","n'
    'th":3,"fraction":1.0},{"step":8,"kind":"restart"},{"step":22,"kind":"partial","role":"'
    'entry","which":"newest","fraction":0.25},{"step":17,"kind":"restart_unassigned_fee","f'
    'or_steps":3,"count":3},{"step":20,"kind":"force_exit"},{"step":21,"kind":"slow_create"'
    ',"trips_s":[0.9,0.3,0.3,0.9,0.3,0.0],"rapid_steps":0},{"step":18,"kind":"lagging_trade'
    's","seconds":120,"for_steps":1},{"step":16,"kind":"stop_trigger","move":0.08,"prelude"'
    ':"partial_expire"},{"step":5,"kind":"store_fail","for_steps":3},{"step":19,"kind":"oth'
    'er_bot","side":"SELL","fill":1.0}],"position_check":"single","dry_run":false,"stoploss'
    '_on_exchange":true,"second_pair":false,"venue":"binance","stoploss":-0.02}'
)


def test_seed_20014_the_order_a_booked_stop_placed_is_never_booked_again() -> None:
    """Fails on 379439a (c). No guard-off twin in this shape: Freqtrade alone never adopts
    the lost create's fill, so no trade of the pair comes up short of balance here. The path
    depends on wall-clock timing under load (whether the create's answer is lost); what must
    hold on every path: the stop's market order is never booked as an unknown order."""
    result = run_schedule(Schedule.from_json(SEED_20014), guard=True, keep_log=True)
    assert not result.failed, result.violations
    assert not any("Found previously unknown order 1020017" in line for line in result.log)


# The 2,000-schedule four-venue run with another bot on the account (--other-bot, seed 1,
# product code dcef963): 8 guard-on schedules, shrunk. 1646 is the documented limit; the rest:
# - 53 (Bybit), 142 (OKX): dcef963's own change (a lost exit taken as the next exit's answer)
#   took an order Freqtrade had meanwhile booked from its order list: inserted twice (d). Not
#   on 39ea2f7. An order already booked is never taken again.
# - 579 (OKX), 1064 (Bybit): the stop-loss's lost earlier exit was found by client id, but its
#   trades could not be read, so nothing was subtracted and the stop-loss went out again,
#   selling the other bot's position (a, c). The fill the venue reports counts (a lower bound).
# - 1015 (Bybit): the loop had already found the lost exit filled (not booked yet) before the
#   next stop-loss: sent again (a, c). Exits found filled are remembered until a trade holds
#   them.
# - 682, 613 (Bybit): the other bot's fill netted the bot's own unbooked fill to nothing, and
#   the reconciliation agreed (c): other bots' fills are taken out first.
# Guard off (Freqtrade alone): 53 and 142 pass; 579, 1015, 1064 fail a, c; 613 b, c; 682 c.
OTHER_BOT_2000 = {
    53: (
        '{"seed":53,"steps":11,"start_signal":"long","advance_s":[0.5,2.0,5.0,70.0,0.5,5.0,2.0,0.'
        '5,70.0,2.0,30.0],"events":[{"step":3,"kind":"lost_create","count":2},{"step":4,"kind":"p'
        'artial","role":"entry","which":"newest","fraction":0.75},{"step":5,"kind":"lost_create",'
        '"count":2},{"step":6,"kind":"dca","on":true},{"step":1,"kind":"restart_unassigned_fee","'
        'for_steps":2,"count":3},{"step":9,"kind":"stop_trigger","move":0.03,"prelude":"partial_e'
        'xpire"},{"step":7,"kind":"trades_outage","for_steps":4}],"position_check":"double","dry_'
        'run":false,"stoploss_on_exchange":false,"second_pair":false,"venue":"bybit","stoploss":-'
        '0.02}'
    ),
    142: (
        '{"seed":142,"steps":7,"start_signal":"none","advance_s":[1.0,30.0,2.0,2.0,1.0,5.0,5.0],"'
        'events":[{"step":0,"kind":"signal","to":"long"},{"step":1,"kind":"signal","to":"exit"},{'
        '"step":2,"kind":"fill","role":"entry","which":"newest"},{"step":3,"kind":"not_found","ro'
        'le":"exit","which":"oldest","count":10,"on_cancel":false,"then":"partial"},{"step":5,"ki'
        'nd":"unknown_create","count":2,"answer":"503"},{"step":6,"kind":"stop_trigger","move":0.'
        '05,"prelude":"partial_expire"},{"step":4,"kind":"trades_outage","for_steps":2}],"positio'
        'n_check":"double","dry_run":false,"stoploss_on_exchange":false,"second_pair":false,"venu'
        'e":"okx","stoploss":-0.02}'
    ),
    579: (
        '{"seed":579,"steps":5,"start_signal":"short","advance_s":[30.0,1.0,30.0,2.0,0.5],"events'
        '":[{"step":1,"kind":"unknown_create","count":2,"answer":"503"},{"step":3,"kind":"stop_tr'
        'igger","move":0.05,"prelude":"partial_expire"},{"step":2,"kind":"trades_outage","for_ste'
        'ps":4},{"step":2,"kind":"other_bot","side":"SELL","fill":1.0}],"position_check":"double"'
        ',"dry_run":false,"stoploss_on_exchange":false,"second_pair":false,"venue":"okx","stoplos'
        's":-0.02}'
    ),
    613: (
        '{"seed":613,"steps":4,"start_signal":"long","advance_s":[5.0,0.5,2.0,5.0],"events":[{"st'
        'ep":0,"kind":"lost_create","count":2},{"step":0,"kind":"fail","method":"GET","path":"/fa'
        'pi/v1/openOrders","count":1},{"step":1,"kind":"not_found","role":"entry","which":"newest'
        '","count":10,"on_cancel":false,"then":"partial"},{"step":2,"kind":"signal","to":"short"}'
        ',{"step":3,"kind":"other_bot","side":"SELL","fill":0.5}],"position_check":"single","dry_'
        'run":false,"stoploss_on_exchange":false,"second_pair":false,"venue":"bybit","stoploss":n'
        'ull}'
    ),
    682: (
        '{"seed":682,"steps":15,"start_signal":"long","advance_s":[2.0,1.0,5.0,30.0,0.5,30.0,0.5,'
        '2.0,1.0,70.0,2.0,1.0,70.0,70.0,30.0],"events":[{"step":1,"kind":"fill","role":"entry","w'
        'hich":"newest"},{"step":6,"kind":"reprice","on":true},{"step":4,"kind":"unknown_create",'
        '"count":1,"answer":"-1007"},{"step":14,"kind":"force_exit"},{"step":2,"kind":"other_bot"'
        ',"side":"BUY","fill":1.0}],"position_check":"single","dry_run":false,"stoploss_on_exchan'
        'ge":false,"second_pair":false,"venue":"bybit","stoploss":null}'
    ),
    1015: (
        '{"seed":1015,"steps":3,"start_signal":"long","advance_s":[70.0,5.0,70.0],"events":[{"ste'
        'p":2,"kind":"lost_create","count":2},{"step":2,"kind":"stop_trigger","move":0.03,"prelud'
        'e":"partial_expire"},{"step":1,"kind":"other_bot","side":"BUY","fill":1.0}],"position_ch'
        'eck":"double","dry_run":false,"stoploss_on_exchange":false,"second_pair":true,"venue":"b'
        'ybit","stoploss":-0.02}'
    ),
    1064: (
        '{"seed":1064,"steps":5,"start_signal":"short","advance_s":[5.0,0.5,1.0,0.5,30.0],"events'
        '":[{"step":1,"kind":"fill_during_cancel","role":"entry","which":"newest","trigger":"none'
        '"},{"step":1,"kind":"unknown_create","count":2,"answer":"-1007"},{"step":2,"kind":"force'
        '_exit"},{"step":3,"kind":"stop_trigger","move":0.05,"prelude":"missing_entry"},{"step":1'
        ',"kind":"trades_outage","for_steps":null},{"step":4,"kind":"other_bot","side":"SELL","fi'
        'll":1.0}],"position_check":"double","dry_run":false,"stoploss_on_exchange":false,"second'
        '_pair":false,"venue":"bybit","stoploss":-0.02}'
    ),
}


@pytest.mark.parametrize("seed", sorted(OTHER_BOT_2000))
def test_other_bot_2000_run_guard_on(seed: int) -> None:
    result = run_schedule(Schedule.from_json(OTHER_BOT_2000[seed]), guard=True, keep_log=True)
    assert not result.failed, result.violations


@pytest.mark.parametrize("seed", [579, 613, 682, 1015, 1064])
def test_other_bot_2000_run_guard_off_twin(seed: int) -> None:
    result = run_schedule(Schedule.from_json(OTHER_BOT_2000[seed]), guard=False)
    assert result.failed


# The second 2,000-schedule run with the other bot (8f457e9): guard on 2, 1646 (the documented
# limit) and 1002 (Bybit, no other bot in the shrunk schedule): since the guard's trade reads
# take one attempt, a lost create's lookup failed where Freqtrade's retries had got through;
# after 91 days of downtime it found the create filled, but the account's fills list no longer
# held the fill and the reconciliation locked the pair (c). A lost create found filled is now
# remembered as the bot's gone order, its fills read by id. Fails on 8f457e9; guard off: a, c.
SEED_1002 = (
    '{"seed":1002,"steps":20,"start_signal":"short","advance_s":[0.5,1.0,30.0,1.0,2.0,70.0,70'
    '.0,2.0,30.0,5.0,2.0,2.0,1.0,5.0,2.0,2.0,30.0,0.5,2.0,30.0],"events":[{"step":1,"kind":"s'
    'tale_filled","role":"entry","which":"newest","status":"CANCELED","fraction":1.0},{"step"'
    ':4,"kind":"fail","method":"GET","path":"/fapi/v1/userTrades","count":3},{"step":8,"kind"'
    ':"fail","method":"GET","path":"/fapi/v1/userTrades","count":3},{"step":11,"kind":"price"'
    ',"ticks":-42},{"step":12,"kind":"signal","to":"long"},{"step":16,"kind":"stale_filled","'
    'role":"entry","which":"oldest","status":"CANCELED","fraction":1.0},{"step":16,"kind":"ar'
    'chive_downtime","days":91},{"step":6,"kind":"force_exit"},{"step":11,"kind":"retried_cre'
    'ate","for_steps":1}],"position_check":"single","dry_run":false,"stoploss_on_exchange":fa'
    'lse,"second_pair":false,"venue":"bybit","stoploss":null}'
)


def test_seed_1002_a_lost_create_found_filled_is_read_by_id_after_a_long_downtime() -> None:
    result = run_schedule(Schedule.from_json(SEED_1002), guard=True, keep_log=True)
    assert not result.failed, result.violations


# Seed 74 of a 300-schedule four-venue run with invariant (n) (shrunk on b8b26c8, where it
# fails): a short entry answers "does not exist" three times, the circuit breaker resolves it
# as filled, the price runs through the stop-loss and the trade closes. The signal turns long:
# check 1 read the gone short entry as "filled" and blocked every long entry of the pair for
# the 30-minute watch window, though its whole fill was held by the closed trade. The guard-off
# twin enters long at once. Found by `make demo` (SOL and BNB blocked for the rest of the run).
SEED_74 = (
    '{"seed":74,"steps":4,"start_signal":"short","advance_s":[1.0,5.0,2.0,2.0],'
    '"events":[{"step":1,"kind":"not_found","role":"entry","which":"newest","count":3,'
    '"on_cancel":true,"then":"none"},{"step":3,"kind":"signal","to":"long"},'
    '{"step":2,"kind":"stop_trigger","move":0.08,"prelude":"none"}],'
    '"position_check":"single","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false,"venue":"binance","stoploss":-0.02,"rate_limits":0.25,'
    '"clock_in_sleeps":true}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_74_a_pair_trades_on_after_a_ghost_whose_trade_closed(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_74), guard=guard)
    assert "n" not in result.failed_invariants()
    if guard:
        assert not result.failed, result.violations


# Invariant (o) (2026-12-06; 5 of 400 four-venue schedules failed it on 55d7938): a trade list
# down for the rest of the schedule held the pair's entries for as long as it stayed down, with
# no lock and no message, while the reconciliation read it again every loop. Now, after
# `RECONCILE_ATTEMPTS` loops of failed reads the position alone decides. Seed 44 (Bybit): a
# short entry answered "cancelled, filled 0" while 0.009 had filled; the position shows a gap
# no readable fill explains, so the pair is locked with advice and the fill adopted once the
# trade list answers (the guard-off twin leaves the 0.009 in no trade: c). Seed 93 (Binance):
# the position agrees with the trades, so the hold simply ends.
SEED_44 = (
    '{"seed":44,"steps":7,"start_signal":"short","advance_s":[2.0,70.0,30.0,30.0,2.0,5.0,70.0],'
    '"events":[{"step":1,"kind":"stale_filled","role":"entry","which":"newest",'
    '"status":"CANCELED","fraction":0.5},{"step":0,"kind":"trades_outage","for_steps":null}],'
    '"position_check":"double","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":true,"venue":"bybit","stoploss":-0.02,"venue_ids":true,'
    '"clock_in_sleeps":true}'
)
SEED_93 = (
    '{"seed":93,"steps":10,"start_signal":"short",'
    '"advance_s":[30.0,5.0,0.5,1.0,5.0,2.0,70.0,70.0,30.0,70.0],'
    '"events":[{"step":2,"kind":"lagging_views","seconds":10,"views":"open_orders",'
    '"for_steps":6},{"step":3,"kind":"force_exit"},'
    '{"step":1,"kind":"trades_outage","for_steps":null}],'
    '"position_check":"single","dry_run":false,"stoploss_on_exchange":false,'
    '"second_pair":false,"venue":"binance","stoploss":null,"venue_ids":true,'
    '"rate_limits":0.25,"clock_in_sleeps":true}'
)


@pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "guard_off"])
def test_seed_44_a_trade_list_down_for_good_ends_in_a_lock_then_an_adoption(guard: bool) -> None:
    result = run_schedule(Schedule.from_json(SEED_44), guard=guard)
    if guard:
        assert not result.failed, result.violations
    else:
        assert "c" in result.failed_invariants()


def test_seed_93_a_trade_list_down_for_good_does_not_hold_an_agreeing_pair() -> None:
    result = run_schedule(Schedule.from_json(SEED_93), guard=True)
    assert not result.failed, result.violations
