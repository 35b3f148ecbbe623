"""An order's fills are read over its whole life (defect 7 of the correctness work): Binance
answers at most 7 days of trades per request, and ccxt caps `endTime` at `since` + 7 days, so the
fills of an order resting longer were never seen. The venue reader pages the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from freqtrade.enums import TradingMode

from ghostguard.venue import TRADE_WINDOW, Venue


class RecordingExchange(SimpleNamespace):
    """Stands in for Freqtrade's Exchange at the one method the reader calls: it answers the
    trades inside the requested window, the way Binance does."""

    def get_trades_for_order(
        self, order_id: str, pair: str, since: datetime, params: dict | None = None
    ) -> list[dict[str, Any]]:
        end_ms = (params or {}).get("endTime")
        end = datetime.fromtimestamp(end_ms / 1000, UTC) if end_ms else since + TRADE_WINDOW
        assert end - since <= TRADE_WINDOW, "Binance rejects windows over 7 days"
        self.windows.append((since, end))
        return [t for t in self.fills if since - timedelta(seconds=5) <= t["at"] <= end]


def test_fills_of_an_order_older_than_a_week_are_found() -> None:
    now = datetime.now(UTC)
    placed = now - timedelta(days=20)
    fills = [
        {"id": "1", "order": "9", "amount": 0.001, "cost": 50.0, "at": placed + timedelta(days=2)},
        {"id": "2", "order": "9", "amount": 0.002, "cost": 100.0, "at": now - timedelta(days=1)},
    ]
    exchange = RecordingExchange(
        id="binance", trading_mode=TradingMode.FUTURES, fills=fills, windows=[]
    )
    traded, cost = Venue(exchange, dry_run=False).traded("9", "BTC/USDT:USDT", placed)
    assert traded == pytest.approx(0.003) and cost == pytest.approx(150.0)
    assert len(exchange.windows) == 3  # 20 days in pages of at most 7
    assert exchange.windows[0][0] == placed and exchange.windows[-1][1] >= now - timedelta(1)


def test_a_recent_order_costs_one_request() -> None:
    placed = datetime.now(UTC) - timedelta(hours=3)
    exchange = RecordingExchange(id="binance", trading_mode=TradingMode.FUTURES,
                                 fills=[], windows=[])
    assert Venue(exchange, dry_run=False).traded("9", "BTC/USDT:USDT", placed) == (0.0, 0.0)
    assert len(exchange.windows) == 1


def test_an_order_older_than_the_venues_trade_history_is_read_from_where_it_starts() -> None:
    """Binance USD-M answers trades of the past 6 months only: a 200-day-old order is read from
    180 days ago (26 pages of 7 days, not 29 of which three answer nothing), and its fills are
    known to be incomplete (`fills_complete` False: the callers lock the pair)."""
    now = datetime.now(UTC)
    placed = now - timedelta(days=200)
    exchange = RecordingExchange(id="binance", trading_mode=TradingMode.FUTURES,
                                 fills=[], windows=[])
    venue = Venue(exchange, dry_run=False, now=now.timestamp)
    venue.traded("9", "BTC/USDT:USDT", placed)
    assert exchange.windows[0][0] == now - timedelta(days=180)
    assert len(exchange.windows) == 26
    assert not venue.fills_complete(placed)
    assert venue.fills_complete(now - timedelta(days=179))


@pytest.mark.parametrize(
    ("venue_id", "futures", "history_days"),
    [("binance", True, 180), ("bybit", True, 730), ("okx", True, 90), ("binance", False, None)],
)
def test_each_venues_trade_history(venue_id: str, futures: bool, history_days: int | None) -> None:
    """Where each venue's fills end (ghostguard.adapters, with the documentation's words);
    Binance spot documents no limit."""
    now = datetime.now(UTC)
    mode = TradingMode.FUTURES if futures else TradingMode.SPOT
    venue = Venue(SimpleNamespace(id=venue_id, trading_mode=mode), False, now=now.timestamp)
    if history_days is None:
        assert venue.fills_complete(now - timedelta(days=3650))
        return
    assert venue.fills_complete(now - timedelta(days=history_days - 1))
    assert not venue.fills_complete(now - timedelta(days=history_days + 1))
