"""Shared fixtures: a real FreqtradeBot (live futures) on the simulated exchange, with the
scripted maker strategy, and the guard's log events captured."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from freqtrade.freqtradebot import FreqtradeBot
from freqtrade.persistence import Order, PairLocks

from ghostsim import SimExchange
from tests.harness import run_loop, sim_bot
from tests.pg import database, pg_server, pg_url  # noqa: F401 - fixtures: a real PostgreSQL server
from tests.strategies import ScriptedMakerStrategy as scripted


PAIR = "BTC/USDT:USDT"
GUARD_ON: dict[str, Any] = {"ghost_guard": {"replacement_cooldown_s": 0.0}}
GUARD_OFF: dict[str, Any] = {"ghost_guard": {"enabled": False}}


class EventLog(logging.Handler):
    """Collects the guard's log lines (the `ghostguard` logger)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def named(self, event: str) -> list[str]:
        return [line for line in self.lines if line.split(" ", 1)[0] == event]


@pytest.fixture
def events() -> Iterator[EventLog]:
    handler = EventLog()
    logger = logging.getLogger("ghostguard")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def script() -> Iterator[dict[str, Any]]:
    saved = dict(scripted.SCRIPT)
    scripted.CALLS.clear()
    yield scripted.SCRIPT
    scripted.SCRIPT.clear()
    scripted.SCRIPT.update(saved)


BotFactory = Callable[..., AbstractContextManager[tuple[SimExchange, FreqtradeBot]]]


@pytest.fixture
def bot_on_sim() -> BotFactory:
    """`with bot_on_sim(guard=True) as (sim, bot):` a started bot on a fresh simulator."""

    @contextmanager
    def factory(
        guard: bool = True,
        strategy: str = "ScriptedMakerStrategy",
        extra: dict[str, Any] | None = None,
        sim: SimExchange | None = None,
        db_url: str = "sqlite://",
    ) -> Iterator[tuple[SimExchange, FreqtradeBot]]:
        config: dict[str, Any] = {
            "ghost_guard": dict((GUARD_ON if guard else GUARD_OFF)["ghost_guard"]),
            "exchange": {"pair_whitelist": [PAIR]},
        }
        if extra:
            config["ghost_guard"].update(extra.pop("ghost_guard", {}))
            config.update(extra)
        with sim_bot(sim=sim, strategy=strategy, extra_config=config, db_url=db_url) as (
            simulator,
            bot,
        ):
            yield simulator, bot

    return factory


def guard_locks(pair: str = PAIR) -> list[Any]:
    """The pair's locks the guard set (their reason starts with "GhostGuard")."""
    return [
        lk for lk in PairLocks.get_pair_locks(pair) if (lk.reason or "").startswith("GhostGuard")
    ]


def orders_of(sim: SimExchange, *, reduce_only: bool | None = None, pair: str = PAIR) -> list[Any]:
    """Every order the exchange received for the pair (optionally only reduce-only or not)."""
    return [
        o
        for o in sim.orders
        if o.spec.symbol == pair and (reduce_only is None or o.reduce_only == reduce_only)
    ]


def resting_dca(sim: SimExchange, bot: FreqtradeBot, script: dict[str, Any]) -> tuple[Any, Any]:
    """(entry, dca): a trade's entry placed and filled, then one DCA order placed and left
    resting (`ChaosMakerStrategy` with `SCRIPT["dca"]` on for one loop)."""
    run_loop(bot)
    [entry] = orders_of(sim, reduce_only=False)
    sim.fill_order(entry.order_id)
    run_loop(bot)
    script["dca"] = True
    run_loop(bot)
    script["dca"] = False
    [dca] = [o for o in orders_of(sim, reduce_only=False) if o.is_open]
    return entry, dca


def loop(bot: FreqtradeBot, n: int = 1) -> list[Exception]:
    return run_loop(bot, n)


def order_row(order_id: int) -> Order:
    """The bot database's row of an exchange order."""
    return Order.session.query(Order).filter(Order.order_id == str(order_id)).one()


def reprice_next_candle(sim: SimExchange, script: dict[str, Any], order: Any) -> None:
    """A re-pricing strategy (`SCRIPT["reprice"]`) meets a new candle: the order looks a
    candle old and the book moved away, so Freqtrade asks for a new price and cancels it."""
    script["reprice"] = True
    sim.age_order(order.order_id, 70)
    pair = order.spec.symbol
    sim.set_price(pair, sim.price(pair) + 2 * sim.spec(pair).tick)


def hide_trades(sim: SimExchange, order_id: int) -> None:
    """The exchange's trade history lags too: `userTrades` does not list this order's fills."""
    real_handle = sim.handle

    def lagging(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        status, body = real_handle(method, path, *args, **kwargs)
        if path == "/fapi/v1/userTrades" and isinstance(body, list):
            body = [t for t in body if str(t.get("orderId")) != str(order_id)]
        return status, body

    sim.handle = lagging  # type: ignore[method-assign]


def entry_filled_but_answered_cancelled(sim: SimExchange, bot: FreqtradeBot) -> Any:
    """The bot places its entry; the order fills, but the status query says "cancelled,
    nothing filled" and the trade history lags (scenario 2 with both witnesses wrong).
    Returns the filled order."""
    loop(bot)
    [first] = orders_of(sim)
    sim.fill_order(first.order_id)
    sim.fault_stale_status(first.order_id, "CANCELED")
    hide_trades(sim, first.order_id)
    return first
