"""The bot's shares of the symbols it trades, published to the account registry
(`ghostguard.registry`): its booked position and its working orders, per symbol (on spot the
base asset: the bot's pairs of one base add up). Every loop, and right after an entry
replacement was sent under the symbol's advisory lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from freqtrade.persistence import Trade

from ghostguard import ftmodel, registry
from ghostguard.checks import Denial, Verdict
from ghostguard.context import GuardContext, safe
from ghostguard.placement import Placement


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


def shared_facts(ctx: GuardContext, pair: str, role: str) -> registry.SharedFacts:
    """What the account's other bots registered for the symbol of an entry; nothing when
    there is no registry or it cannot be read (then other bots' orders make the position
    check `shared_symbol`)."""
    if role != "entry" or ctx.registry is None:
        return registry.SharedFacts()
    shared = ctx.registry.facts(registry.symbol_key(pair, ctx.venue.futures))
    return shared if shared.error is None else registry.SharedFacts()


@contextmanager
def serialized(
    ctx: GuardContext, plan: Placement, busy: Callable[[Verdict], None]
) -> Iterator[list[Any]]:
    """An entry replacement with an account registry holds the symbol's advisory lock from
    its checks until the order it sent is registered: two bots never approve at once. Exits
    and first entries never wait for it. `busy` is told (and raises) when another bot holds
    the lock past `registry.LOCK_WAIT_S`. Yields the list the caller appends what it sent to."""
    reg = ctx.registry
    sent: list[Any] = []
    if reg is None or plan.role != "entry" or not plan.is_replacement:
        yield sent
        return
    symbol = registry.symbol_key(plan.pair, ctx.venue.futures)
    with reg.serialized(symbol) as got:
        if not got and reg.last_error is None:
            busy(Verdict((Denial(2, "shared_symbol", "another bot of the account is "
                                 f"deciding on {symbol} (registry lock busy)"),)))
        yield sent
        if got:  # before the lock goes: the others see the order sent
            ids = [str(o.get("id")) for o in sent if isinstance(o, dict) and o.get("id")]
            safe(publish, ctx, {plan.pair: ids})


__all__ = ["publish", "serialized", "shared_facts"]
