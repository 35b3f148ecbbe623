"""Booking a fill no trade owns into Freqtrade's own model, the way Freqtrade books orders it
finds on the exchange ("Found previously unknown order": `Order.parse_from_ccxt_object`, the
order appended to the trade, `update_trade_state`), so that `/status`, `/profit`, FreqUI, the
stop-loss, ROI and exit signals see and manage it. Main thread only, under the bot's
`_exit_lock` (the loop's work runs there).

- An order the database holds that filled more than it booked: `update_trade_state` with the
  fill the exchange's trades show (its trade open).
- An order the database does not hold: an entry of the open trade's direction joins that trade
  as one more entry order (as Freqtrade books a DCA fill); an exit of the open trade joins it as
  an exit order when the trade holds at least that much; with no open trade, an entry opens a
  new trade (tagged `ghostguard_adopted`) with the strategy's stop-loss.

Anything else (a fill after its trade closed, an exit larger than its trade, a spot sell or a
reduce-only fill with no trade) cannot be booked faithfully: `book` says why, and the caller
locks the pair for a person to decide.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from freqtrade.exchange import timeframe_to_minutes
from freqtrade.misc import safe_value_fallback
from freqtrade.persistence import Order, Trade
from freqtrade.util import dt_from_ts

from ghostguard import answers, ftmodel
from ghostguard.checks import AMOUNT_EPS, as_amount


logger = logging.getLogger("ghostguard")

ADOPTED_TAG = ftmodel.ADOPTED_TAG


def order_answer(
    order_id: str, pair: str, fetched: Any, filled: float, cost: float, side: str
) -> dict[str, Any]:
    """The order as Freqtrade books it: the exchange's answer (when it gave one), its fill and
    cost raised to what the trades show; built from the trades when the venue no longer
    answers for the order."""
    if isinstance(fetched, dict) and fetched.get("id"):
        amount = as_amount(fetched.get("amount")) or filled
        answer = answers.with_verified_fill(dict(fetched), max(filled, as_amount(
            fetched.get("filled")) or 0.0), max(amount, filled), filled, cost or None)
        return answer
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    average = cost / filled if filled else None
    return {
        "id": order_id, "symbol": pair, "side": side, "type": "limit", "price": average,
        "average": average, "amount": filled, "filled": filled, "remaining": 0.0,
        "cost": cost, "status": "closed", "timestamp": now_ms, "fee": None, "info": {},
    }


def book(bot: Any, strategy: Any, pair: str, answer: dict[str, Any]) -> str | None:
    """Book one order's fill into Freqtrade's model. Returns what was done (for the message),
    or None with a warning when it cannot be booked faithfully."""
    order_id = str(answer.get("id"))
    row = ftmodel.db_order(order_id)
    if row is not None:
        trade = row.trade
        if trade is not None and trade.is_open:
            bot.update_trade_state(trade, order_id, answer, send_msg=False)
            return f"booked on trade {trade.id} (order {order_id} filled {answer.get('filled'):g})"
        if trade is not None and row.safe_filled <= AMOUNT_EPS and row.ft_order_side == (
            trade.entry_side
        ):
            # An entry its closed trade booked nothing of: it belongs where its fill goes.
            Order.session.delete(row)
            Trade.commit()
        elif trade is not None:
            # A closed trade's order that filled more than the trade booked (an exit answered
            # gone, filled later): the row gets its fill, the trade stays closed.
            row.update_from_ccxt_object(answer)
            trade.recalc_trade_from_orders()
            Trade.commit()
            return f"corrected on closed trade {trade.id} (order {order_id} filled " \
                f"{answer.get('filled'):g})"
        else:
            return _cannot(pair, order_id, "its row has no trade")
    side = str(answer.get("side") or "")
    filled = as_amount(answer.get("filled")) or 0.0
    reduce_only = bool(answer.get("reduceOnly"))
    trade = ftmodel.open_trade(pair)
    if trade is not None:
        if side == trade.entry_side and not reduce_only:
            return _append(bot, trade, pair, answer, side, "one more entry")
        if side == trade.exit_side and filled <= trade.amount + AMOUNT_EPS:
            return _append(bot, trade, pair, answer, side, "an exit")
        return _cannot(pair, order_id, f"a {side} of {filled:g} against trade {trade.id}")
    short = side == "sell"
    futures = bot.trading_mode.value == "futures"
    if reduce_only or (short and not (futures and getattr(strategy, "can_short", False))):
        return _cannot(pair, order_id, f"a {side}{' reduce-only' if reduce_only else ''} "
                       "with no trade to book it on")
    trade = _new_trade(bot, strategy, pair, answer, short)
    return _append(bot, trade, pair, answer, side, "a new trade")


def book_round_trip(
    bot: Any, strategy: Any, pair: str, legs: list[tuple[str | None, dict[str, Any]]]
) -> str | None:
    """Book fills that net to nothing (entries and the exits that closed them, `(role,
    answer)`) as one trade of their own, opened and closed by them: nothing open changes, and
    the trades' profit is the exchange's. None when they cannot be booked faithfully."""
    if any(role is None for role, _ in legs):
        return _cannot(pair, "/".join(str(a.get("id")) for _, a in legs), "a leg's role unknown")
    entries = [a for role, a in legs if role == "entry"]
    exits = [a for role, a in legs if role == "exit"]
    if not entries or not exits:
        return _cannot(pair, str(legs[0][1].get("id")), "not an entry and its exit")
    side = str(entries[0].get("side") or "")
    if any(a.get("side") != side for a in entries) or any(a.get("side") == side for a in exits):
        return _cannot(pair, str(entries[0].get("id")), "legs of mixed sides")
    short = side == "sell"
    if short and not (bot.trading_mode.value == "futures" and getattr(strategy, "can_short",
                                                                      False)):
        return _cannot(pair, str(entries[0].get("id")), "a short the bot cannot hold")
    for _, answer in legs:
        row = ftmodel.db_order(str(answer.get("id")))
        if row is None:
            continue
        if row.trade is None or row.trade.is_open or row.safe_filled > AMOUNT_EPS:
            return _cannot(pair, str(answer.get("id")), "a leg its trade already holds")
        Order.session.delete(row)  # a closed trade's row that booked nothing of it
    Trade.commit()
    trade = _new_trade(bot, strategy, pair, entries[0], short)
    done = [_append(bot, trade, pair, a, side, "an entry") for a in entries]
    trade.exit_reason = ADOPTED_TAG
    done += [_append(bot, trade, pair, a, str(a.get("side")), "an exit") for a in exits]
    state = "closed" if not trade.is_open else f"open with {trade.amount:g}"
    return f"a round trip as trade {trade.id} ({state}): {', '.join(done)}"


def _append(bot: Any, trade: Trade, pair: str, answer: dict[str, Any], side: str,
            what: str) -> str:
    price = as_amount(answer.get("price")) or as_amount(answer.get("average")) or (
        trade.open_rate or 0.0
    )
    order_obj = Order.parse_from_ccxt_object(answer, pair, side, price=price)
    order_obj.order_filled_date = dt_from_ts(
        safe_value_fallback(answer, "lastTradeTimestamp", "timestamp")
    )
    trade.orders.append(order_obj)
    Trade.session.add(trade)
    Trade.commit()
    bot.update_trade_state(trade, str(answer["id"]), answer, send_msg=False)
    Trade.commit()
    return f"{what} of trade {trade.id} (order {answer['id']} filled {answer.get('filled'):g})"


def _new_trade(bot: Any, strategy: Any, pair: str, answer: dict[str, Any], short: bool) -> Trade:
    exchange = bot.exchange
    filled = as_amount(answer.get("filled")) or 0.0
    price = as_amount(answer.get("average")) or as_amount(answer.get("price")) or 0.0
    leverage = _leverage(pair)
    fee = exchange.get_fee(symbol=pair, taker_or_maker="maker")
    trade = Trade(
        pair=pair,
        base_currency=exchange.get_pair_base_currency(pair),
        stake_currency=bot.config["stake_currency"],
        stake_amount=filled * price / leverage,
        amount=0,
        is_open=True,
        amount_requested=filled,
        fee_open=fee,
        fee_close=fee,
        open_rate=price,
        open_rate_requested=price,
        open_date=datetime.now(UTC),
        exchange=exchange.id,
        strategy=strategy.get_strategy_name(),
        enter_tag=ADOPTED_TAG,
        timeframe=timeframe_to_minutes(bot.config["timeframe"]),
        leverage=leverage,
        is_short=short,
        trading_mode=bot.trading_mode,
        amount_precision=exchange.get_precision_amount(pair),
        price_precision=exchange.get_precision_price(pair),
        precision_mode=exchange.precisionMode,
        precision_mode_price=exchange.precision_mode_price,
        contract_size=exchange.get_contract_size(pair),
    )
    trade.adjust_stop_loss(trade.open_rate, strategy.stoploss, initial=True)
    return trade


def _leverage(pair: str) -> float:
    """The leverage the pair's last trade used (the account's setting for the symbol)."""
    trades = Trade.get_trades_proxy(pair=pair)
    latest = max(trades, key=lambda t: t.open_date_utc, default=None)
    return float(latest.leverage or 1.0) if latest is not None else 1.0


def _cannot(pair: str, order_id: str, why: str) -> None:
    logger.warning(
        "GhostGuard: cannot book order %s's fill on %s into a trade: %s", order_id, pair, why
    )
    return None


__all__ = ["ADOPTED_TAG", "book", "book_round_trip", "order_answer"]
