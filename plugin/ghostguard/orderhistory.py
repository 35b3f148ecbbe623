"""An order the venue's order read forgot, asked of its order history (one request).

Bybit v5's realtime read (`GET /v5/order/realtime`, ccxt `fetch_order`, which Freqtrade's Bybit
class calls) keeps the last 500 closed orders and loses them when Bybit restarts its order
service: order/open-order, "If the Bybit service is restarted due to an update, this part of
the data will be cleared"; "After a server release or restart, filled, cancelled, and rejected
orders of Unified account should only be queried through order history." A lost create that
filled would then be "not found" by its client id for good, and its fill would sit in a
position no trade holds. Venues whose adapter sets `history_lookup` get one more request after
"not found": the order history, by order id or client id.
"""

from __future__ import annotations

from typing import Any

from ghostguard import answers


def from_history(
    venue: Any, order_id: str, pair: str, params: dict | None, error: BaseException
) -> Any:
    """After a "not found" (``error``) on a venue whose order read forgets closed orders: the
    one order its history holds by id or client id (one request, no retry), as Freqtrade would
    have returned it; None when it holds none, on error, in dry-run, or on other venues."""
    if not venue.adapter.history_lookup or venue.dry_run or not answers.is_not_found(error):
        return None
    query = {k: v for k, v in (params or {}).items() if k != "acknowledged"}
    if order_id:
        query["orderId"] = order_id
    try:
        found = venue.exchange._api.fetch_canceled_and_closed_orders(pair, None, None, query)
    except Exception:  # noqa: BLE001 - the first answer ("not found") stands
        return None
    if len(found) != 1:
        return None
    order = venue.exchange._order_contracts_to_amount(found[0])
    return answers.as_venue_answers(order)


__all__ = ["from_history"]
