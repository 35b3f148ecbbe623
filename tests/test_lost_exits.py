"""Before a risk-reducing exit (ghostguard.lostexits): what the bot's earlier exits filled after
their create answer was lost is never sent again, and an exit of an earlier trade never stands
in for this trade's. Decided on remembered orders (no exchange needed: no unresolved intent)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from ghostguard import ftmodel
from ghostguard.lostexits import LostExits
from ghostguard.placement import Placement


OPENED = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PAIR = "BTC/USDT:USDT"


def _exits(monkeypatch: pytest.MonkeyPatch, remembered: list[dict[str, Any]]) -> LostExits:
    ctx = SimpleNamespace(
        unbooked_exits={PAIR: {o["id"]: o for o in remembered}}, stats=Counter()
    )
    entry = SimpleNamespace(order_date=OPENED, order_date_utc=OPENED)
    monkeypatch.setattr(ftmodel, "open_trade", lambda pair: SimpleNamespace(orders=[entry]))
    monkeypatch.setattr(ftmodel, "db_order", lambda order_id: None)
    return LostExits(SimpleNamespace(ctx=ctx))  # type: ignore[arg-type]


def _stop() -> Placement:
    return Placement(PAIR, "exit", 1, "stop_loss", 1, False, None)


def _sold(order_id: str, filled: float, minutes_after_open: float, status: str = "closed") -> dict:
    at = OPENED.timestamp() * 1000 + minutes_after_open * 60_000
    return {"id": order_id, "side": "sell", "filled": filled, "status": status, "timestamp": at,
            "clientOrderId": f"gg{order_id}"}


def test_a_lost_exit_that_filled_what_is_asked_is_the_answer(monkeypatch) -> None:
    taken, reduced = _exits(monkeypatch, [_sold("7", 0.01, 2)]).before_exit(None, _stop(), 0.01)
    assert taken is not None and taken["id"] == "7" and reduced == pytest.approx(0.01)


def test_a_partial_lost_exit_is_taken_off_what_is_sent(monkeypatch) -> None:
    taken, reduced = _exits(monkeypatch, [_sold("7", 0.004, 2)]).before_exit(None, _stop(), 0.01)
    assert taken is None and reduced == pytest.approx(0.004)


def test_an_earlier_trades_lost_exit_never_stands_in_for_this_trades(monkeypatch) -> None:
    """Placed before this trade opened (a fill no trade could take): the stop-loss goes out."""
    taken, reduced = _exits(monkeypatch, [_sold("7", 0.01, -5)]).before_exit(None, _stop(), 0.01)
    assert taken is None and reduced == 0.0


def test_several_lost_exits_covering_the_request_send_nothing(monkeypatch) -> None:
    remembered = [_sold("7", 0.006, 1), _sold("8", 0.004, 2, status="open")]
    taken, reduced = _exits(monkeypatch, remembered).before_exit(None, _stop(), 0.01)
    assert taken is not None and taken["id"] == "7" and reduced == pytest.approx(0.01)
