"""Reading and writing Freqtrade's own model: orders, trades, the strategy's signals, custom
data and pair locks. Main thread only (Freqtrade's session is thread-scoped).

Changes to Freqtrade's model go through Freqtrade's own API (`set_custom_data`,
`PairLocks.lock_pair`, a lock's `active` flag), the way Freqtrade itself makes them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from freqtrade.persistence import Order, PairLocks, Trade
from sqlalchemy import select

from ghostguard import answers
from ghostguard.checks import Role, as_amount


logger = logging.getLogger("ghostguard")
# The entry tag of a trade the guard opened for a fill no trade owned (`booking`).
ADOPTED_TAG = "ghostguard_adopted"

LOCK_REASON_PREFIX = "GhostGuard"
CUSTOM_DATA_KEY = "ghostguard"


def db_order(order_id: str) -> Order | None:
    return Order.session.scalars(select(Order).filter(Order.order_id == order_id)).first()


def db_orders(order_ids: list[str]) -> dict[str, Order]:
    """The rows of many orders, by id, in one query per 500 ids (the prune)."""
    found: dict[str, Order] = {}
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start:start + 500]
        rows = Order.session.scalars(select(Order).filter(Order.order_id.in_(chunk))).all()
        found.update({str(row.order_id): row for row in rows})
    return found


def closed_trade_fill(order_id: str | None, pair: str) -> float | None:
    """What a closed trade holds filled of this order (None: no row, or its trade is open or
    gone): check 1's `closed_trade_booked`."""
    if not order_id:
        return None
    try:
        row = Order.order_by_id(str(order_id), pair)
        trade = row.trade if row is not None else None
    except Exception as error:  # noqa: BLE001 - unreadable: check 1 stays strict
        logger.warning("GhostGuard: reading order %s from the database failed (%s)",
                       order_id, answers.error_text(error))
        return None
    if row is None or trade is None or trade.is_open or row.ft_is_open:
        return None
    return float(row.safe_filled)


def shows_new_fill(order_id: str, answer: Any) -> bool:
    """An order answer shows more filled than the database has booked of it."""
    if not isinstance(answer, dict):
        return False
    filled = as_amount(answer.get("filled")) or 0.0
    if filled <= 0:
        return False
    row = db_order(order_id)
    return row is None or filled > row.safe_filled


def open_trade(pair: str) -> Trade | None:
    trades = Trade.get_trades_proxy(pair=pair, is_open=True)
    return trades[0] if trades else None


def order_ids(pair: str) -> set[str]:
    """Ids of every order the database holds for the pair (open or not)."""
    rows = Order.session.scalars(select(Order).filter(Order.ft_pair == pair)).all()
    return {str(row.order_id) for row in rows if row.order_id}


def open_order_ids(pair: str) -> set[str]:
    """Ids of the orders the database holds open for the pair."""
    rows = Order.session.scalars(
        select(Order).filter(Order.ft_pair == pair, Order.ft_is_open.is_(True))
    ).all()
    return {str(row.order_id) for row in rows if row.order_id}


def role_of_row(row: Order) -> Role:
    return "entry" if row.ft_order_side == row.trade.entry_side else "exit"


def is_guarded_row(row: Order | None) -> bool:
    """An open entry or exit order of the database (stop orders are not the guard's)."""
    return row is not None and row.ft_is_open and row.ft_order_side != "stoploss"


def booked_orders(pair: str) -> list[tuple[str, bool, float]]:
    """(order id, is buy, filled) of the open trade's orders as Freqtrade persisted them."""
    trade = open_trade(pair)
    if trade is None:
        return []
    return [
        (str(o.order_id), o.side == "buy", o.safe_filled)
        for o in trade.orders
        if o.order_id and o.ft_order_side != "stoploss"
    ]


def signed_db_position(trade: Trade | None) -> float:
    """Filled amount of the trade per Freqtrade's database, long > 0, short < 0."""
    if trade is None:
        return 0.0
    orders = [
        (o.ft_order_side == trade.entry_side, o.safe_filled, o.ft_fee_base or 0.0)
        for o in trade.orders
    ]
    return answers.signed_position(orders, trade.is_short)


# --- the strategy's signals (its analyzed dataframe) -----------------------------------------


def _analyzed(strategy: Any, pair: str) -> Any:
    dataframe, _ = strategy.dp.get_analyzed_dataframe(pair, strategy.timeframe)
    return dataframe


def entry_signal_key(strategy: Any, pair: str, direction: int) -> str:
    """(pair, direction, entry tag, first candle of the signal's current run)."""
    side = "long" if direction > 0 else "short"
    column = f"enter_{side}"
    dataframe = _analyzed(strategy, pair)
    if dataframe is None or len(dataframe) == 0 or column not in dataframe.columns:
        return f"entry|{pair}|{side}|-|no-signal"
    tags = dataframe["enter_tag"] if "enter_tag" in dataframe.columns else None
    last = len(dataframe) - 1
    if dataframe[column].iloc[last] != 1:
        return f"entry|{pair}|{side}|-|no-signal"
    tag = tags.iloc[last] if tags is not None else None
    first = last
    while first > 0 and dataframe[column].iloc[first - 1] == 1:
        if tags is not None and tags.iloc[first - 1] != tag:
            break
        first -= 1
    date = dataframe["date"].iloc[first]
    return f"entry|{pair}|{side}|{tag or '-'}|{date.isoformat()}"


def signal_active(strategy: Any, pair: str, direction: int) -> bool:
    """False once the latest candle signals an exit of this direction or the opposite entry."""
    dataframe = _analyzed(strategy, pair)
    if dataframe is None or len(dataframe) == 0:
        return False
    row = dataframe.iloc[-1]
    exit_col, opposite_col = (
        ("exit_long", "enter_short") if direction > 0 else ("exit_short", "enter_long")
    )
    return not (row.get(exit_col, 0) == 1 or row.get(opposite_col, 0) == 1)


# --- custom data -----------------------------------------------------------------------------


def update_custom_data(trade_id: int | None, **values: Any) -> None:
    """Merge `values` into the trade's `ghostguard` custom data (open trades only)."""
    if trade_id is None:
        return
    match = [t for t in Trade.get_trades_proxy(is_open=True) if t.id == trade_id]
    if not match:
        return
    current = dict(match[0].get_custom_data(CUSTOM_DATA_KEY, {}) or {})
    current.update(values)
    match[0].set_custom_data(CUSTOM_DATA_KEY, current)


def ghost_entry(order_id: str, detection: str, at: float, outcome: str) -> dict[str, str]:
    """One ghost as a trade's custom data holds it."""
    return {
        "order_id": order_id, "detection": detection,
        "at": datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"), "outcome": outcome,
    }


def note_ghost_order(row: Order, detection: str, at: float) -> None:
    """Add the order to its trade's ghosts: `ghost_orders` (the ids) and `ghosts` (each one's
    id, how it was detected, when (UTC), and its outcome, `detected` until one is known)."""
    trade = row.trade
    if trade is None or trade.id is None:
        return
    data = trade.get_custom_data(CUSTOM_DATA_KEY, {}) or {}
    seen = list(data.get("ghost_orders", []))
    ghosts = [dict(g) for g in data.get("ghosts", []) if isinstance(g, dict)]
    if row.order_id not in seen:
        seen.append(row.order_id)
    if not any(g.get("order_id") == row.order_id for g in ghosts):
        ghosts.append(ghost_entry(row.order_id, detection, at, "detected"))
    update_custom_data(trade.id, ghost_orders=seen, ghosts=ghosts)


def note_ghost_outcome(trade_id: int | None, order_id: str | None, outcome: str) -> None:
    """The outcome of one of the trade's ghosts: replaced by which order, blocked and why, a
    late fill."""
    match = [t for t in Trade.get_trades_proxy(is_open=True) if t.id == trade_id]
    if not match or not order_id:
        return
    ghosts = [dict(g) for g in (match[0].get_custom_data(CUSTOM_DATA_KEY, {}) or {}).get(
        "ghosts", []) if isinstance(g, dict)]
    for ghost in ghosts:
        if ghost.get("order_id") == order_id and ghost.get("outcome") != outcome:
            ghost["outcome"] = outcome
            update_custom_data(trade_id, ghosts=ghosts)
            return


# --- pair locks --------------------------------------------------------------------------------


def guard_locks() -> list[tuple[str, str, str]]:
    """The active pair locks the guard set: (pair, until, reason)."""
    return [
        (lock.pair, str(lock.lock_end_time), str(lock.reason))
        for lock in PairLocks.get_pair_locks(None, datetime.now(UTC))
        if lock.reason and lock.reason.startswith(LOCK_REASON_PREFIX)
    ]


def adopted_trades() -> list[tuple[str, bool]]:
    """(pair, open) of the trades the guard adopted (a fill no trade owned)."""
    return [
        (t.pair, bool(t.is_open)) for t in Trade.get_trades_proxy() if t.enter_tag == ADOPTED_TAG
    ]


def lock_pair(pair: str, reason: str, hours: float) -> bool:
    """Lock the pair for new entries for `hours` unless the guard has locked it already; True
    if new."""
    now = datetime.now(UTC)
    if any(
        lock.reason and lock.reason.startswith(LOCK_REASON_PREFIX)
        for lock in PairLocks.get_pair_locks(pair, now)
    ):
        return False
    PairLocks.lock_pair(pair, now + timedelta(hours=hours), reason=reason, side="*")
    logger.warning("GhostGuard locked %s for new entries for %g h: %s", pair, hours, reason)
    return True


def stop_rows(pair: str) -> list[Order]:
    """The pair's stop orders on the exchange as the database holds them."""
    return list(Order.session.scalars(
        select(Order).filter(Order.ft_pair == pair, Order.ft_order_side == "stoploss")
    ).all())


def closed_trades_net(pair: str, order_ids: set[str]) -> float:
    """What closed trades of the pair still hold per their own rows (long > 0), for the closed
    trades one of whose orders is among `order_ids` (a closed trade's rows net to zero unless a
    fill was booked short)."""
    total = 0.0
    for trade in Trade.get_trades_proxy(pair=pair, is_open=False):
        if any(str(o.order_id) in order_ids for o in trade.orders):
            total += signed_db_position(trade)
    return total


def unlock_pair(pair: str, why: str) -> None:
    now = datetime.now(UTC)
    for lock in PairLocks.get_pair_locks(pair, now):
        if lock.reason and lock.reason.startswith(LOCK_REASON_PREFIX):
            lock.active = False
    Trade.commit()
    logger.info("GhostGuard unlocked %s: %s", pair, why)
