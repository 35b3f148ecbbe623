"""A pair's open orders as (id, remaining, client id, role), stop orders excluded, in the
venue's cheapest form (I/O: `venue.Venue.open_orders_with_ids` delegates here).

`shared` (a read a loop's decisions and watch checks may share, `sharedreads`):

- Bybit and OKX answer every symbol's open orders in one request: one read serves every pair
  while fresh.
- Binance weighs every symbol at once more than one symbol (USD-M 40 vs 1, spot 80 vs 6:
  `adapters.VenueAdapter.open_orders_weights`): per symbol until the loop's reads would weigh
  as much as one of all, then one of all (`LoopReads.rent_or_buy`).
- Anything else reads the pair's own open orders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ghostguard import binance, unified
from ghostguard.checks import Role


if TYPE_CHECKING:
    from ghostguard.venue import Venue


KIND = "open_orders"


def open_orders_with_ids(
    venue: Venue, pair: str, entry_side: str, shared: bool = False
) -> list[tuple[str, float, str, Role]]:
    api = venue.exchange._api
    weights = venue.adapter.open_orders_weights if shared else None
    market = venue.exchange.markets[pair] if not venue.dry_run else None
    if venue.binance_usdm:
        assert market is not None
        def one() -> Any:
            return api.fapiPrivateGetOpenOrders({"symbol": market["id"]})
        answer = venue.loop_reads.rent_or_buy(
            KIND, pair, venue.now(), weights, one, lambda: api.fapiPrivateGetOpenOrders({})
        ) if weights else one()
        return [
            (o.order_id, o.remaining, o.client_id, "exit" if o.reduce_only else "entry")
            for o in binance.parse_open_orders(answer, market["id"])
            if not o.is_stop
        ]
    if venue.dry_run:
        orders: Any = [
            o
            for o in list(venue.exchange._dry_run_open_orders.values())
            if o.get("symbol") == pair and o.get("status") == "open"
        ]
    elif shared and venue.adapter.shared_open_orders:
        every = venue.loop_reads.answer(KIND, pair, venue.now(), lambda: api.fetch_open_orders())
        if not isinstance(every, list):
            raise ValueError(f"open orders answer={every!r}")
        orders = [o for o in every if isinstance(o, dict) and o.get("symbol") == pair]
    elif weights and not venue.futures:
        assert market is not None
        # Binance spot: ccxt's own read for one symbol; every symbol's is the raw endpoint
        # (ccxt refuses a read without a symbol), parsed with ccxt's parser for this market.
        answer = venue.loop_reads.rent_or_buy(
            KIND, pair, venue.now(), weights,
            lambda: ("one", api.fetch_open_orders(pair)),
            lambda: ("all", api.privateGetOpenOrders({})),
        )
        if not (isinstance(answer, tuple) and isinstance(answer[1], list)):
            raise ValueError(f"open orders answer={answer!r}")
        how, rows = answer
        orders = rows if how == "one" else api.parse_orders(
            [r for r in rows if isinstance(r, dict) and r.get("symbol") == market["id"]], market
        )
    else:
        orders = api.fetch_open_orders(pair)
    return unified.open_orders_with_ids(orders, entry_side, venue.futures)


__all__ = ["open_orders_with_ids"]
