"""Strict Binance USD-M readers: only the documented shape passes; anything else raises."""

from __future__ import annotations

import pytest

from ghostguard.binance import parse_open_orders, parse_position_risk


def test_position_risk_sums_the_symbol_rows() -> None:
    answer = [
        {"symbol": "BTCUSDT", "positionAmt": "0.002", "positionSide": "BOTH"},
        {"symbol": "ETHUSDT", "positionAmt": "-1"},
    ]
    assert parse_position_risk(answer, "BTCUSDT", 1.0) == pytest.approx(0.002)
    assert parse_position_risk(answer, "ETHUSDT", 1.0) == pytest.approx(-1.0)
    assert parse_position_risk([], "BTCUSDT", 1.0) == 0.0


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"code": 0},
        [None],
        [{"positionAmt": "1"}],
        [{"symbol": "BTCUSDT", "positionAmt": "abc"}],
        [{"symbol": "BTCUSDT", "positionAmt": None}],
        [{"symbol": "BTCUSDT"}],
        [{"symbol": "BTCUSDT", "positionAmt": "nan"}],
        [{"symbol": "BTCUSDT", "positionAmt": True}],
    ],
)
def test_position_risk_rejects_malformed_answers(answer) -> None:
    with pytest.raises(ValueError):
        parse_position_risk(answer, "BTCUSDT", 1.0)


def test_open_orders_roles_and_stops() -> None:
    answer = [
        {"symbol": "BTCUSDT", "orderId": 1, "side": "BUY", "type": "LIMIT", "reduceOnly": False},
        {"symbol": "BTCUSDT", "orderId": 2, "side": "SELL", "type": "LIMIT", "reduceOnly": True},
        {
            "symbol": "BTCUSDT",
            "orderId": 3,
            "side": "SELL",
            "type": "STOP_MARKET",
            "origType": "STOP_MARKET",
            "reduceOnly": True,
        },
        {"symbol": "ETHUSDT", "orderId": 4, "side": "BUY", "type": "LIMIT", "reduceOnly": False},
    ]
    for row in answer:
        row.update(origQty="1", executedQty="0.25")
    orders = parse_open_orders(answer, "BTCUSDT")
    assert all(o.remaining == 0.75 for o in orders)
    assert [(o.order_id, o.reduce_only, o.is_stop) for o in orders] == [
        ("1", False, False),
        ("2", True, False),
        ("3", True, True),
    ]


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"orders": []},
        [1],
        [
            {
                "symbol": "BTCUSDT",
                "orderId": None,
                "side": "BUY",
                "type": "LIMIT",
                "reduceOnly": False,
            }
        ],
        [{"symbol": "BTCUSDT", "orderId": 1, "side": "HOLD", "type": "LIMIT", "reduceOnly": False}],
        [{"symbol": "BTCUSDT", "orderId": 1, "side": "BUY", "type": "LIMIT", "reduceOnly": "no"}],
        [{"symbol": "BTCUSDT", "orderId": 1, "side": "BUY", "reduceOnly": False}],
    ],
)
def test_open_orders_rejects_malformed_answers(answer) -> None:
    with pytest.raises(ValueError):
        parse_open_orders(answer, "BTCUSDT")
