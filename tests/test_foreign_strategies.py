"""Strategies nobody on this project wrote, with the mixin in front.

The strategies are produced at test time from the installed Freqtrade (tests/foreign/generate.py):
the ``--template advanced`` strategy of ``freqtrade new-strategy`` (every callback stubbed), the
shipped ``sample_strategy.py``, and the advanced template re-pricing through
``adjust_entry_price`` / ``adjust_exit_price``. The guarded variant of each is the user's edit
of the class line: ``class X(GhostGuardMixin, IStrategy):`` plus the import.

1. Freqtrade's own ``StrategyResolver.load_strategy`` loads each, plain and guarded, in dry-run
   and backtest run mode, and sees the same strategy: the same ``check_override`` answer for
   every callback, the same implementer for ``strategy_safe_wrapper``, the same settings, the
   same hyperoptable parameters.
2. Each guarded strategy runs a real dry-run bot on the simulator with the guard installed, and
   a live bot on the simulator keeps going when a cancel is never confirmed, and keeps a fill it
   booked when a stale cancel answer denies it (the plain template loses the fill both times).
3. Backtesting plain and guarded on the same generated candles gives the same trades.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from freqtrade.configuration import Configuration
from freqtrade.enums import RunMode
from freqtrade.optimize.backtesting import Backtesting
from freqtrade.persistence import Order, Trade
from freqtrade.resolvers import strategy_resolver
from freqtrade.resolvers.strategy_resolver import StrategyResolver, check_override
from freqtrade.strategy import IStrategy
from freqtrade.strategy.hyper import detect_all_parameters

from ghostguard import GhostGuardMixin
from ghostguard.guard import GhostGuard
from ghostsim import SimExchange, route_ccxt_to
from tests.conftest import hide_trades, order_row
from tests.foreign.candles import write_futures_data
from tests.foreign.generate import ForeignStrategy, write_strategies
from tests.harness import (
    assert_unconfirmed_entry_cancel_ends,
    build_config,
    fault_unconfirmed_cancel,
    run_loop,
    sim_bot,
)


KEYS = ["advanced", "sample", "entry_exit"]
RUNMODES = [RunMode.DRY_RUN, RunMode.BACKTEST]
PAIR = "BTC/USDT:USDT"
BACKTEST_PAIRS = {"BTC/USDT:USDT": 50_000.0, "ETH/USDT:USDT": 3_000.0}
BACKTEST_END = pd.Timestamp("2026-01-01", tz="UTC")
BACKTEST_DAYS = 7


# --- what Freqtrade looks at ------------------------------------------------------------------


def _resolver_checked_names() -> list[str]:
    """Every callback name the installed StrategyResolver passes to check_override."""
    source = inspect.getsource(strategy_resolver)
    return re.findall(r'check_override\(\s*strategy,\s*IStrategy,\s*"(\w+)"\s*\)', source)


def _istrategy_callbacks() -> list[str]:
    """Every public method of IStrategy (and its HyperStrategyMixin base), except Freqtrade's
    own ``ft_*`` machinery, which is no callback a strategy implements."""
    names: set[str] = set()
    for cls in IStrategy.__mro__:
        if cls is object:
            continue
        names.update(
            name
            for name, value in vars(cls).items()
            if inspect.isfunction(value) and not name.startswith(("_", "ft_"))
        )
    return sorted(names)


RESOLVER_CHECKED = _resolver_checked_names()
CALLBACKS = sorted(set(_istrategy_callbacks()) | set(RESOLVER_CHECKED))

# The attributes StrategyResolver.load_strategy overrides from config, plus every public setting
# IStrategy declares, plus the after_fill flag the resolver derives from custom_stoploss.
SETTINGS = sorted(
    {
        "minimal_roi", "timeframe", "stoploss", "trailing_stop", "trailing_stop_positive",
        "trailing_stop_positive_offset", "trailing_only_offset_is_reached",
        "use_custom_stoploss", "process_only_new_candles", "order_types",
        "order_time_in_force", "stake_currency", "stake_amount", "startup_candle_count",
        "unfilledtimeout", "use_exit_signal", "exit_profit_only", "ignore_roi_if_entry_signal",
        "exit_profit_offset", "disable_dataframe_checks", "ignore_buying_expired_candle_after",
        "position_adjustment_enable", "max_entry_position_adjustment", "max_open_trades",
        "_ft_stop_uses_after_fill",
    }
    | {
        name
        for name in dir(IStrategy)
        if not name.startswith("_") and not inspect.isfunction(getattr(IStrategy, name))
    }
)


def test_the_enumerations_cover_what_freqtrade_checks() -> None:
    assert len(RESOLVER_CHECKED) >= 10, RESOLVER_CHECKED
    assert {"adjust_order_price", "adjust_entry_price", "custom_stoploss"} <= set(
        RESOLVER_CHECKED
    )
    assert {"bot_start", "bot_loop_start", "custom_entry_price", "confirm_trade_entry"} <= set(
        CALLBACKS
    )


# --- producing and loading the strategies -----------------------------------------------------


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ForeignStrategy]:
    return write_strategies(tmp_path_factory.mktemp("foreign"))


def _config(
    strategy: ForeignStrategy, guarded: bool, runmode: RunMode, workdir: Path,
    sim: SimExchange | None = None, **args: Any,
) -> dict[str, Any]:
    """Freqtrade's own processed config (as the CLI builds it) for one variant."""
    sim = sim or SimExchange()
    path = strategy.strategy_dir(guarded)
    content = build_config(sim, strategy.class_name, path, dry_run=True)
    content["exchange"]["pair_whitelist"] = [PAIR]
    content["ghost_guard"] = {}
    label = "guarded" if guarded else "plain"
    config_file = workdir / f"{strategy.class_name}-{label}-{runmode.value}.json"
    config_file.write_text(json.dumps(content))
    (workdir / "user_data").mkdir(exist_ok=True)
    cli_args = {
        "config": [str(config_file)],
        "strategy": strategy.class_name,
        "strategy_path": str(path),
        "user_data_dir": str(workdir / "user_data"),
        **args,
    }
    return Configuration(cli_args, runmode).get_config()


def _load(
    strategy: ForeignStrategy, guarded: bool, runmode: RunMode, workdir: Path
) -> IStrategy:
    loaded = StrategyResolver.load_strategy(_config(strategy, guarded, runmode, workdir))
    assert isinstance(loaded, GhostGuardMixin) is guarded
    return loaded


@pytest.mark.parametrize("runmode", RUNMODES, ids=lambda m: m.value)
@pytest.mark.parametrize("key", KEYS)
def test_loads_with_the_mixin_in_front(foreign, key, runmode, tmp_path) -> None:
    plain = _load(foreign[key], False, runmode, tmp_path)
    guarded = _load(foreign[key], True, runmode, tmp_path)
    assert type(guarded).__mro__[1] is GhostGuardMixin
    assert type(guarded).__name__ == type(plain).__name__ == foreign[key].class_name
    assert guarded.config["runmode"] == plain.config["runmode"] == runmode


@pytest.mark.parametrize("runmode", RUNMODES, ids=lambda m: m.value)
@pytest.mark.parametrize("key", KEYS)
def test_check_override_sees_the_same_strategy(foreign, key, runmode, tmp_path) -> None:
    plain = _load(foreign[key], False, runmode, tmp_path)
    guarded = _load(foreign[key], True, runmode, tmp_path)
    differs = {
        name: {"plain": check_override(plain, IStrategy, name),
               "guarded": check_override(guarded, IStrategy, name)}
        for name in CALLBACKS
        if check_override(guarded, IStrategy, name) != check_override(plain, IStrategy, name)
    }
    assert differs == {}
    assert guarded._ft_stop_uses_after_fill == plain._ft_stop_uses_after_fill


@pytest.mark.parametrize("runmode", RUNMODES, ids=lambda m: m.value)
@pytest.mark.parametrize("key", KEYS)
def test_safe_wrapper_sees_the_same_implementer(foreign, key, runmode, tmp_path) -> None:
    """strategy_safe_wrapper deep-copies `trade` for a callback unless the callable it is
    handed (the instance's attribute) has a qualname starting with 'IStrategy.'."""
    plain = _load(foreign[key], False, runmode, tmp_path)
    guarded = _load(foreign[key], True, runmode, tmp_path)

    def from_istrategy(strategy: IStrategy, name: str) -> bool:
        return getattr(getattr(strategy, name), "__qualname__", "").startswith("IStrategy.")

    differs = {
        name: {"plain": from_istrategy(plain, name), "guarded": from_istrategy(guarded, name)}
        for name in CALLBACKS
        if from_istrategy(plain, name) != from_istrategy(guarded, name)
    }
    assert differs == {}


@pytest.mark.parametrize("runmode", RUNMODES, ids=lambda m: m.value)
@pytest.mark.parametrize("key", KEYS)
def test_the_same_settings(foreign, key, runmode, tmp_path) -> None:
    plain = _load(foreign[key], False, runmode, tmp_path)
    guarded = _load(foreign[key], True, runmode, tmp_path)
    missing = object()
    differs = {
        name: {"plain": getattr(plain, name, missing), "guarded": getattr(guarded, name, missing)}
        for name in SETTINGS
        if getattr(plain, name, missing) != getattr(guarded, name, missing)
    }
    assert differs == {}


def _described(params: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        space: {name: (type(p).__name__, repr(p), dict(vars(p))) for name, p in found.items()}
        for space, found in params.items()
    }


@pytest.mark.parametrize("runmode", RUNMODES, ids=lambda m: m.value)
@pytest.mark.parametrize("key", KEYS)
def test_the_same_hyperoptable_parameters(foreign, key, runmode, tmp_path) -> None:
    plain = _load(foreign[key], False, runmode, tmp_path)
    guarded = _load(foreign[key], True, runmode, tmp_path)
    expected = _described(detect_all_parameters(type(plain)))
    assert expected, "the template declares hyperoptable parameters"
    assert _described(detect_all_parameters(type(guarded))) == expected
    for strategy in (plain, guarded):
        strategy.ft_load_hyper_params(hyperopt=False)
    assert _described(guarded._ft_hyper_params) == _described(plain._ft_hyper_params)
    assert [(n, p.value) for n, p in guarded.enumerate_parameters()] == [
        (n, p.value) for n, p in plain.enumerate_parameters()
    ]
    assert guarded.get_no_optimize_params() == plain.get_no_optimize_params()


# --- 2. a real dry-run bot on the simulator ---------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _capture(logger_name: str) -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _problems(records: list[logging.LogRecord]) -> list[str]:
    """Errors anywhere, and the warning strategy_safe_wrapper logs when a callback raised."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR
        or (r.levelno >= logging.WARNING and r.name.startswith("freqtrade.strategy"))
    ]


@contextmanager
def _calls_into(source: Path) -> Iterator[Counter[str]]:
    """Count the calls (main thread) of functions defined in the strategy file `source`."""
    files = {str(source), str(source.resolve())}
    called: Counter[str] = Counter()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename in files:
            called[frame.f_code.co_name] += 1

    sys.setprofile(profile)
    try:
        yield called
    finally:
        sys.setprofile(None)


# The callbacks a forced entry and a few loops with the entry order open reach.
DRY_RUN_PATH = (
    "bot_loop_start", "populate_indicators", "populate_entry_trend", "populate_exit_trend",
    "custom_entry_price", "custom_stake_amount", "leverage", "confirm_trade_entry",
    "check_entry_timeout", "adjust_order_price", "adjust_entry_price",
)


@pytest.mark.parametrize("key", KEYS)
def test_guarded_dry_run_bot_runs_with_the_guard_installed(foreign, key) -> None:
    strategy = foreign[key]
    config = {"exchange": {"pair_whitelist": [PAIR]}, "ghost_guard": {}}
    with (
        _capture("ghostguard") as guard_log,
        sim_bot(
            strategy=strategy.class_name,
            strategy_path=strategy.guarded_dir,
            extra_config=config,
            dry_run=True,
            startup=False,
        ) as (sim, bot),
        _capture("") as everything,  # after the bot's logging set-up replaced the root's
    ):
        assert isinstance(bot.strategy, GhostGuardMixin)
        with _calls_into(Path(type(bot.strategy).__file__)) as called:
            bot.startup()
            # A forced entry first (as /forceenter would): it goes through the template's entry
            # callbacks and the guard's create_order, and fills max_open_trades, so no signal of
            # the (wall-clock dependent) simulated candles can add a second order.
            assert bot.execute_entry(PAIR, 100.0), "a dry-run entry through the template"
            # Older than the last closed candle (Freqtrade re-prices an order only then), younger
            # than the 10-minute unfilled timeout: each loop asks the template's re-price callback.
            for order in bot.exchange._dry_run_open_orders.values():
                order["timestamp"] -= 6 * 60_000
            caught = run_loop(bot, 4)

        assert caught == []
        implemented = {name for name in DRY_RUN_PATH if name in vars(type(bot.strategy))}
        assert implemented - set(called) == set(), "the template's own callbacks all ran"
        assert _problems(everything.records) == []
        create_order = vars(bot.exchange).get("create_order")
        assert isinstance(getattr(create_order, "__self__", None), GhostGuard)
        assert any(
            "GhostGuard" in r.getMessage() and "installed" in r.getMessage()
            for r in guard_log.records
        )
        analyzed, _ = bot.dataprovider.get_analyzed_dataframe(PAIR, "5m")
        assert len(analyzed) > 0 and {"rsi", "tema"} <= set(analyzed.columns)
        orders = Order.session.query(Order).all()
        assert orders and orders[0].ft_order_side == "buy"
        assert all(o.order_id.startswith("dry_run") for o in orders)
        private = [r for r in sim.requests if r.path in ("/fapi/v1/order", "/fapi/v3/positionRisk")]
        assert private == []  # dry-run: Freqtrade's own simulation, the venue never sees it


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "plain"])
@pytest.mark.parametrize("key", KEYS)
def test_a_live_bot_keeps_going_when_a_cancel_is_unconfirmed(foreign, key, guarded) -> None:
    """Live on the simulator: the template's forced entry rests past Freqtrade's unfilled
    timeout, the cancel fills it and answers "unknown order", and every re-fetch "does not
    exist". Guarded, nothing leaves the loop (no worker sleep, every exit runs) and the fill is
    booked; the plain template takes Freqtrade's made-up "canceled, filled 0" and loses it."""
    strategy = foreign[key]
    config: dict[str, Any] = {"exchange": {"pair_whitelist": [PAIR]}}
    if guarded:
        config["ghost_guard"] = {}
    with sim_bot(
        strategy=strategy.class_name,
        strategy_path=strategy.strategy_dir(guarded),
        extra_config=config,
    ) as (sim, bot):
        assert isinstance(bot.strategy, GhostGuardMixin) == guarded
        assert bot.execute_entry(PAIR, 100.0), "a live entry through the template"
        [first] = sim.open_orders(PAIR)
        sim.age_order(first.order_id, 11 * 60)  # past the harness's 10-minute unfilled timeout
        fault_unconfirmed_cancel(sim, first.order_id)
        caught = run_loop(bot)
        if guarded:
            assert caught == []
        assert_unconfirmed_entry_cancel_ends(sim, bot, first, guarded)


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "plain"])
@pytest.mark.parametrize("key", KEYS)
def test_a_live_bot_keeps_a_booked_fill_a_stale_cancel_denies(foreign, key, guarded) -> None:
    """Live on the simulator: the template's forced entry fills half and Freqtrade books it;
    then the exchange cancels the rest, its status answers "cancelled, filled 0" and the trade
    list does not list the fill yet. Guarded, the trade keeps the half fill; the plain template
    takes the answer, drops the trade and leaves the half fill in no trade."""
    strategy = foreign[key]
    config: dict[str, Any] = {"exchange": {"pair_whitelist": [PAIR]}}
    if guarded:
        config["ghost_guard"] = {}
    with sim_bot(
        strategy=strategy.class_name,
        strategy_path=strategy.strategy_dir(guarded),
        extra_config=config,
    ) as (sim, bot):
        assert bot.execute_entry(PAIR, 100.0), "a live entry through the template"
        [first] = sim.open_orders(PAIR)
        sim.advance(1.0)
        sim.fill_order(first.order_id, first.orig_qty / 2)
        run_loop(bot)
        assert order_row(first.order_id).filled == pytest.approx(first.orig_qty / 2)
        sim.advance(1.0)
        hide_trades(sim, first.order_id)
        sim.cancel_on_exchange(first.order_id)
        sim.fault_stale_status(first.order_id, "CANCELED")
        assert run_loop(bot) == []
        holding = [t for t in Trade.get_open_trades()
                   if any(o.order_id == str(first.order_id) for o in t.orders)]
        if guarded:
            [trade] = holding
            assert trade.amount == pytest.approx(first.orig_qty / 2) == sim.position(PAIR)
        else:
            assert holding == []


# --- 3. backtesting: the same trades ----------------------------------------------------------


@pytest.fixture(scope="module")
def backtest_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    datadir = tmp_path_factory.mktemp("foreign-candles")
    return datadir, write_futures_data(datadir, BACKTEST_PAIRS, BACKTEST_END, BACKTEST_DAYS)


def _backtest(
    strategy: ForeignStrategy, guarded: bool, data: tuple[Path, str], workdir: Path
) -> dict[str, Any]:
    datadir, timerange = data
    sim = SimExchange(symbols=list(BACKTEST_PAIRS))
    with route_ccxt_to(sim):  # markets from the simulator, in-process: no network
        config = _config(
            strategy, guarded, RunMode.BACKTEST, workdir, sim,
            datadir=str(datadir), timerange=timerange, timeframe="5m", export="none",
            cache="none",
        )
        config["exchange"]["pair_whitelist"] = list(BACKTEST_PAIRS)
        config["max_open_trades"] = len(BACKTEST_PAIRS)
        backtesting = Backtesting(config)
        try:
            backtesting.start()
            [loaded] = backtesting.strategylist
            assert isinstance(loaded, GhostGuardMixin) is guarded
            assert "create_order" not in vars(backtesting.exchange)  # inert in backtesting
            return backtesting.results["strategy"][strategy.class_name]
        finally:
            Backtesting.cleanup()  # database use back on for the tests that follow
            backtesting.exchange.close()


COUNTERS = (
    "rejected_signals", "timedout_entry_orders", "timedout_exit_orders",
    "canceled_trade_entries", "canceled_entry_orders", "replaced_entry_orders",
)


@pytest.mark.parametrize("key", KEYS)
def test_backtesting_gives_the_same_trades(foreign, key, backtest_data, tmp_path) -> None:
    plain = _backtest(foreign[key], False, backtest_data, tmp_path)
    guarded = _backtest(foreign[key], True, backtest_data, tmp_path)
    trades = plain["trades"]
    assert len(trades) > 0, "the candles must make the template trade, or equality proves nothing"
    key_fields = [
        (t["pair"], t["open_date"], t["close_date"], t["open_rate"], t["close_rate"],
         t["amount"], t["exit_reason"])
        for t in trades
    ]
    assert [
        (t["pair"], t["open_date"], t["close_date"], t["open_rate"], t["close_rate"],
         t["amount"], t["exit_reason"])
        for t in guarded["trades"]
    ] == key_fields
    # Every field of every trade (orders, fees, stops, profits), not only the ones above.
    as_json = json.dumps(trades, default=str, sort_keys=True)
    assert json.dumps(guarded["trades"], default=str, sort_keys=True) == as_json
    assert {c: guarded[c] for c in COUNTERS} == {c: plain[c] for c in COUNTERS}


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "plain"])
@pytest.mark.parametrize("key", KEYS)
def test_a_lost_force_exit_that_filled_is_not_sent_again_beside_another_bot(
    foreign, key, guarded
) -> None:
    """Live on the simulator, another bot's long of the same size on the symbol: the template's
    force exit is placed and fills, but its answer is lost; the force exit is asked again.
    Guarded, the lost one is taken as the answer and nothing more is sent, so the other bot's
    long stays; the plain template sends a second exit, which the exchange's reduce-only rule
    lets through against the other bot's long."""
    from freqtrade.enums import ExitCheckTuple, ExitType

    from tests.test_several_bots import their_entry

    strategy = foreign[key]
    config: dict[str, Any] = {"exchange": {"pair_whitelist": [PAIR]}}
    if guarded:
        config["ghost_guard"] = {}
    with sim_bot(
        strategy=strategy.class_name,
        strategy_path=strategy.strategy_dir(guarded),
        extra_config=config,
    ) as (sim, bot):
        assert bot.execute_entry(PAIR, 100.0), "a live entry through the template"
        [first] = sim.open_orders(PAIR)
        sim.fill_order(first.order_id)
        run_loop(bot)
        [trade] = Trade.get_open_trades()
        sim.fill_order(their_entry(sim, first).order_id)
        force = ExitCheckTuple(exit_type=ExitType.FORCE_EXIT)
        _, ask = sim.best_bid_ask(PAIR)
        sim.fault_unknown_create(1)
        with pytest.raises(Exception):  # noqa: B017, PT011 - the answer is lost, as Freqtrade sees it
            bot.execute_trade_exit(trade, ask, exit_check=force)
        [lost] = [o for o in sim.orders if o.side == "SELL"]
        sim.fill_order(lost.order_id)  # it was placed, and fills
        sim.advance(1.0)
        bot.execute_trade_exit(trade, ask, exit_check=force)
        for order in [o for o in sim.orders if o.side == "SELL" and o.is_open]:
            sim.fill_order(order.order_id)
        sells = [o for o in sim.orders if o.side == "SELL"]
        if guarded:
            assert sells == [lost]
            assert sim.position(PAIR) == pytest.approx(first.orig_qty)  # the other bot's long
        else:
            assert len(sells) == 2
            assert sim.position(PAIR) == pytest.approx(0.0)  # the other bot's long sold


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "plain"])
@pytest.mark.parametrize("key", KEYS)
def test_a_lost_entry_bybit_forgot_on_a_service_restart_is_adopted(foreign, key, guarded) -> None:
    """Live on simulated Bybit (venue-shaped ids): the template's entry is placed and fills,
    but its answer is lost; then Bybit restarts its order service and its realtime read no
    longer finds the order by id or client id, and the entry is asked again. Guarded, the lost
    create is found in the order history: nothing more is sent and a trade holds the position;
    the plain template sends a second entry (the position doubles, half of it in no trade)."""
    strategy = foreign[key]
    config: dict[str, Any] = {"exchange": {"pair_whitelist": [PAIR]}}
    if guarded:
        config["ghost_guard"] = {}
    sim = SimExchange(symbols=[PAIR], venue="bybit", venue_ids=True)
    with sim_bot(
        sim,
        strategy=strategy.class_name,
        strategy_path=strategy.strategy_dir(guarded),
        extra_config=config,
    ) as (sim, bot):
        sim.fault_lost_create(1)
        try:
            bot.execute_entry(PAIR, 100.0)
        except Exception:  # noqa: BLE001, S110 - the answer is lost, as Freqtrade sees it
            pass
        [lost] = sim.orders
        sim.fill_order(lost.order_id)
        sim.advance(1.0)
        assert sim.fault_service_restart()
        bot.execute_entry(PAIR, 100.0)
        for order in [o for o in sim.orders if o.is_open]:
            sim.fill_order(order.order_id)
        run_loop(bot, 3, advance_seconds=5.0)
        held = sum(t.amount for t in Trade.get_open_trades())
        if guarded:
            assert sim.orders == [lost]
            assert sim.position(PAIR) == pytest.approx(lost.orig_qty) == held
        else:
            assert sim.position(PAIR) == pytest.approx(2 * lost.orig_qty)
            assert held == pytest.approx(lost.orig_qty)
