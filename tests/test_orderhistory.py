"""ghostguard.orderhistory: after "not found", one history read where the venue's order read
forgets closed orders (Bybit), and nowhere else."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import ccxt

from ghostguard.adapters import BINANCE_FUTURES, BYBIT_LINEAR
from ghostguard.orderhistory import from_history


class _Api:
    def __init__(self, found: list[dict[str, Any]] | Exception) -> None:
        self.found = found
        self.asked: list[dict[str, Any]] = []

    def fetch_canceled_and_closed_orders(self, pair: str, since: Any, limit: Any,
                                         params: dict[str, Any]) -> list[dict[str, Any]]:
        self.asked.append(dict(params))
        if isinstance(self.found, Exception):
            raise self.found
        return self.found


def _venue(adapter: Any, found: Any, dry_run: bool = False) -> Any:
    api = _Api(found)
    exchange = SimpleNamespace(_api=api, _order_contracts_to_amount=lambda order: order)
    return SimpleNamespace(adapter=adapter, dry_run=dry_run, exchange=exchange)


NOT_FOUND = ccxt.OrderNotFound("bybit Order not found")
ORDER = {"id": "u-1", "status": "closed", "filled": 0.02, "amount": 0.02, "remaining": 0.0}


def test_bybit_asks_the_history_once_by_client_id_without_acknowledged() -> None:
    venue = _venue(BYBIT_LINEAR, [ORDER])
    found = from_history(venue, "", "BTC/USDT:USDT",
                         {"orderLinkId": "gg1", "acknowledged": True}, NOT_FOUND)
    assert found["filled"] == 0.02
    assert venue.exchange._api.asked == [{"orderLinkId": "gg1"}]


def test_nothing_is_asked_elsewhere_in_dry_run_or_for_other_errors() -> None:
    for venue, error in (
        (_venue(BINANCE_FUTURES, [ORDER]), NOT_FOUND),
        (_venue(BYBIT_LINEAR, [ORDER], dry_run=True), NOT_FOUND),
        (_venue(BYBIT_LINEAR, [ORDER]), ccxt.NetworkError("timeout")),
    ):
        assert from_history(venue, "u-1", "BTC/USDT:USDT", None, error) is None
        assert venue.exchange._api.asked == []


def test_no_single_answer_or_an_error_keeps_not_found() -> None:
    for found in ([], [ORDER, ORDER], ccxt.RateLimitExceeded("403")):
        venue = _venue(BYBIT_LINEAR, found)
        assert from_history(venue, "u-1", "BTC/USDT:USDT", None, NOT_FOUND) is None
        assert venue.exchange._api.asked == [{"orderId": "u-1"}]
