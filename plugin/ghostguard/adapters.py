"""What differs between venues where the guard looks, one record per venue family.

The guard picks the adapter from Freqtrade's exchange (its ccxt id and trading mode). A venue
with an adapter is proven end to end against this project's simulator of that venue (its
REST shapes, error codes, windows and post-only behaviour, with Freqtrade's own venue class).
On any other venue the guard refuses to start, unless `ghost_guard.unproven_venue` is
"venue_neutral": then it runs with what needs no venue knowledge (ccxt's unified readers, one
trades request per order read, not-found as ccxt and Freqtrade report it) and says so.

Sources of each number: the venue's REST documentation, quoted in the simulator's face of that
venue (simulator/ghostsim/venues/*.py) and pinned by its conformance tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class VenueAdapter:
    """One venue family's differences, as the guard needs them."""

    name: str
    # The longest time range one trades request may cover, and the parameter that ends a
    # page; None: one request covers an order's whole life (or the venue is unknown).
    trade_window: timedelta | None
    window_end_param: str | None
    # Binance USD-M: positions and open orders read from the raw endpoints, strictly.
    raw_usdm_readers: bool
    # Client order ids: the venue's limit (the guard's ids are `gg` + hex + role + sequence,
    # alphanumeric and at most ~20 characters, inside every limit below).
    client_id_max_len: int
    # How an order that would take liquidity is refused when sent post-only.
    post_only_cross: str
    proven: bool = True
    # Freqtrade's venue class overrides `fetch_order` without the retrier's `count` (so every
    # not-found sleeps ~35 s in its back-off) and sends these params: the guard asks through
    # the base class's one-attempt `fetch_order` with them instead, and answers as the
    # override does. None: the venue's own method (with `count=0` where it takes it).
    base_fetch_order_params: tuple[tuple[str, object], ...] | None = None
    # The `fetch_order` parameter that looks an order up by client order id (ccxt maps
    # `clientOrderId` for Binance and OKX; for Bybit it passes the venue's own `orderLinkId`,
    # without which Bybit answers the pair's open orders and ccxt takes the first).
    client_id_lookup_param: str = "clientOrderId"
    # How far back the venue still answers an account's fills; None: no documented limit.
    # An order alive before that has fills nobody can read any more: its trades are only a
    # lower bound of what it filled (the guard books that and locks the pair).
    trade_history: timedelta | None = None
    # The venue's order read (`fetch_order`) forgets closed orders its history still holds:
    # on "not found" the guard asks the history once (ccxt `fetch_canceled_and_closed_orders`).
    history_lookup: bool = False
    # One read of every symbol's positions (spot: balances) costs what one symbol's does: the
    # replacement decisions of a loop share it (`sharedreads`). Open orders likewise where
    # every symbol at once costs one request (Bybit, OKX count requests; Binance weighs every
    # symbol's open orders 40 (USD-M) or 80 (spot) against 1 or 6 for one).
    shared_positions: bool = False
    shared_open_orders: bool = False
    # Where one symbol's open orders weigh less than every symbol's (Binance), (one, all): the
    # decisions of a loop read per symbol until that would weigh as much as one read of all,
    # then one read of all serves the rest (`sharedreads.LoopReads.rent_or_buy`).
    open_orders_weights: tuple[int, int] | None = None


BINANCE_FUTURES = VenueAdapter(
    name="Binance USD-M futures",
    # Account-Trade-List: "The time between startTime and endTime cannot be longer than 7 days."
    trade_window=timedelta(days=7),
    window_end_param="endTime",
    raw_usdm_readers=True,
    client_id_max_len=36,
    post_only_cross="rejected at create (-5022)",
    # Account-Trade-List: "Only support querying trade in the past 6 months"
    trade_history=timedelta(days=180),
    # Position-Information-V3: weight 5 with or without a symbol
    shared_positions=True,
    # Current-All-Open-Orders (GET /fapi/v1/openOrders): weight 1 for a symbol, 40 without
    open_orders_weights=(1, 40),
)
BINANCE_SPOT = VenueAdapter(
    name="Binance spot",
    # Spot myTrades: "The time between startTime and endTime can't be longer than 24 hours."
    trade_window=timedelta(hours=24),
    window_end_param="endTime",
    raw_usdm_readers=False,
    client_id_max_len=36,
    post_only_cross="LIMIT_MAKER rejected at create (-2010)",
    # myTrades documents no retention limit.
    trade_history=None,
    # the account's balances are one read of every asset
    shared_positions=True,
    # Current open orders (GET /api/v3/openOrders): weight 6 for a symbol, 80 without
    open_orders_weights=(6, 80),
)
BYBIT_LINEAR = VenueAdapter(
    name="Bybit v5 linear",
    # execution/list: "startTime and endTime ... the time range must be within 7 days"; with
    # startTime only, startTime + 7 days.
    trade_window=timedelta(days=7),
    window_end_param="endTime",
    raw_usdm_readers=False,
    client_id_max_len=36,
    post_only_cross="accepted, then Cancelled (EC_PostOnlyWillTakeLiquidity)",
    # freqtrade/exchange/bybit.py: `params = {"acknowledged": True}`, then super().fetch_order
    base_fetch_order_params=(("acknowledged", True),),
    client_id_lookup_param="orderLinkId",
    # order/open-order (realtime): "If the Bybit service is restarted due to an update, this
    # part of the data will be cleared"; "After a server release or restart, filled, cancelled,
    # and rejected orders of Unified account should only be queried through order history."
    history_lookup=True,
    # execution/list (and order/history for orders with fills): "the past 2 years data"
    trade_history=timedelta(days=730),
    # position/list and order/realtime take settleCoin instead of a symbol: one request
    shared_positions=True,
    shared_open_orders=True,
)
OKX_SWAP = VenueAdapter(
    name="OKX v5 swap",
    # ccxt reads trade/fills-history: the last 3 months in one range, no window per request.
    trade_window=None,
    window_end_param=None,
    raw_usdm_readers=False,
    client_id_max_len=32,
    post_only_cross="accepted, then canceled (Freqtrade's Okx class sends no post-only)",
    # Get transaction details (last 3 months): "the transaction details for the last 3 months"
    trade_history=timedelta(days=90),
    # account/positions and trade/orders-pending without instId: one request
    shared_positions=True,
    shared_open_orders=True,
)
VENUE_NEUTRAL = VenueAdapter(
    name="venue-neutral (no adapter)",
    trade_window=None,
    window_end_param=None,
    raw_usdm_readers=False,
    client_id_max_len=32,
    post_only_cross="unknown",
    proven=False,
)

# (ccxt id, futures) -> adapter
ADAPTERS: dict[tuple[str, bool], VenueAdapter] = {
    ("binance", True): BINANCE_FUTURES,
    ("binance", False): BINANCE_SPOT,
    ("bybit", True): BYBIT_LINEAR,
    ("okx", True): OKX_SWAP,
}
UNPROVEN_CHOICES = ("refuse", "venue_neutral")


def adapter_for(exchange_id: str, futures: bool) -> VenueAdapter | None:
    """The venue's adapter, or None for a venue (or mode) no adapter is proven on."""
    return ADAPTERS.get((exchange_id, futures))


def proven_venues() -> str:
    return ", ".join(a.name for a in ADAPTERS.values())


__all__ = [
    "ADAPTERS",
    "UNPROVEN_CHOICES",
    "VENUE_NEUTRAL",
    "VenueAdapter",
    "adapter_for",
    "proven_venues",
]
