"""The bot's shares of the symbols it trades, published to the account registry
(`ghostguard.registry`): its booked position and its working orders, per symbol (on spot the
base asset: the bot's pairs of one base add up). Every loop, and right after an entry
replacement was sent under the symbol's advisory lock."""

from __future__ import annotations

from freqtrade.persistence import Trade

from ghostguard import ftmodel, registry
from ghostguard.context import GuardContext


def publish(ctx: GuardContext, sent: dict[str, list[str]] | None = None) -> None:
    """Written when a share changed, else every `registry.HEARTBEAT_S`. `sent`: orders just
    sent per pair, not in Freqtrade's database yet."""
    if ctx.registry is None:
        return
    futures = ctx.venue.futures
    trades = {trade.pair: trade for trade in Trade.get_open_trades()}  # one query a loop
    pairs = set(getattr(ctx.bot, "active_pair_whitelist", None) or ())
    pairs.update(trades)
    pairs.update(sent or ())
    found: dict[str, tuple[float, list[str]]] = {}
    for pair in sorted(pairs):
        symbol = registry.symbol_key(pair, futures)
        position, orders = found.get(symbol, (0.0, []))
        trade = trades.get(pair)
        position += ftmodel.signed_db_position(trade)
        working = [o for o in trade.orders if o.ft_is_open] if trade else []
        ids = {str(o.order_id) for o in working if o.order_id}
        ids |= set((sent or {}).get(pair, ()))
        found[symbol] = (position, orders + sorted(ids))
    now = ctx.clock()
    for symbol, (position, orders) in found.items():
        ctx.registry.publish(symbol, position, orders, now)


__all__ = ["publish"]
