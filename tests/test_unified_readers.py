"""Readers of ccxt unified answers (spot, futures venues other than Binance USD-M): the shapes
ccxt returns pass, anything unreadable raises (the guard turns that into a blocking denial).

Here on the readers and the decisions they feed; end to end on the simulator's venues in the
scenario and campaign tests.
"""

from __future__ import annotations

import pytest

from ghostguard import unified
from ghostguard.checks import (
    InternalStateFact,
    OpenOrdersFact,
    OriginalOrderFact,
    PositionFact,
    ReplacementFacts,
    decide,
)
from ghostguard.unified import net_position, open_orders_of_role, spot_position


def test_spot_position_is_the_base_asset_total() -> None:
    balances = {"BTC": {"free": 0.001, "used": 0.002, "total": 0.003}, "USDT": {"total": 50}}
    assert spot_position(balances, "BTC") == pytest.approx(0.003)
    assert spot_position(balances, "ETH") == 0.0  # not listed: holds none


@pytest.mark.parametrize(
    "balances",
    [
        None,  # a forgiving reader would call this "flat" and let a replacement through
        [],
        "error",
        {"BTC": None},
        {"BTC": {"free": 1}},
        {"BTC": {"total": "abc"}},
        {"BTC": {"total": None}},
        {"BTC": 1.0},
    ],
)
def test_spot_position_rejects_unreadable_balances(balances) -> None:
    with pytest.raises(ValueError):
        spot_position(balances, "BTC")


def test_net_position_signs_shorts_and_scales_contracts() -> None:
    positions = [
        {"symbol": "BTC/USDT:USDT", "contracts": 2, "contractSize": 0.001, "side": "long"},
        {"symbol": "ETH/USDT:USDT", "contracts": 3, "contractSize": 1, "side": "short"},
        {"symbol": "SOL/USDT:USDT", "contracts": 0, "side": None},
    ]
    assert net_position(positions, "BTC/USDT:USDT") == pytest.approx(0.002)
    assert net_position(positions, "ETH/USDT:USDT") == pytest.approx(-3.0)
    assert net_position(positions, "SOL/USDT:USDT") == 0.0


@pytest.mark.parametrize(
    "positions",
    [
        None,
        {"BTC/USDT:USDT": 1},
        [{"symbol": "BTC/USDT:USDT", "contracts": None, "side": "long"}],
        [{"symbol": "BTC/USDT:USDT", "contracts": 1, "side": None}],
        [{"symbol": "BTC/USDT:USDT", "contracts": 1, "side": "both"}],
    ],
)
def test_net_position_rejects_unreadable_answers(positions) -> None:
    with pytest.raises(ValueError):
        net_position(positions, "BTC/USDT:USDT")


SPOT_ORDERS = [
    {"id": "1", "side": "buy", "status": "open", "type": "limit", "remaining": 0.5},
    {"id": "2", "side": "sell", "status": "open", "type": "limit", "remaining": 0.2},
    {"id": "3", "side": "sell", "status": "open", "type": "stop_loss_limit", "remaining": 1},
    {"id": "4", "side": "buy", "status": "closed", "type": "limit", "remaining": 0},
    {"id": "5", "side": "sell", "status": "open", "type": "limit", "triggerPrice": 9,
     "remaining": 1},
]


def test_spot_open_orders_take_their_role_from_the_side() -> None:
    assert open_orders_of_role(SPOT_ORDERS, "entry", "buy", futures=False) == [("1", 0.5)]
    assert open_orders_of_role(SPOT_ORDERS, "exit", "buy", futures=False) == [("2", 0.2)]


def test_futures_open_orders_take_their_role_from_reduce_only() -> None:
    orders = [
        {"id": "7", "side": "sell", "reduceOnly": False, "status": "open", "remaining": 1},
        {"id": "8", "side": "buy", "reduceOnly": True, "status": "open", "remaining": 2},
        {"id": "9", "side": "sell", "type": "take_profit_market", "status": "open", "remaining": 1},
    ]
    assert open_orders_of_role(orders, "entry", "sell", futures=True) == [("7", 1.0)]
    assert open_orders_of_role(orders, "exit", "sell", futures=True) == [("8", 2.0)]


@pytest.mark.parametrize(
    "orders",
    [
        None,
        {"orders": []},
        [None],
        [{"side": "buy", "status": "open", "remaining": 1}],  # no id
        [{"id": "1", "side": "buy", "status": "open", "remaining": None}],
        [{"id": "1", "side": "buy", "status": "open", "remaining": "x"}],
    ],
)
def test_open_orders_reject_unreadable_answers(orders) -> None:
    with pytest.raises(ValueError):
        open_orders_of_role(orders, "entry", "buy", futures=False)


def _spot_entry_replacement(balances: dict, open_orders: list) -> ReplacementFacts:
    working_buys = open_orders_of_role(open_orders, "entry", "buy", futures=False)
    return ReplacementFacts(
        role="entry",
        direction=1,
        amount=0.01,
        original=OriginalOrderFact(order_id="42", status="canceled", filled=0.0),
        position=PositionFact(readings=(spot_position(balances, "BTC"),)),
        open_orders=OpenOrdersFact(
            same_role_ids=tuple(order_id for order_id, _ in working_buys),
            same_role_remaining=sum(remaining for _, remaining in working_buys),
        ),
        internal=InternalStateFact(
            signal_active=True, db_unexpected_position=False, db_has_position=False
        ),
        db_position=0.0,
        approved_so_far=0,
        max_replacements=3,
        last_approved_at=None,
        now=100.0,
        cooldown_s=1.0,
    )


def test_spot_replacement_passes_when_the_balance_matches_the_database() -> None:
    verdict = decide(_spot_entry_replacement({"BTC": {"total": 0.0}}, []))
    assert verdict.approved, verdict


def test_spot_replacement_blocks_when_the_original_filled_into_the_balance() -> None:
    # The cancelled answer was stale: the coins arrived. The balance is the witness.
    verdict = decide(_spot_entry_replacement({"BTC": {"total": 0.01}}, []))
    assert not verdict.approved
    assert "position_already_exists" in verdict.reasons


def test_spot_replacement_blocks_on_a_working_buy_order() -> None:
    working = [{"id": "43", "side": "buy", "status": "open", "remaining": 0.01}]
    verdict = decide(_spot_entry_replacement({"BTC": {"total": 0.0}}, working))
    assert not verdict.approved
    assert "duplicate_working_order" in verdict.reasons


def test_same_base_pairs_are_the_other_quotes_the_account_holds() -> None:
    markets = {
        "BTC/USDT": {"spot": True, "base": "BTC", "quote": "USDT"},
        "BTC/USDC": {"spot": True, "base": "BTC", "quote": "USDC"},
        "BTC/EUR": {"spot": True, "base": "BTC", "quote": "EUR"},  # no EUR held
        "BTC/FDUSD": {"spot": True, "base": "BTC", "quote": "FDUSD", "active": False},
        "ETH/USDC": {"spot": True, "base": "ETH", "quote": "USDC"},
        "BTC/USDC:USDC": {"spot": False, "swap": True, "base": "BTC", "quote": "USDC"},
    }
    balances = {"USDT": {"total": 900.0}, "USDC": {"total": 50.0}, "FDUSD": {"total": 10.0},
                "EUR": {"total": 0.0}, "BTC": {"total": 0.002}}
    assert unified.same_base_pairs(markets, "BTC/USDT", balances) == ["BTC/USDC"]
    assert unified.same_base_pairs(markets, "BTC/USDC", balances) == ["BTC/USDT"]
    assert unified.same_base_pairs(markets, "BTC/USDT", balances, limit=0) == []
    assert unified.same_base_pairs(markets, "BTC/USDT", "unreadable") == []
    # Without balances: every other active spot quote of the base (is there any at all?).
    assert unified.same_base_pairs(markets, "BTC/USDT", None) == ["BTC/USDC", "BTC/EUR"]
    assert unified.same_base_pairs(markets, "ETH/USDC", None) == []
