"""Reading the venue: the one part of the guard that asks the exchange anything.

Everything here goes through Freqtrade's own `Exchange` object (its ccxt instance for the raw
Binance USD-M endpoints), with one attempt and no retry back-off where the venue's method takes
the retrier's `count`, and never with an argument a venue's override does not accept. In
dry-run the "exchange" is Freqtrade's own order simulation, read from memory.

These methods run in the guard's worker threads during a decision: no database access here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import ccxt
from freqtrade.enums import TradingMode
from freqtrade.exceptions import DDosProtection, RetryableOrderError, TemporaryError
from freqtrade.exchange import Exchange
from freqtrade.exchange import common as ft_common

from ghostguard import answers, binance, compat, openorders, orderhistory, unified
from ghostguard import once as one_attempt
from ghostguard.adapters import VENUE_NEUTRAL, VenueAdapter, adapter_for
from ghostguard.checks import (
    AMOUNT_EPS,
    Role,
    as_amount,
)
from ghostguard.sharedreads import LoopReads


# A dry-run trade's orders as Freqtrade persisted them: (order id, is buy, filled).
Booked = list[tuple[str, bool, float]]
# Binance USD-M: one trades request covers at most 7 days (other venues: ghostguard.adapters).
TRADE_WINDOW = timedelta(days=7)
# Venue methods the guard calls for one attempt only (the retrier's `count=0`).
ONE_ATTEMPT_METHODS = (
    "fetch_order", "cancel_order", "get_balances", "fetch_positions", "get_trades_for_order"
)


class Venue:
    def __init__(
        self, exchange: Any, dry_run: bool, now: Callable[[], float] = time.time
    ) -> None:
        self.exchange = exchange
        self.dry_run = dry_run
        self.now = now  # the guard's clock (epoch seconds): where an order's life ends
        self.futures = exchange.trading_mode == TradingMode.FUTURES
        # What differs on this venue (ghostguard.adapters); venue-neutral where none is proven.
        self.adapter: VenueAdapter = adapter_for(exchange.id, self.futures) or VENUE_NEUTRAL
        # Binance USD-M: strict raw readers for checks 2 and 3 (see ghostguard/binance.py).
        self.binance_usdm = self.adapter.raw_usdm_readers and not dry_run
        self.original: dict[str, Callable[..., Any]] = {}
        self.takes_count: dict[str, bool] = {}
        self.base_fetch_takes_count = False
        self.loop_reads = LoopReads()  # one account-wide read for a loop's decisions

    def capture(self, wrapped: tuple[str, ...]) -> None:
        """Before the guard wraps anything: the exchange's own methods, and which of the
        one-attempt methods take `count` on this venue."""
        self.takes_count = {
            name: compat.accepts_retry_count(getattr(self.exchange, name))
            for name in ONE_ATTEMPT_METHODS
        }
        self.base_fetch_takes_count = compat.accepts_retry_count(Exchange.fetch_order)
        self.original = {name: getattr(self.exchange, name) for name in wrapped}

    @property
    def needs_ccxt_once(self) -> bool:
        """The venue's `fetch_order` takes no `count` and no adapter says how to ask its base
        class: one attempt needs `ghostguard.once` (live only)."""
        return (
            not self.dry_run
            and not self.takes_count.get("fetch_order")
            and (self.adapter.base_fetch_order_params is None or not self.base_fetch_takes_count)
        )

    def once(self, name: str) -> dict[str, Any]:
        """Keyword arguments for one attempt, no retry back-off: `count=0` where the venue's
        method takes it, nothing where it does not (never an argument it rejects)."""
        return {"count": 0} if self.takes_count.get(name) else {}

    def amount_tolerance(self, pair: str) -> float:
        """Half the market's amount step: positions that differ by less are the same (rounding
        dust after an exit, a fee booked to the step). The step is in contracts where the
        venue trades contracts (OKX swaps): in base units it is step x contract size."""
        try:
            market = self.exchange.markets[pair]
            step = market["precision"]["amount"]
            if self.exchange.precisionMode != ccxt.TICK_SIZE:
                step = 10.0 ** -int(step)
            tolerance = max(AMOUNT_EPS, float(step) * binance.contract_size_of(market) / 2)
        except Exception:  # noqa: BLE001 - unknown precision: exact comparison
            return AMOUNT_EPS
        if not self.futures:
            tolerance = max(tolerance, self.dust(pair))
        return tolerance

    def dust(self, pair: str) -> float:
        """Spot: what no order can sell (below the market's minimum amount or minimum cost),
        such as the fee a BUY paid in the base asset leaves behind after the exit. Dust is not
        a position: it never blocks or locks. 0 where unknown."""
        try:
            limits = self.exchange.markets[pair].get("limits") or {}
            least = float((limits.get("amount") or {}).get("min") or 0.0)
            cost = float((limits.get("cost") or {}).get("min") or 0.0)
            if cost:
                price = self.exchange.get_rate(pair, side="entry", is_short=False, refresh=False)
                if price:
                    least = max(least, cost / float(price))
            return least
        except Exception:  # noqa: BLE001 - unknown limits: no allowance
            return 0.0

    # --- orders ---------------------------------------------------------------------------

    def fetch_order(self, order_id: str, pair: str, params: dict | None = None) -> Any:
        """One status query through the exchange's own (unwrapped) `fetch_order`; where the
        venue's read forgets closed orders (Bybit after a service restart), "not found" is
        asked once more of the venue's order history."""
        once = self.one_attempt_fetch()
        try:
            if once is not None:
                return once(order_id, pair, params)
            return self.original["fetch_order"](order_id, pair, params)
        except Exception as error:
            found = orderhistory.from_history(self, order_id, pair, params, error)
            if found is None:
                raise
            return found

    def fetch_by_client_id(self, pair: str, client_id: str) -> Any:
        """One status query for the order a client order id names, with the parameter the
        venue reads (Bybit: `orderLinkId`; ccxt maps `clientOrderId` elsewhere)."""
        return self.fetch_order("", pair, {self.adapter.client_id_lookup_param: client_id})

    def one_attempt_fetch(self) -> Callable[[str, str, dict | None], Any] | None:
        """`fetch_order` with one attempt and no retry back-off for "not found", answering as
        the venue's own method does; None where no such call can be made."""
        original = self.original["fetch_order"]
        if self.takes_count.get("fetch_order"):
            return lambda order_id, pair, params: original(order_id, pair, params, count=0)
        fixed = self.adapter.base_fetch_order_params
        if fixed is None or not self.base_fetch_takes_count:
            # A venue whose override takes no `count` and calls the retrier itself (Freqtrade's
            # Hyperliquid, Bybit without its adapter): its ccxt call answers "not found" so that
            # the retrier does not retry it (ghostguard.once).
            if one_attempt.installed(self.exchange):
                return lambda order_id, pair, params: one_attempt.call(
                    original, order_id, pair, params
                )
            return None

        def once(order_id: str, pair: str, params: dict | None) -> Any:
            merged = {**(params or {}), **dict(fixed)}
            order = Exchange.fetch_order(self.exchange, order_id, pair, merged, count=0)
            if not order:
                return original(order_id, pair, params)  # the override's emulated fallback
            return answers.as_venue_answers(order)

        return once

    @staticmethod
    def retrying_transient(call: Callable[[], Any]) -> Any:
        """A read made on Freqtrade's behalf: a network error or 5xx is retried as Freqtrade's
        retrier retries `fetch_order` (5 more attempts, its back-off only for a rate limit);
        "not found" is answered at once (the breaker counts it across loops)."""
        retries = ft_common.API_FETCH_ORDER_RETRY_COUNT
        left = retries
        while True:
            try:
                return call()
            except RetryableOrderError:
                raise
            except TemporaryError as error:
                if left <= 0 or answers.is_not_found(error):
                    raise
                left -= 1
                if isinstance(error, DDosProtection):
                    ft_common.time.sleep(ft_common.calculate_backoff(left + 1, retries))

    def cancel_order(self, order_id: str, pair: str) -> Any:
        return self.exchange.cancel_order(order_id, pair, **self.once("cancel_order"))

    def traded(self, order_id: str, pair: str, since: datetime) -> tuple[float, float | None]:
        """(amount, cost) the exchange's trades record for the order over its whole life;
        raises when unreadable. Where the venue answers at most a window of trades per request
        (Binance USD-M and Bybit 7 days, Binance spot 24 hours: ghostguard.adapters), an older
        order's life is read in pages of that window."""
        def read(start: datetime, params: dict | None) -> Any:
            return self.exchange.get_trades_for_order(
                order_id, pair, start, **({"params": params} if params else {}),
                **self.once("get_trades_for_order"),
            )
        return answers.traded_amounts(self._paged_trades(since, read))

    def traded_orders(
        self, order_ids: list[str], pair: str, since: datetime
    ) -> dict[str, tuple[float, float | None]]:
        """(amount, cost) per order id from one read of the pair's trades (pages of the venue's
        window where its history needs them), for the watch's check of several orders of a pair.
        Where the venue overrides Freqtrade's trade read (`get_trades_for_order`), one read per
        order through that override. Raises when unreadable."""
        own_read = type(self.exchange).get_trades_for_order is not Exchange.get_trades_for_order
        if self.dry_run or own_read or not self.exchange.exchange_has("fetchMyTrades"):
            return {order_id: self.traded(order_id, pair, since) for order_id in order_ids}
        api = self.exchange._api

        def read(start: datetime, params: dict | None) -> Any:
            # Freqtrade's own read, less its filter by one order id (and its retrier).
            since_ms = int((start.timestamp() - 5) * 1000)
            trades = api.fetch_my_trades(pair, since_ms, params=params or {})
            if not isinstance(trades, list):
                raise ValueError(f"trades answer={trades!r}")
            wanted = [t for t in trades if isinstance(t, dict) and str(t.get("order")) in ids]
            return self.exchange._trades_contracts_to_amount(wanted)

        ids = {str(order_id) for order_id in order_ids}
        fills = self._paged_trades(since, read)
        return {
            order_id: answers.traded_amounts(
                [t for t in fills if isinstance(t, dict) and str(t.get("order")) == order_id]
            )
            for order_id in ids
        }

    def _paged_trades(
        self, since: datetime, read: Callable[[datetime, dict | None], Any]
    ) -> list[Any]:
        now = datetime.fromtimestamp(self.now(), UTC)
        since = max(since, self.history_start(now))  # nothing older is answered any more
        window, end_param = self.adapter.trade_window, self.adapter.window_end_param
        if window is None or end_param is None or now - since <= window:
            page = read(since, None)
            if not isinstance(page, list):
                raise ValueError(f"trades answer={page!r}")
            return page
        pages: list[Any] = []
        start = since
        while start < now:
            end = min(start + window - timedelta(minutes=1), now)
            page = read(start, {end_param: int(end.timestamp() * 1000)})
            if not isinstance(page, list):
                raise ValueError(f"trades answer={page!r}")
            pages.extend(page)
            start = end + timedelta(milliseconds=1)
        unique = {str(t.get("id")) if isinstance(t, dict) else repr(t): t for t in pages}
        return list(unique.values())

    def history_start(self, now: datetime) -> datetime:
        """The oldest moment whose fills the venue still answers (its documented retention)."""
        history = self.adapter.trade_history
        return now - history if history is not None else datetime.min.replace(tzinfo=UTC)

    def fills_complete(self, since: datetime) -> bool:
        """Whether the trades of an order alive since `since` are all still readable: False
        when its life began before the venue's trade history (ghostguard.adapters), so that
        `traded` is only a lower bound of what it filled."""
        return since >= self.history_start(datetime.fromtimestamp(self.now(), UTC))

    def find_open_by_client_id(self, pair: str, client_id: str) -> dict[str, Any] | None:
        orders = self.exchange._api.fetch_open_orders(pair)
        if not isinstance(orders, list):
            raise ValueError(f"open orders answer={orders!r}")
        for order in orders:
            if isinstance(order, dict) and order.get("clientOrderId") == client_id:
                return self.exchange._order_contracts_to_amount(order)
        return None

    def unknown_fills(self, pair: str, since: float, known: set[str]) -> dict[str, float]:
        """Amount filled per order id, since `since` (epoch seconds, a minute of slack), for
        the pair's orders that are not in `known` (the database's)."""
        since_ms = int((since - 60.0) * 1000)
        trades = self.exchange._api.fetch_my_trades(pair, since_ms)
        if not isinstance(trades, list):
            raise ValueError(f"trades answer={trades!r}")
        unknown: dict[str, float] = {}
        for trade in trades:
            order_id = str(trade.get("order")) if isinstance(trade, dict) else ""
            amount = as_amount(trade.get("amount")) if isinstance(trade, dict) else None
            if amount is None or not order_id:
                raise ValueError(f"unreadable trade {trade!r}")
            if order_id not in known:
                unknown[order_id] = unknown.get(order_id, 0.0) + amount
        return unknown

    def pair_fills(self, pair: str) -> dict[str, list[tuple[float, float, float, int]]]:
        """The account's latest fills of the pair (one request, the venue's own default window:
        Binance the last 7 days or 500 fills, Bybit 7 days, OKX 3 months), per order id, each
        fill as (the signed change of the position it made, long > 0, net of a fee paid in the
        base asset on spot; the amount; its cost; when, in ms). Raises when unreadable."""
        trades = self.exchange._api.fetch_my_trades(pair)
        if not isinstance(trades, list):
            raise ValueError(f"trades answer={trades!r}")
        base = self.exchange.get_pair_base_currency(pair)
        size = binance.contract_size_of(self.exchange.markets[pair])
        fills: dict[str, list[tuple[float, float, float, int]]] = {}
        for trade in trades:
            if not isinstance(trade, dict):
                raise ValueError(f"unreadable trade {trade!r}")
            order_id = str(trade.get("order") or "")
            amount, side = as_amount(trade.get("amount")), trade.get("side")
            if not order_id or amount is None or side not in ("buy", "sell"):
                raise ValueError(f"unreadable trade {trade!r}")
            amount *= size  # contracts -> base units where the venue trades contracts
            fee = trade.get("fee") if isinstance(trade.get("fee"), dict) else {}
            fee_base = (as_amount(fee.get("cost")) or 0.0) if fee.get("currency") == base else 0.0
            signed = amount - fee_base if side == "buy" else -amount
            cost = as_amount(trade.get("cost")) or 0.0
            at = int(as_amount(trade.get("timestamp")) or 0)
            fills.setdefault(order_id, []).append((signed, amount, cost, at))
        return fills

    # --- positions and open orders ----------------------------------------------------------

    def position(
        self, pair: str, booked: Booked | None = None, shared: bool = False
    ) -> float | None:
        """`shared`: a replacement decision's check 2, served by the loop's account-wide
        answer while it is fresh (`sharedreads`): every venue here answers all symbols at the
        cost of one (Binance USD-M weight 5 either way; Bybit, OKX one request; spot
        balances are all assets)."""
        if self.dry_run:
            return self.dry_run_position(pair, booked or [])
        if not self.futures:
            def balances() -> Any:
                return self.exchange.get_balances(**self.once("get_balances"))
            answer = self.loop_reads.answer("balances", pair, self.now(), balances) if (
                shared) else balances()
            return unified.spot_position(answer, self.exchange.get_pair_base_currency(pair))
        if self.binance_usdm:
            market = self.exchange.markets[pair]
            api = self.exchange._api
            answer = self.loop_reads.answer(
                "positions", pair, self.now(), lambda: api.fapiPrivateV3GetPositionRisk({})
            ) if shared else api.fapiPrivateV3GetPositionRisk({"symbol": market["id"]})
            return binance.parse_position_risk(
                answer, market["id"], binance.contract_size_of(market)
            )
        def positions(of: str | None) -> Any:
            return self.exchange.fetch_positions(of, **self.once("fetch_positions"))
        answer = self.loop_reads.answer("positions", pair, self.now(), lambda: positions(
            None)) if shared else positions(pair)
        return unified.net_position(answer, pair)

    def dry_run_position(self, pair: str, booked: Booked) -> float:
        """In dry-run the exchange is Freqtrade's own simulation: the orders of the pair's open
        trade as Freqtrade persisted them (`booked`: id, is buy, filled), each with the fill its
        in-memory simulation holds when that is further along. The in-memory orders alone are
        empty after a restart."""
        memory = self.exchange._dry_run_open_orders
        net = 0.0
        for order_id, is_buy, filled in booked:
            live = memory.get(order_id)
            if isinstance(live, dict) and live.get("symbol") == pair:
                filled = max(filled, as_amount(live.get("filled")) or 0.0)
            net += filled if is_buy else -filled
        return net

    def open_orders(self, pair: str, role: Role, entry_side: str) -> list[tuple[str, float]]:
        """(id, remaining) of the pair's open orders of one role, stop orders excluded."""
        return [(i, r) for i, r, _, of in self.open_orders_with_ids(pair, entry_side) if of == role]

    def open_orders_with_ids(
        self, pair: str, entry_side: str, shared: bool = False
    ) -> list[tuple[str, float, str, Role]]:
        """(id, remaining, client id, role) of the pair's open orders, stop orders excluded;
        `shared`: a read the loop's decisions may share (`openorders`)."""
        return openorders.open_orders_with_ids(self, pair, entry_side, shared)
