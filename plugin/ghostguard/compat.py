"""The start-up self-check: every Freqtrade internal the guard relies on, verified before the
guard is installed.

Freqtrade offers no hook that sees every order it sends, so the guard wraps a few methods of
the bot's `Exchange` and calls a few of the bot's own methods (see docs/architecture.md). Those
are internals: a release may rename or re-shape them. Each requirement here is one such
internal with what the guard passes to it; `problems()` names every one that moved, and the
guard refuses to start on any (never trade unguarded silently, never crash in mid-loop).

The declared Freqtrade range (pyproject's dependency, read from the installed metadata) is
reported, not enforced: the checks below are what decide.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version


@dataclass(frozen=True)
class MethodShape:
    """A method the guard wraps or calls, with the keyword arguments it passes by name."""

    owner: str  # "exchange" or "bot"
    name: str
    keywords: tuple[str, ...] = ()


# What the guard wraps or calls, and the arguments it passes by name.
REQUIRED_METHODS: tuple[MethodShape, ...] = (
    MethodShape(
        "exchange",
        "create_order",
        ("pair", "ordertype", "side", "amount", "rate", "leverage", "reduceOnly",
         "time_in_force", "initial_order"),
    ),
    MethodShape("exchange", "fetch_order", ("order_id", "pair", "params")),
    MethodShape("exchange", "fetch_orders", ("pair", "since")),
    MethodShape("exchange", "cancel_order_with_result", ("order_id", "pair", "amount")),
    MethodShape(
        "exchange", "_get_params", ("side", "ordertype", "leverage", "reduceOnly", "time_in_force")
    ),
    MethodShape("exchange", "cancel_order", ("order_id", "pair")),
    MethodShape("exchange", "get_trades_for_order", ("order_id", "pair", "since")),
    MethodShape("exchange", "is_cancel_order_result_suitable"),
    MethodShape("exchange", "_order_contracts_to_amount"),
    MethodShape("exchange", "get_pair_base_currency"),
    MethodShape("exchange", "get_balances"),
    MethodShape("exchange", "fetch_positions"),
    MethodShape("bot", "handle_cancel_order", ("order", "order_obj", "trade", "reason")),
    MethodShape("bot", "update_trade_state", ("trade", "order_id", "action_order")),
    MethodShape("bot", "execute_trade_exit", ("trade", "limit", "exit_check", "exit_tag")),
    MethodShape("bot", "startup_update_open_orders"),
    MethodShape("bot", "replace_order_failed", ("trade", "msg")),
)
REQUIRED_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("exchange", "_api"),
    ("exchange", "markets"),
    ("exchange", "trading_mode"),
    ("exchange", "name"),
    ("exchange", "id"),
    ("bot", "_exit_lock"),
    ("bot", "rpc"),
    ("bot", "exchange"),
)
# Order / Trade / PairLocks members the guard reads or calls.
REQUIRED_MODEL_MEMBERS: dict[str, tuple[str, ...]] = {
    "Order": (
        "to_ccxt_object", "safe_filled", "safe_amount", "safe_remaining", "ft_is_open",
        "ft_order_side", "order_date_utc", "ft_pair", "order_id", "trade",
        "parse_from_ccxt_object", "update_from_ccxt_object", "safe_price", "order_update_date",
        "ft_fee_base", "get_open_orders", "ft_trade_id", "filled",
    ),
    "Trade": (
        "get_trades_proxy", "set_custom_data", "get_custom_data", "entry_side", "exit_side",
        "is_short", "orders", "open_orders", "commit", "recalc_trade_from_orders",
        "adjust_stop_loss", "stop_loss", "is_open",
    ),
    "PairLocks": ("lock_pair", "get_pair_locks"),
}


def _accepts_keywords(method: Callable[..., Any], keywords: tuple[str, ...]) -> list[str]:
    """The keywords `method` would not accept by name."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return [f"signature unreadable ({method!r})"]
    parameters = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return [
        keyword
        for keyword in keywords
        if keyword not in parameters
        or parameters[keyword].kind is inspect.Parameter.POSITIONAL_ONLY
    ]


def accepts_retry_count(method: Callable[..., Any]) -> bool:
    """Whether `method` takes Freqtrade's retrier `count` keyword (one attempt with count=0).

    The retrier's wrapper takes `**kwargs` and pops `count`; a venue's override without the
    retrier (Bybit's and Hyperliquid's `fetch_order`, for one) does not take it at all.
    """
    try:
        signature = inspect.signature(method, follow_wrapped=False)
    except (TypeError, ValueError):
        return False
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD or p.name == "count"
        for p in signature.parameters.values()
    )


def retrier_pops_count() -> bool:
    """Freqtrade's retrier still reads the `count` keyword the guard passes."""
    from freqtrade.exchange import common

    try:
        source = inspect.getsource(common.retrier) + inspect.getsource(common.retrier_async)
    except (OSError, TypeError, AttributeError):
        return False
    return 'kwargs.pop("count"' in source


def problems(exchange: Any, bot: Any) -> list[str]:
    """Every internal the guard relies on that is missing or has another shape."""
    from freqtrade.persistence import Order, PairLocks, Trade

    owners = {"exchange": exchange, "bot": bot}
    found: list[str] = []
    for shape in REQUIRED_METHODS:
        label = f"{type(owners[shape.owner]).__name__}.{shape.name}"
        method = getattr(owners[shape.owner], shape.name, None)
        if not callable(method):
            found.append(f"{label} is missing")
            continue
        missing = _accepts_keywords(method, shape.keywords)
        if missing:
            found.append(f"{label} no longer accepts {', '.join(missing)}")
    for owner, name in REQUIRED_ATTRIBUTES:
        if not hasattr(owners[owner], name):
            found.append(f"{type(owners[owner]).__name__}.{name} is missing")
    lock = getattr(bot, "_exit_lock", None)
    if lock is not None and not (hasattr(lock, "acquire") and hasattr(lock, "release")):
        found.append(f"{type(bot).__name__}._exit_lock is no lock ({type(lock).__name__})")
    models = {"Order": Order, "Trade": Trade, "PairLocks": PairLocks}
    for model, members in REQUIRED_MODEL_MEMBERS.items():
        for member in members:
            if not hasattr(models[model], member):
                found.append(f"{model}.{member} is missing")
    if not retrier_pops_count():
        found.append("freqtrade.exchange.common.retrier no longer reads the 'count' keyword")
    from freqtrade.exchange import common

    for name in ("API_FETCH_ORDER_RETRY_COUNT", "calculate_backoff", "time"):
        if not hasattr(common, name):
            found.append(f"freqtrade.exchange.common.{name} is missing")
    rpc = getattr(getattr(bot, "rpc", None), "_rpc", None)
    if not callable(getattr(rpc, "_rpc_force_exit", None)):
        found.append("RPCManager._rpc._rpc_force_exit is missing")
    return found


def declared_range() -> str | None:
    """The Freqtrade versions this installed GhostGuard declares (None if not installed)."""
    try:
        requirements = metadata.requires("ghostguard") or []
    except metadata.PackageNotFoundError:
        return None
    for line in requirements:
        requirement = Requirement(line)
        if requirement.name.lower() == "freqtrade" and requirement.marker is None:
            return str(requirement.specifier) or "any"
    return None


def version_verdict(freqtrade_version: str, declared: str | None) -> str:
    """One phrase for the start-up line: the running Freqtrade against the declared range."""
    if declared is None:
        return f"freqtrade {freqtrade_version} (no declared range: GhostGuard not installed)"
    if declared == "any":
        return f"freqtrade {freqtrade_version} (no declared range)"
    from packaging.specifiers import SpecifierSet

    try:
        inside = Version(freqtrade_version) in SpecifierSet(declared, prereleases=True)
    except InvalidVersion:
        inside = False
    where = "within" if inside else "OUTSIDE"
    return f"freqtrade {freqtrade_version} {where} the proven range {declared}"


def guard_version() -> str:
    try:
        return metadata.version("ghostguard")
    except metadata.PackageNotFoundError:
        return "unknown"
