"""Pins on the Freqtrade internals GhostGuard relies on (checked on every release of the declared
range by `make compat`). If one fails after an upgrade, re-read docs/architecture.md before
trusting the guard on that version; the start-up self-check (ghostguard/compat.py) refuses to
start where a wrapped or called internal moved."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import freqtrade
from freqtrade.data.dataprovider import DataProvider
from freqtrade.exchange import Exchange
from freqtrade.exchange.common import retrier
from freqtrade.freqtradebot import FreqtradeBot


PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_running_freqtrade_is_in_the_declared_range() -> None:
    """The range is read from pyproject.toml, the one place it is declared: an editable
    install's metadata keeps the range it was installed with until it is installed again."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    declared = [r for r in map(Requirement, dependencies) if r.name == "freqtrade"]
    assert len(declared) == 1 and declared[0].marker is None
    specifier = declared[0].specifier
    assert any(s.operator == ">=" for s in specifier) and any(s.operator == "<" for s in specifier)
    assert Version(freqtrade.__version__) in specifier, (freqtrade.__version__, str(specifier))


def test_retrier_takes_a_count_kwarg() -> None:
    calls: list[int] = []

    @retrier(retries=5)
    def flaky(*, count_seen: list[int] = calls) -> None:
        count_seen.append(1)
        from freqtrade.exceptions import TemporaryError

        raise TemporaryError("x")

    try:
        flaky(count=0)
    except Exception:
        pass
    assert len(calls) == 1  # count=0: one attempt, no back-off


def test_freqtrade_makes_up_a_cancel_answer() -> None:
    source = inspect.getsource(Exchange.cancel_order_with_result)
    assert '"status": "canceled"' in source and '"filled": 0.0' in source


def test_every_create_order_caller_catches_dependency_exception() -> None:
    for method in (
        FreqtradeBot.enter_positions,
        FreqtradeBot.exit_positions,
        FreqtradeBot.process_open_trade_positions,
        FreqtradeBot.handle_replace_order,
        FreqtradeBot.emergency_exit,
    ):
        assert "except DependencyException" in inspect.getsource(method), method.__name__


def test_create_order_signature_carries_role_and_mode() -> None:
    parameters = inspect.signature(Exchange.create_order).parameters
    for name in ("pair", "side", "amount", "reduceOnly", "initial_order"):
        assert name in parameters


def test_dataprovider_private_chain_to_the_bot() -> None:
    sentinel = object()
    dp = DataProvider({"runmode": "dry_run"}, None, rpc=sentinel)  # type: ignore[arg-type]
    assert dp._DataProvider__rpc is sentinel  # type: ignore[attr-defined]


def test_what_an_unconfirmed_cancel_relies_on() -> None:
    """The cancel wrapper answers an unconfirmed entry cancel "open": Freqtrade's
    `handle_cancel_enter` then says "not cancelled" and returns before touching the trade, and
    `handle_cancel_exit` catches the `InvalidOrderException` it gets for an exit. On a re-price
    `handle_replace_order` hands the failure to `replace_order_failed`, which deletes a trade with
    nothing filled (the guard wraps it); `manage_open_orders` and the replace path catch nothing,
    and only `TemporaryError` and `OperationalException` stop at the worker."""
    enter = inspect.getsource(FreqtradeBot.handle_cancel_enter)
    assert re.search(
        r'NON_OPEN_EXCHANGE_STATES:\s+logger\.warning\(f"Order \{order_id\} for \{trade\.pair\} '
        r'not cancelled\."\)\s+return False', enter
    )
    exit_ = inspect.getsource(FreqtradeBot.handle_cancel_exit)
    assert "cancel_order_with_result" in exit_ and "except InvalidOrderException" in exit_
    failed = inspect.getsource(FreqtradeBot.replace_order_failed)
    assert "nr_of_successful_entries == 0" in failed and "trade.delete()" in failed
    assert "self.replace_order_failed(" in inspect.getsource(FreqtradeBot.handle_replace_order)
    for method in (FreqtradeBot.manage_open_orders, FreqtradeBot.replace_order,
                   FreqtradeBot.handle_replace_order):
        assert "except TemporaryError" not in inspect.getsource(method), method.__name__
