"""Drive a REAL FreqtradeBot (live futures by default) against the in-process SimExchange.

- ``make_bot``: builds the config through Freqtrade's own ``Configuration`` (as the CLI does),
  routes ccxt binance (sync + async) to the sim, disables retry back-off sleeps, returns the bot.
- ``run_loop``: ``bot.process()`` n times, catching what ``freqtrade/worker.py`` catches.
- ``sim_bot``: context manager yielding (sim, bot) and cleaning everything up.
- ``restart_bot``: a new bot on the same database (use a file ``db_url``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import freqtrade.exchange.common as ft_common
import freqtrade.freqtradebot as ft_bot_module
import pytest
from freqtrade.configuration import Configuration
from freqtrade.configuration.directory_operations import create_userdata_dir
from freqtrade.exceptions import OperationalException, TemporaryError
from freqtrade.freqtradebot import FreqtradeBot
from freqtrade.misc import deep_merge_dicts
from freqtrade.persistence import Trade

from ghostsim import SimExchange, install, uninstall
from ghostsim.ftconfig import base_config, ccxt_options


TESTS_DIR = Path(__file__).parent
STRATEGY_DIR = TESTS_DIR / "strategies"

# Every back-off sleep Freqtrade asked for while patched (seconds), in order.
SLEEPS: list[float] = []
# Called with each of those sleeps (the campaign's clock_in_sleeps moves the sim clock by it).
ON_SLEEP: list[Any] = []


def _slept(seconds: float) -> None:
    SLEEPS.append(float(seconds))
    for hook in list(ON_SLEEP):
        hook(float(seconds))


# --------------------------------------------------------------------------- sleep patches


class _NoSleepTime(ModuleType):
    """Stands in for ``time`` inside freqtrade.exchange.common: sleep is recorded only."""

    def __init__(self) -> None:
        super().__init__("time")

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        _slept(seconds)


class _NoSleepAsyncio(ModuleType):
    """Stands in for ``asyncio`` inside freqtrade.exchange.common: sleep is recorded only."""

    def __init__(self) -> None:
        super().__init__("asyncio")

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(seconds: float, result: Any = None) -> Any:
        _slept(seconds)
        return result


def _record_sleep(seconds: float) -> None:
    _slept(seconds)


_patch_depth = 0
_saved: dict[str, Any] = {}


def _patch_sleeps() -> None:
    global _patch_depth
    if _patch_depth == 0:
        _saved.update(time=ft_common.time, asyncio=ft_common.asyncio, sleep=ft_bot_module.sleep)
        ft_common.time = _NoSleepTime()  # type: ignore[assignment]
        ft_common.asyncio = _NoSleepAsyncio()  # type: ignore[assignment]
        ft_bot_module.sleep = _record_sleep  # type: ignore[assignment]
    _patch_depth += 1


def _unpatch_sleeps() -> None:
    global _patch_depth
    _patch_depth -= 1
    if _patch_depth == 0:
        ft_common.time = _saved["time"]
        ft_common.asyncio = _saved["asyncio"]
        ft_bot_module.sleep = _saved["sleep"]


# --------------------------------------------------------------------------- config


def build_config(
    sim: SimExchange,
    strategy: str,
    strategy_path: str | Path,
    *,
    dry_run: bool = False,
    db_url: str = "sqlite://",
    extra_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The config file content (before Freqtrade's own processing)."""
    # ccxt's urls stay Binance's own: the transport routes every request to the sim anyway,
    # and ccxt picks its futures error table (-5022 -> OrderNotFillable) by the URL's host.
    config = base_config(
        sim, ccxt_options(sim.venue), strategy=strategy, strategy_path=strategy_path,
        dry_run=dry_run,
    )
    config.update(
        {
            "db_url": db_url,
            "max_open_trades": 1,
            "stake_amount": 100,
            "force_entry_enable": True,
            "unfilledtimeout": {
                "entry": 10, "exit": 10, "exit_timeout_count": 0, "unit": "minutes"
            },
            "internals": {"process_throttle_secs": 5, "heartbeat_interval": 0},
        }
    )
    if extra_config:
        config = deep_merge_dicts(json.loads(json.dumps(extra_config)), config)
    return config


# --------------------------------------------------------------------------- bot lifecycle


@dataclass
class _BotRecord:
    sim: SimExchange
    strategy: str
    strategy_path: str
    extra_config: dict[str, Any] | None
    dry_run: bool
    db_url: str
    workdir: Path
    bot: FreqtradeBot | None = None


_records: dict[int, _BotRecord] = {}


def make_bot(
    sim: SimExchange,
    strategy: str = "PlainMakerStrategy",
    strategy_path: str | Path = STRATEGY_DIR,
    extra_config: dict[str, Any] | None = None,
    dry_run: bool = False,
    db_url: str = "sqlite://",
) -> FreqtradeBot:
    """A real FreqtradeBot talking to ``sim`` (ccxt routed in-process, back-off sleeps off).

    Call ``close_bot`` (or use ``sim_bot``) when done.
    """
    workdir = Path(tempfile.mkdtemp(prefix="ghostguard-sim-"))
    config_file = workdir / "config.json"
    content = build_config(sim, strategy, strategy_path, dry_run=dry_run, db_url=db_url,
                           extra_config=extra_config)
    config_file.write_text(json.dumps(content, indent=2))
    create_userdata_dir(str(workdir / "user_data"), create_dir=True)
    install(sim)
    _patch_sleeps()
    try:
        args = {
            "config": [str(config_file)],
            "strategy": strategy,
            "strategy_path": str(strategy_path),
            "user_data_dir": str(workdir / "user_data"),
        }
        config = Configuration(args, None).get_config()
        bot = FreqtradeBot(config)
    except BaseException:
        _unpatch_sleeps()
        uninstall(sim)
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    _records[id(bot)] = _BotRecord(
        sim, strategy, str(strategy_path), extra_config, dry_run, db_url, workdir, bot
    )
    return bot


def close_bot(bot: FreqtradeBot) -> None:
    """bot.cleanup(), drop the database session, undo routing and sleep patches."""
    record = _records.pop(id(bot), None)
    if record is None:
        return
    try:
        bot.cleanup()
    finally:
        _reset_db()
        _unpatch_sleeps()
        uninstall(record.sim)
        shutil.rmtree(record.workdir, ignore_errors=True)


def _reset_db() -> None:
    session = getattr(Trade, "session", None)
    if session is None:
        return
    try:
        session.rollback()
        bind = session.get_bind()
        session.remove()
        bind.dispose()
    except Exception:  # noqa: BLE001 - cleanup must never mask the test outcome
        pass


def restart_bot(old_bot: FreqtradeBot, **overrides: Any) -> FreqtradeBot:
    """Close ``old_bot`` and build a new bot on the same sim and database.

    The database survives only with a file ``db_url`` (``sqlite:///path``), not ``sqlite://``.
    ``overrides`` may replace make_bot arguments (strategy, extra_config, dry_run, ...).
    """
    record = _records[id(old_bot)]
    if record.db_url == "sqlite://":
        raise ValueError("restart_bot needs a file db_url (sqlite:///...), not sqlite://")
    kwargs: dict[str, Any] = {
        "strategy": record.strategy,
        "strategy_path": record.strategy_path,
        "extra_config": record.extra_config,
        "dry_run": record.dry_run,
        "db_url": record.db_url,
    }
    kwargs.update(overrides)
    sim = record.sim
    install(sim)  # keep the routing alive across the restart
    try:
        close_bot(old_bot)
        return make_bot(sim, **kwargs)
    finally:
        uninstall(sim)


def fault_unconfirmed_cancel(sim: SimExchange, order_id: int, refetches: int = 6) -> None:
    """A cancel the exchange never confirms: the cancel fills the order and answers "unknown
    order" (Binance -2011; the venue faces word it their way), and the next `refetches` status
    queries answer "does not exist" -- Freqtrade would make up "canceled, filled 0"."""
    sim.fault_fill_during_cancel(order_id)
    real_handle = sim.handle

    def refetch_fails(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        answer = real_handle(method, path, *args, **kwargs)
        if method == "DELETE" and path == "/fapi/v1/order":
            sim.fault_not_found(order_id, refetches)
        return answer

    sim.handle = refetch_fails  # type: ignore[method-assign]


def assert_unconfirmed_entry_cancel_ends(
    sim: SimExchange, bot: FreqtradeBot, order: Any, guarded: bool
) -> None:
    """After the loop that met `fault_unconfirmed_cancel` on a resting entry: guarded, the
    breaker books the fill within six loops and the position is one order; unguarded,
    Freqtrade took its own made-up "canceled, filled 0" and the fill is not in its trades."""
    pair = order.spec.symbol
    if guarded:
        for _ in range(6):
            run_loop(bot)
            if any(t.amount for t in Trade.get_open_trades()):
                break
        [trade] = Trade.get_open_trades()
        assert trade.amount == pytest.approx(order.orig_qty)  # the fill is booked
        assert sim.max_abs_position(pair) == pytest.approx(order.orig_qty)
    else:
        run_loop(bot, 2)
        booked = sum(t.amount for t in Trade.get_open_trades())
        assert sim.position(pair) >= order.orig_qty
        assert booked < sim.position(pair)


def run_loop(bot: FreqtradeBot, n: int = 1, advance_seconds: float = 0.0) -> list[Exception]:
    """Call ``bot.process()`` n times like the worker does; return the exceptions it caught.

    ``advance_seconds`` moves the sim clock forward after each iteration.
    """
    caught: list[Exception] = []
    sim = _records[id(bot)].sim if id(bot) in _records else None
    for _ in range(n):
        try:
            bot.process()
        except (TemporaryError, OperationalException) as error:
            caught.append(error)
        if sim is not None and advance_seconds:
            sim.advance(advance_seconds)
    return caught


@contextmanager
def sim_bot(
    sim: SimExchange | None = None,
    strategy: str = "PlainMakerStrategy",
    strategy_path: str | Path = STRATEGY_DIR,
    extra_config: dict[str, Any] | None = None,
    dry_run: bool = False,
    db_url: str = "sqlite://",
    startup: bool = True,
) -> Iterator[tuple[SimExchange, FreqtradeBot]]:
    """Yield (sim, bot) with ``bot.startup()`` already called; clean up afterwards.

    With ``restart_bot`` inside the block, the yielded bot is closed by restart_bot; close the
    new one with ``close_bot`` (extra bots are closed here too).
    """
    sim = sim if sim is not None else SimExchange()
    bot = make_bot(sim, strategy, strategy_path, extra_config, dry_run, db_url)
    try:
        if startup:
            bot.startup()
        yield sim, bot
    finally:
        close_bot(bot)
        for record in [r for r in _records.values() if r.sim is sim and r.bot is not None]:
            close_bot(record.bot)  # bots built by restart_bot inside the block


@contextmanager
def resting_exits_bot(
    n: int, guard: bool, venue: str = "binance"
) -> Iterator[tuple[SimExchange, FreqtradeBot, list[Any]]]:
    """Yield (sim, bot, exits): N pairs (`C000/USDT:USDT`, ...; spot `C000/USDT`), one trade
    each, filled, with its exit resting (`ScriptedMakerStrategy`, its SCRIPT set to exit): the
    many-pairs start of the shared-reads tests and `benchmarks/pairs.py`."""
    from tests.strategies.ScriptedMakerStrategy import SCRIPT

    spot = venue == "binance-spot"
    pairs = [f"C{i:03d}/USDT" if spot else f"C{i:03d}/USDT:USDT" for i in range(n)]
    sim = SimExchange(symbols=pairs, start_price={p: 100.0 for p in pairs}, balance=100.0 * n,
                      venue=venue)
    config = {
        "ghost_guard": {"replacement_cooldown_s": 0.0} if guard else {"enabled": False},
        "exchange": {"pair_whitelist": pairs}, "max_open_trades": n, "stake_amount": 20,
        "unfilledtimeout": {"entry": 600, "exit": 600, "exit_timeout_count": 0,
                            "unit": "minutes"},
    }
    SCRIPT.update(enter_long=1, exit_long=0)
    strategy = "ScriptedSpotStrategy" if spot else "ScriptedMakerStrategy"
    with sim_bot(sim=sim, strategy=strategy, extra_config=config) as (sim, bot):
        run_loop(bot)
        for order in list(sim.open_orders()):
            sim.fill_order(order.order_id)
        run_loop(bot)
        SCRIPT.update(enter_long=0, exit_long=1)
        run_loop(bot)
        exits = list(sim.open_orders())
        assert len(exits) == n, f"{len(exits)} exits resting of {n}"
        yield sim, bot, exits


__all__ = [
    "SLEEPS",
    "build_config",
    "close_bot",
    "make_bot",
    "resting_exits_bot",
    "restart_bot",
    "run_loop",
    "sim_bot",
]
