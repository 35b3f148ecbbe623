"""The callback matrix: every order-related Freqtrade callback, implemented by a user strategy
with GhostGuardMixin in front (without calling super()), loaded by Freqtrade's StrategyResolver
and driven by a real FreqtradeBot against the simulated Binance USD-M exchange.

For each callback (strategies in tests/strategies/callbacks/CbStrategies.py):

1. the strategy loads, and so does its twin without the mixin (`...Plain`, the same function);
2. the guard holds through a ghost: a truly gone order is re-placed once, and a filled order the
   exchange answers "cancelled, filled 0" for is never re-placed (entry side: no second entry,
   one order's position; exit side: no second exit, the position is never flipped). Asserted on
   the exchange's truth (positions, orders), with the plain twin doubling where it must block;
3. the callback's own effect is the same with the guard as without the mixin.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from freqtrade.freqtradebot import FreqtradeBot
from freqtrade.persistence import Trade

from ghostguard import GhostGuardMixin
from ghostsim import SimExchange
from tests.conftest import (
    GUARD_ON,
    PAIR,
    entry_filled_but_answered_cancelled,
    hide_trades,
    loop,
    orders_of,
)
from tests.harness import STRATEGY_DIR, sim_bot
from tests.strategies.callbacks import CbStrategies as cb


CB_PATH = STRATEGY_DIR / "callbacks"
EPS = 1e-9

CALLBACK_OF: dict[str, str] = {
    "CbAdjustEntryPrice": "adjust_entry_price",
    "CbAdjustExitPrice": "adjust_exit_price",
    "CbAdjustOrderPrice": "adjust_order_price",
    "CbCustomEntryPrice": "custom_entry_price",
    "CbCustomExitPrice": "custom_exit_price",
    "CbConfirmTradeEntry": "confirm_trade_entry",
    "CbConfirmTradeExit": "confirm_trade_exit",
    "CbCheckEntryTimeout": "check_entry_timeout",
    "CbCheckExitTimeout": "check_exit_timeout",
    "CbAdjustTradePosition": "adjust_trade_position",
    "CbOrderFilled": "order_filled",
    "CbCustomStoploss": "custom_stoploss",
    "CbCustomStoplossAfterFill": "custom_stoploss",
    "CbBotStart": "bot_start",
    "CbBotLoopStart": "bot_loop_start",
}
STRATEGIES = list(CALLBACK_OF)
EXIT_SIDE = [
    "CbAdjustExitPrice",
    "CbAdjustOrderPrice",
    "CbCustomExitPrice",
    "CbConfirmTradeExit",
    "CbCheckExitTimeout",
    "CbCustomStoploss",
    "CbCustomStoplossAfterFill",
]
ENTRY_SIDE = [name for name in STRATEGIES if name not in EXIT_SIDE] + ["CbAdjustOrderPrice"]
# Their exit is the stoploss they set (the price falls through it), not an exit signal.
STOP_TRIGGERED = {"CbCustomStoploss", "CbCustomStoplossAfterFill"}
# Their exit is Freqtrade's stop-loss exit (risk-reducing: never held back, only clamped).
STOP_LOSS_EXITS = ("CbCustomStoploss", "CbCustomStoplossAfterFill")
TWINS = pytest.mark.parametrize("guard", [True, False], ids=["guard_on", "plain"])

BotFactory = Callable[..., AbstractContextManager[tuple[SimExchange, FreqtradeBot]]]


# --- fixtures and helpers --------------------------------------------------------------------


def _reset_script() -> None:
    cb.SCRIPT.clear()
    cb.SCRIPT.update(cb.SCRIPT_DEFAULTS)
    cb.CALLS.clear()


@pytest.fixture(autouse=True)
def cb_script() -> Iterator[dict[str, Any]]:
    _reset_script()
    yield cb.SCRIPT
    _reset_script()


@pytest.fixture
def cb_bot() -> BotFactory:
    """`with cb_bot("CbX", guard=True) as (sim, bot):` CbX (guard on) or CbXPlain (no mixin)."""

    @contextmanager
    def factory(name: str, guard: bool = True) -> Iterator[tuple[SimExchange, FreqtradeBot]]:
        config = {
            "ghost_guard": dict(GUARD_ON["ghost_guard"]),
            "exchange": {"pair_whitelist": [PAIR]},
        }
        strategy = name if guard else f"{name}Plain"
        with sim_bot(strategy=strategy, strategy_path=CB_PATH, extra_config=config) as pair:
            yield pair

    return factory


def twins(
    cb_bot: BotFactory,
    name: str,
    scenario: Callable[[SimExchange, FreqtradeBot], dict[str, Any]],
    **script: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `scenario` with the guard on (CbX) and without the mixin (CbXPlain), each on a fresh
    exchange and the same SCRIPT; return both outcomes (guard on, plain)."""
    outcomes = []
    for guard in (True, False):
        _reset_script()
        cb.SCRIPT.update(script)
        with cb_bot(name, guard=guard) as (sim, bot):
            outcome = scenario(sim, bot)
            outcome["guard_installed"] = getattr(bot.strategy, "ghost_guard", None) is not None
            outcomes.append(outcome)
    on, off = outcomes
    assert on.pop("guard_installed") and not off.pop("guard_installed")
    return on, off


def entries(sim: SimExchange) -> list[Any]:
    return orders_of(sim, reduce_only=False)


def exits(sim: SimExchange) -> list[Any]:
    return orders_of(sim, reduce_only=True)


def working(sim: SimExchange) -> list[Any]:
    return sim.open_orders(PAIR)


def ledger(sim: SimExchange) -> list[tuple[Any, ...]]:
    """Every order the exchange holds, as the twins can compare them."""
    return [
        (o.side, o.price, o.orig_qty, o.reduce_only, o.status, o.executed_qty)
        for o in orders_of(sim)
    ]


def calls(callback: str) -> list[dict[str, Any]]:
    return [details for name, details in cb.CALLS if name == callback]


def open_trade() -> Trade | None:
    trades = Trade.get_open_trades()
    return trades[0] if trades else None


def lowest_position(sim: SimExchange) -> float:
    sid = sim.spec(PAIR).id
    return min(
        (e["position"] for e in sim.ledger if e["symbol"] == sid and "position" in e),
        default=0.0,
    )


def open_position(sim: SimExchange, bot: FreqtradeBot) -> Any:
    """The bot's entry goes out and fills; the next loop books it. Returns the entry."""
    loop(bot)
    [entry] = entries(sim)
    sim.fill_order(entry.order_id)
    loop(bot)
    trade = open_trade()
    assert trade is not None and trade.amount == pytest.approx(entry.orig_qty)
    return entry


def trigger_exit(sim: SimExchange, bot: FreqtradeBot, name: str) -> Any:
    """The strategy wants out (exit signal, or the price falls through its stoploss); returns
    the exit order the bot placed."""
    cb.SCRIPT["enter_long"] = 0
    if name in STOP_TRIGGERED:
        sim.set_price(PAIR, sim.price(PAIR) * 0.98)
    else:
        cb.SCRIPT["exit_long"] = 1
    loop(bot)
    [exit_order] = exits(sim)
    trade = open_trade()
    assert trade is not None
    # Freqtrade calls the stop custom_stoploss moved "trailing_stop_loss", unless it was set
    # right after the fill (after_fill), which also resets the initial stop: "stop_loss".
    expected = {"stop_loss", "trailing_stop_loss"} if name in STOP_TRIGGERED else {"exit_signal"}
    assert trade.exit_reason in expected
    return exit_order


# --- 1. every strategy loads through Freqtrade's resolver ------------------------------------


@TWINS
@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_loads_through_the_resolver(cb_bot, name, guard) -> None:
    with cb_bot(name, guard=guard) as (sim, bot):
        strategy = bot.strategy
        assert type(strategy).__name__ == (name if guard else f"{name}Plain")
        callback = CALLBACK_OF[name]
        assert callback in type(strategy).__dict__  # the user's own, in its class body
        if guard:
            assert isinstance(strategy, GhostGuardMixin) and strategy.ghost_guard is not None
            assert "create_order" in vars(bot.exchange)  # the gate is installed
        if name.startswith("CbCustomStoploss"):
            # Freqtrade reads the signature through the mixin: after_fill only when declared.
            assert strategy._ft_stop_uses_after_fill is (name == "CbCustomStoplossAfterFill")


# --- 2. the guard holds on every callback: entry side ----------------------------------------


@pytest.mark.parametrize("name", ENTRY_SIDE)
def test_entry_ghost_is_replaced_once(cb_bot, events, name) -> None:
    with cb_bot(name) as (sim, bot):
        loop(bot)
        [first] = entries(sim)
        sim.expire_order(first.order_id)
        loop(bot)
        placed = entries(sim)
        assert len(placed) == 2 and placed[1].is_open and first.status == "EXPIRED"
        [detected] = events.named("GHOST_ORDER_DETECTED")
        assert f"order_id={first.order_id}" in detected
        assert len(events.named("GHOST_ORDER_REPLACED")) == 1
        sim.fill_order(placed[1].order_id)
        loop(bot, 2)
        assert len(entries(sim)) == 2
        assert sim.position(PAIR) == pytest.approx(first.orig_qty)
        assert sim.max_abs_position(PAIR) == pytest.approx(first.orig_qty)
        trade = open_trade()
        assert trade is not None and trade.amount == pytest.approx(first.orig_qty)


@TWINS
@pytest.mark.parametrize("name", ENTRY_SIDE)
def test_filled_entry_answered_cancelled_is_not_doubled(cb_bot, events, name, guard) -> None:
    with cb_bot(name, guard=guard) as (sim, bot):
        first = entry_filled_but_answered_cancelled(sim, bot)
        loop(bot, 3)
        placed = entries(sim)
        if guard:
            assert len(placed) == 1
            assert [o for o in working(sim)] == []
            assert sim.position(PAIR) == pytest.approx(first.orig_qty)
            assert sim.max_abs_position(PAIR) == pytest.approx(first.orig_qty)
            assert any("position_already_exists" in b for b in events.named("REPLACEMENT_BLOCKED"))
        else:
            assert len(placed) == 2  # Freqtrade alone re-enters on the stale answer ...
            sim.fill_order(placed[1].order_id)
            assert sim.position(PAIR) == pytest.approx(2 * first.orig_qty)  # ... and doubles


# --- 2. the guard holds on every callback: exit side -----------------------------------------


@pytest.mark.parametrize("name", EXIT_SIDE)
def test_exit_ghost_is_replaced_within_the_position(cb_bot, events, name) -> None:
    with cb_bot(name) as (sim, bot):
        entry = open_position(sim, bot)
        first_exit = trigger_exit(sim, bot, name)
        sim.expire_order(first_exit.order_id)
        loop(bot)
        placed = exits(sim)
        assert len(placed) == 2 and placed[1].is_open
        assert placed[1].orig_qty <= abs(sim.position(PAIR)) + EPS
        replaced = events.named("GHOST_ORDER_REPLACED")
        assert len(replaced) == 1 and "type=exit" in replaced[0]
        sim.fill_order(placed[1].order_id)
        loop(bot)
        assert sim.position(PAIR) == pytest.approx(0.0)
        assert lowest_position(sim) >= -EPS  # never flipped short
        assert sim.max_abs_position(PAIR) == pytest.approx(entry.orig_qty)
        assert open_trade() is None


@TWINS
@pytest.mark.parametrize("name", EXIT_SIDE)
def test_filled_exit_answered_cancelled_sends_no_second_exit(cb_bot, events, name, guard):
    with cb_bot(name, guard=guard) as (sim, bot):
        entry = open_position(sim, bot)
        exit_order = trigger_exit(sim, bot, name)
        sim.fill_order(exit_order.order_id)  # the exit filled: the position is closed ...
        sim.fault_stale_status(exit_order.order_id, "CANCELED")  # ... the answer says not
        hide_trades(sim, exit_order.order_id)  # ... and the trade history lags
        sim.reset_requests()
        loop(bot, 2)
        sent = sim.count("POST", "/fapi/v1/order")
        assert sim.position(PAIR) == pytest.approx(0.0)
        assert lowest_position(sim) >= -EPS
        assert sim.max_abs_position(PAIR) == pytest.approx(entry.orig_qty)
        if guard and name in STOP_LOSS_EXITS:
            # A stop-loss exit is never held back, only clamped to a readable position: with
            # nothing left to reduce it goes out reduce-only, and the exchange refuses it.
            assert all(o.reduce_only for o in exits(sim)) and working(sim) == []
            assert not any("stop_loss" in b for b in events.named("REPLACEMENT_BLOCKED"))
        elif guard:
            assert sent == 0 and working(sim) == []
            assert any("no_position_to_exit" in b for b in events.named("REPLACEMENT_BLOCKED"))
        else:
            assert sent >= 1  # a second exit went out (the exchange refused the reduce-only)


# --- 3. the callbacks' own effects, guard on == without the mixin -----------------------------


def _reprice_entry(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    loop(bot)
    [first] = entries(sim)
    sim.set_price(PAIR, sim.price(PAIR) + 10)  # the book moves away ...
    sim.age_order(first.order_id, 120)  # ... and the order is from an earlier candle
    loop(bot)
    bid, _ = sim.best_bid_ask(PAIR)
    return {"ledger": ledger(sim), "bid": bid}


@pytest.mark.parametrize("name", ["CbAdjustEntryPrice", "CbAdjustOrderPrice"])
def test_adjust_entry_price_is_the_price_of_the_replaced_order(cb_bot, name) -> None:
    callback = CALLBACK_OF[name]
    on, off = twins(cb_bot, name, _reprice_entry, reprice=True)
    assert on == off
    first, second = on["ledger"]
    assert first[4] == "CANCELED" and second[4] == "NEW"
    assert second[1] == pytest.approx(on["bid"])  # the price the callback returned
    assert calls(callback)[-1]["price"] == pytest.approx(second[1])
    assert calls(callback)[-1].get("is_entry", True) is True


def _reprice_exit(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    open_position(sim, bot)
    first_exit = trigger_exit(sim, bot, "exit signal")
    sim.set_price(PAIR, sim.price(PAIR) - 10)
    sim.age_order(first_exit.order_id, 120)
    loop(bot)
    _, ask = sim.best_bid_ask(PAIR)
    return {"ledger": ledger(sim), "ask": ask, "position": sim.position(PAIR)}


@pytest.mark.parametrize("name", ["CbAdjustExitPrice", "CbAdjustOrderPrice"])
def test_adjust_exit_price_is_the_price_of_the_replaced_exit(cb_bot, name) -> None:
    callback = CALLBACK_OF[name]
    on, off = twins(cb_bot, name, _reprice_exit, reprice=True)
    assert on == off
    _entry, first_exit, second_exit = on["ledger"]
    assert first_exit[4] == "CANCELED" and second_exit[4] == "NEW" and second_exit[3]
    assert second_exit[1] == pytest.approx(on["ask"])
    assert second_exit[2] <= on["position"] + EPS
    assert calls(callback)[-1]["price"] == pytest.approx(second_exit[1])
    assert calls(callback)[-1].get("is_entry", False) is False


CHASES = 20


def _chase(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    loop(bot)
    for chase in range(1, CHASES + 1):
        [current] = working(sim)
        sim.set_price(PAIR, sim.price(PAIR) + 10)
        sim.age_order(current.order_id, 120)
        loop(bot)
        now_working = working(sim)
        bid, _ = sim.best_bid_ask(PAIR)
        assert [(o.price, o.order_id != current.order_id) for o in now_working] == [
            (pytest.approx(bid), True)
        ], f"re-price {chase} of {CHASES} did not go out"
    return {"ledger": ledger(sim), "position": sim.position(PAIR)}


@pytest.mark.parametrize("name", ["CbAdjustEntryPrice", "CbAdjustOrderPrice"])
def test_chasing_the_book_every_reprice_goes_out(cb_bot, events, name) -> None:
    on, off = twins(cb_bot, name, _chase, reprice=True)
    assert on == off
    assert len(on["ledger"]) == CHASES + 1
    assert [row[4] for row in on["ledger"]] == ["CANCELED"] * CHASES + ["NEW"]
    assert on["position"] == 0.0
    assert events.named("REPLACEMENT_BLOCKED") == []


def _custom_entry_price_through_a_ghost(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    loop(bot)
    [first] = entries(sim)
    sim.expire_order(first.order_id)
    loop(bot)
    return {"ledger": ledger(sim), "prices": [c["price"] for c in calls("custom_entry_price")]}


def test_custom_entry_price_is_the_price_sent(cb_bot) -> None:
    on, off = twins(cb_bot, "CbCustomEntryPrice", _custom_entry_price_through_a_ghost)
    assert on == off
    first, replacement = on["ledger"]
    # Freqtrade asks the callback again for the replacement (a new entry, mode "initial").
    assert len(on["prices"]) == 2
    assert first[1] == pytest.approx(on["prices"][0])
    assert replacement[1] == pytest.approx(on["prices"][1])
    assert first[4] == "EXPIRED" and replacement[4] == "NEW"


def _custom_exit_price_through_a_ghost(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    open_position(sim, bot)
    first_exit = trigger_exit(sim, bot, "exit signal")
    sim.expire_order(first_exit.order_id)
    loop(bot)
    return {"ledger": ledger(sim), "prices": [c["price"] for c in calls("custom_exit_price")]}


def test_custom_exit_price_is_the_price_sent(cb_bot) -> None:
    on, off = twins(cb_bot, "CbCustomExitPrice", _custom_exit_price_through_a_ghost)
    assert on == off
    _entry, first_exit, replacement = on["ledger"]
    assert len(on["prices"]) == 2  # asked again for the exit that replaces the ghost
    assert first_exit[1] == pytest.approx(on["prices"][0])
    assert replacement[1] == pytest.approx(on["prices"][1])
    assert first_exit[4] == "EXPIRED" and replacement[4] == "NEW" and replacement[3]


def test_freqtrade_confirms_only_initial_entries() -> None:
    """What the next test relies on: Freqtrade calls confirm_trade_entry for a new trade's entry
    (mode "initial"; a ghost's replacement is one, as Freqtrade deleted the unfilled trade), never
    for a re-price (mode "replace") or a position adjustment (mode "pos_adjust")."""
    source = inspect.getsource(FreqtradeBot.execute_entry)
    assert 'if mode == "initial" and not strategy_safe_wrapper(' in source
    assert "self.strategy.confirm_trade_entry" in source


def _entry_veto(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    cb.SCRIPT["confirm_entry"] = False
    loop(bot, 2)
    vetoed = len(entries(sim))
    cb.SCRIPT["confirm_entry"] = True
    loop(bot)
    [first] = entries(sim)
    sim.expire_order(first.order_id)
    cb.SCRIPT["confirm_entry"] = False
    asked_before = len(calls("confirm_trade_entry"))
    loop(bot, 2)
    vetoed_replacement = len(entries(sim))
    asked_on_ghost_path = len(calls("confirm_trade_entry")) - asked_before
    cb.SCRIPT["confirm_entry"] = True
    loop(bot)
    return {
        "vetoed": vetoed,
        "vetoed_replacement": vetoed_replacement,
        "asked_on_ghost_path": asked_on_ghost_path,
        "answers": [c["answer"] for c in calls("confirm_trade_entry")],
        "ledger": ledger(sim),
    }


def test_confirm_trade_entry_veto_holds_on_the_ghost_path(cb_bot, events) -> None:
    on, off = twins(cb_bot, "CbConfirmTradeEntry", _entry_veto)
    assert on == off
    assert on["vetoed"] == 0  # no order while it answers False
    assert on["vetoed_replacement"] == 1  # the ghost is not re-placed while it answers False
    assert on["asked_on_ghost_path"] == 2  # Freqtrade asks it for the replacement, every loop
    assert on["answers"] == [False, False, True, False, False, True]
    assert [row[4] for row in on["ledger"]] == ["EXPIRED", "NEW"]
    assert len(events.named("GHOST_ORDER_REPLACED")) == 1


def _exit_veto(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    open_position(sim, bot)
    cb.SCRIPT.update(enter_long=0, exit_long=1, confirm_exit=False)
    loop(bot, 2)
    vetoed = len(exits(sim))
    cb.SCRIPT["confirm_exit"] = True
    loop(bot)
    [first_exit] = exits(sim)
    sim.expire_order(first_exit.order_id)
    cb.SCRIPT["confirm_exit"] = False
    asked_before = len(calls("confirm_trade_exit"))
    loop(bot, 2)
    vetoed_replacement = len(exits(sim))
    asked_on_ghost_path = len(calls("confirm_trade_exit")) - asked_before
    cb.SCRIPT["confirm_exit"] = True
    loop(bot)
    return {
        "vetoed": vetoed,
        "vetoed_replacement": vetoed_replacement,
        "asked_on_ghost_path": asked_on_ghost_path,
        "answers": [c["answer"] for c in calls("confirm_trade_exit")],
        "ledger": ledger(sim),
        "position": sim.position(PAIR),
    }


def test_confirm_trade_exit_veto_holds_on_the_ghost_path(cb_bot, events) -> None:
    on, off = twins(cb_bot, "CbConfirmTradeExit", _exit_veto)
    assert on == off
    assert on["vetoed"] == 0
    assert on["vetoed_replacement"] == 1
    assert on["asked_on_ghost_path"] == 2  # an exit signal's exit is always confirmed
    assert on["answers"] == [False, False, True, False, False, True]
    _entry, first_exit, replacement = on["ledger"]
    assert first_exit[4] == "EXPIRED" and replacement[4] == "NEW"
    assert replacement[2] <= on["position"] + EPS
    replaced = events.named("GHOST_ORDER_REPLACED")
    assert len(replaced) == 1 and "type=exit" in replaced[0]


def _entry_timeout(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    loop(bot)
    loop(bot)  # not timed out: the order stays
    kept = [o.status for o in entries(sim)]
    cb.SCRIPT["entry_timeout"] = True
    sim.reset_requests()
    loop(bot)  # timed out: cancelled, and the signal enters again
    return {
        "kept": kept,
        "cancels": sim.count("DELETE", "/fapi/v1/order"),
        "ledger": ledger(sim),
        "answers": [c["answer"] for c in calls("check_entry_timeout")],
    }


def test_check_entry_timeout_true_cancels_the_order(cb_bot) -> None:
    on, off = twins(cb_bot, "CbCheckEntryTimeout", _entry_timeout)
    assert on == off
    assert on["kept"] == ["NEW"] and on["answers"] == [False, True]
    assert on["cancels"] == 1
    assert [row[4] for row in on["ledger"]] == ["CANCELED", "NEW"]


def _exit_timeout(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    open_position(sim, bot)
    trigger_exit(sim, bot, "exit signal")
    loop(bot)
    kept = [o.status for o in exits(sim)]
    cb.SCRIPT["exit_timeout"] = True
    sim.reset_requests()
    loop(bot)
    return {
        "kept": kept,
        "cancels": sim.count("DELETE", "/fapi/v1/order"),
        "ledger": ledger(sim),
        "answers": [c["answer"] for c in calls("check_exit_timeout")],
        "position": sim.position(PAIR),
    }


def test_check_exit_timeout_true_cancels_the_exit(cb_bot) -> None:
    on, off = twins(cb_bot, "CbCheckExitTimeout", _exit_timeout)
    assert on == off
    assert on["kept"] == ["NEW"] and on["answers"] == [False, True]
    assert on["cancels"] == 1
    _entry, first_exit, again = on["ledger"]
    assert first_exit[4] == "CANCELED" and again[4] == "NEW" and again[3]
    assert again[2] <= on["position"] + EPS


def _dca(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    entry = open_position(sim, bot)
    loop(bot)
    before = len(entries(sim))
    cb.SCRIPT["dca"] = True
    loop(bot)
    [dca] = working(sim)
    sim.fill_order(dca.order_id)
    loop(bot, 2)
    trade = open_trade()
    assert trade is not None
    return {
        "before": before,
        "ledger": ledger(sim),
        "position": sim.position(PAIR),
        "trade_amount": trade.amount,
        "entry": entry.orig_qty,
        "stakes": calls("adjust_trade_position"),
    }


def test_adjust_trade_position_dca_order_goes_out(cb_bot) -> None:
    on, off = twins(cb_bot, "CbAdjustTradePosition", _dca)
    assert on == off
    assert on["before"] == 1
    assert len(on["ledger"]) == 2 and len(on["stakes"]) == 1  # one DCA order, asked for once
    dca = on["ledger"][1]
    assert dca[0] == "BUY" and not dca[3] and dca[4] == "FILLED"
    assert on["position"] == pytest.approx(on["entry"] + dca[2])
    assert on["trade_amount"] == pytest.approx(on["position"])


def _dca_ghost(sim: SimExchange, bot: FreqtradeBot, *, filled: bool) -> dict[str, Any]:
    entry = open_position(sim, bot)
    cb.SCRIPT["dca"] = True
    loop(bot)
    [dca] = working(sim)
    if filled:  # it filled, but the answer says "cancelled, filled 0" and the trades lag
        sim.fill_order(dca.order_id)
        sim.fault_stale_status(dca.order_id, "CANCELED")
        hide_trades(sim, dca.order_id)
    else:
        sim.expire_order(dca.order_id)
    loop(bot, 3)
    return {"entry": entry.orig_qty, "dca": dca.orig_qty}


def test_adjust_trade_position_ghost_dca_is_replaced_once(cb_bot, events) -> None:
    with cb_bot("CbAdjustTradePosition") as (sim, bot):
        sizes = _dca_ghost(sim, bot, filled=False)
        placed = entries(sim)
        assert len(placed) == 3 and [o.status for o in working(sim)] == ["NEW"]
        replaced = events.named("GHOST_ORDER_REPLACED")
        assert len(replaced) == 1 and "type=entry" in replaced[0]
        sim.fill_order(placed[2].order_id)
        loop(bot, 2)
        assert len(entries(sim)) == 3
        assert sim.position(PAIR) == pytest.approx(sizes["entry"] + sizes["dca"])


@TWINS
def test_adjust_trade_position_filled_dca_answered_cancelled(cb_bot, events, guard) -> None:
    with cb_bot("CbAdjustTradePosition", guard=guard) as (sim, bot):
        sizes = _dca_ghost(sim, bot, filled=True)
        placed = entries(sim)
        if guard:
            assert len(placed) == 2 and working(sim) == []
            assert sim.position(PAIR) == pytest.approx(sizes["entry"] + sizes["dca"])
            assert events.named("REPLACEMENT_BLOCKED")
        else:
            assert len(placed) == 3  # the DCA is sent again ...
            sim.fill_order(placed[2].order_id)
            assert sim.position(PAIR) == pytest.approx(sizes["entry"] + 2 * sizes["dca"])


def _fills(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    entry = open_position(sim, bot)
    entry_fills = list(calls("order_filled"))
    exit_order = trigger_exit(sim, bot, "exit signal")
    sim.fill_order(exit_order.order_id)
    loop(bot)
    return {
        "entry_fills": entry_fills,
        "fills": calls("order_filled"),
        "ids": [str(entry.order_id), str(exit_order.order_id)],
        "qty": entry.orig_qty,
    }


def test_order_filled_is_called_for_every_fill(cb_bot) -> None:
    on, off = twins(cb_bot, "CbOrderFilled", _fills)
    assert on == off
    assert on["entry_fills"] == [{"order_id": on["ids"][0], "side": "buy", "filled": on["qty"]}]
    assert [(f["order_id"], f["side"], f["filled"]) for f in on["fills"]] == [
        (on["ids"][0], "buy", on["qty"]),
        (on["ids"][1], "sell", on["qty"]),
    ]


@TWINS
def test_order_filled_sees_a_fill_the_status_answer_hid(cb_bot, guard) -> None:
    """Filled, answered "cancelled, filled 0", the trades honest: with the guard Freqtrade books
    the fill and calls order_filled; alone it drops the trade, never calls it, and re-enters."""
    with cb_bot("CbOrderFilled", guard=guard) as (sim, bot):
        loop(bot)
        [first] = entries(sim)
        sim.fill_order(first.order_id)
        sim.fault_stale_status(first.order_id, "CANCELED")
        loop(bot, 2)
        fills = [(f["order_id"], f["filled"]) for f in calls("order_filled")]
        if guard:
            assert fills == [(str(first.order_id), pytest.approx(first.orig_qty))]
            assert len(entries(sim)) == 1
        else:
            assert fills == []
            assert len(entries(sim)) == 2


def _stoploss(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    open_position(sim, bot)
    trade = open_trade()
    assert trade is not None
    after_entry = trade.stop_loss
    initial = trade.initial_stop_loss
    rate_then = calls("custom_stoploss")[-1]["rate"]
    sim.set_price(PAIR, sim.price(PAIR) + 100)  # the price rises: the custom stop follows
    loop(bot)
    trade = open_trade()
    assert trade is not None
    return {
        "initial": initial,
        "after_entry": after_entry,
        "rate_then": rate_then,
        "after_rise": trade.stop_loss,
        "rate_now": calls("custom_stoploss")[-1]["rate"],
        "after_fill": sorted({bool(c["after_fill"]) for c in calls("custom_stoploss")}),
    }


@pytest.mark.parametrize("name", ["CbCustomStoploss", "CbCustomStoplossAfterFill"])
def test_custom_stoploss_value_is_applied(cb_bot, name) -> None:
    on, off = twins(cb_bot, name, _stoploss)
    assert on == off
    distance = 1 + cb.SCRIPT_DEFAULTS["stoploss"]
    assert on["initial"] < on["after_entry"]  # moved up from the strategy's -0.99
    assert on["after_entry"] == pytest.approx(on["rate_then"] * distance)
    assert on["after_rise"] == pytest.approx(on["rate_now"] * distance)
    assert on["after_rise"] > on["after_entry"]
    # Freqtrade calls it right after the fill only when the signature declares `after_fill`.
    expected = [False, True] if name == "CbCustomStoplossAfterFill" else [False]
    assert on["after_fill"] == expected


def _bot_start(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    loop(bot, 2)
    return {
        "calls": list(cb.CALLS),
        "flag": getattr(bot.strategy, "started_by_user", False),
        "ledger": ledger(sim),
    }


def test_bot_start_user_code_runs(cb_bot) -> None:
    on, off = twins(cb_bot, "CbBotStart", _bot_start)  # twins: the guard is installed too
    assert on == off
    assert on["calls"] == [("bot_start", {})] and on["flag"] is True
    assert len(on["ledger"]) == 1


def _bot_loop_start(sim: SimExchange, bot: FreqtradeBot) -> dict[str, Any]:
    loop(bot, 3)
    return {"loops": len(calls("bot_loop_start")), "ledger": ledger(sim)}


def test_bot_loop_start_user_code_runs_every_loop(cb_bot) -> None:
    on, off = twins(cb_bot, "CbBotLoopStart", _bot_loop_start)
    assert on == off
    assert on["loops"] == 3


@TWINS
def test_bot_loop_start_guard_loop_work_still_runs(cb_bot, events, guard) -> None:
    """The guard's per-loop work (resolving a tripped circuit breaker) runs even though the
    strategy's bot_loop_start never calls super(): a filled order the exchange never finds."""
    with cb_bot("CbBotLoopStart", guard=guard) as (sim, bot):
        loop(bot)
        [first] = entries(sim)
        sim.fault_not_found(first.order_id, None)
        sim.fill_order(first.order_id)
        loop(bot, 6)
        assert len(entries(sim)) == 1
        assert len(calls("bot_loop_start")) == 7
        trade = open_trade()
        assert trade is not None
        if guard:
            assert len(events.named("CIRCUIT_BREAKER_TRIGGERED")) == 1
            assert trade.amount == pytest.approx(first.orig_qty) and not trade.has_open_orders
        else:
            assert trade.amount == 0 and trade.has_open_orders  # stuck on the ghost
