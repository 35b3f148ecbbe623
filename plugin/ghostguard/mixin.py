"""`GhostGuardMixin`: add it in front of `IStrategy` and GhostGuard guards the strategy.

    class MyStrategy(GhostGuardMixin, IStrategy): ...

The mixin is invisible to Freqtrade: it defines none of `IStrategy`'s callbacks on the class,
so every check Freqtrade runs on a strategy class (which callbacks it overrides, whether its
`custom_stoploss` takes `after_fill`, its hyperoptable parameters) sees exactly the strategy
without the mixin. What the guard needs from the callbacks it takes on the instance, in live
and dry-run only, when the strategy is built:

- `bot_start`: the guard is installed on the bot's exchange first, then the strategy's own
  `bot_start` runs;
- `bot_loop_start`: the guard's per-loop work first, then the strategy's own;
- `adjust_order_price`: whatever the strategy re-prices with (`adjust_order_price`, or
  `adjust_entry_price` / `adjust_exit_price`, which Freqtrade's own `adjust_order_price`
  dispatches to), the guard looks at the answer before Freqtrade cancels anything.

Each is the strategy's own (bound) method wrapped, so an override that never calls `super()`
is guarded all the same. In backtesting, hyperopt and every other run mode the strategy is left
untouched.

Placing the mixin after `IStrategy` (where it would never run) stops the strategy from loading,
and the `ghost_guard` section is validated when the strategy is built, in every run mode.
"""

from __future__ import annotations

import difflib
import functools
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from freqtrade.enums import RunMode
from freqtrade.exceptions import ConfigurationError, OperationalException
from freqtrade.strategy.interface import IStrategy

from ghostguard.config import CONFIG_SECTION, GuardConfig, parse_guard_config
from ghostguard.events import REPLACEMENT_BLOCKED, log_event
from ghostguard.guard import GhostGuard, StartRefused


logger = logging.getLogger("ghostguard")


class _RefusalIsAMessage(logging.Filter):
    """Freqtrade's strategy wrapper logs whatever `bot_start` raises with its traceback, then
    stops the bot with the message (`freqtrade.main`: "GhostGuard refuses ..."). A refusal is
    that message, not a crash: its traceback is not logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, StartRefused)


logging.getLogger("freqtrade.strategy.strategy_wrapper").addFilter(_RefusalIsAMessage())

_GUARDED_RUNMODES = (RunMode.LIVE, RunMode.DRY_RUN)
# The callbacks the guard takes on the instance (never on the class); `ft_bot_cleanup` is
# Freqtrade's own (no strategy overrides it), called when a bot stops or /reload_config
# replaces it.
GUARDED_CALLBACKS = ("bot_start", "bot_loop_start", "adjust_order_price", "ft_bot_cleanup")


def find_bot(strategy: Any) -> Any | None:
    """The running FreqtradeBot, reached from the strategy's DataProvider (None when absent).

    Freqtrade hands strategies no reference to the bot; this private chain is the only one
    (checked by the start-up self-check and pinned by a test).
    """
    dp = getattr(strategy, "dp", None)
    rpc_manager = getattr(dp, "_DataProvider__rpc", None)
    rpc = getattr(rpc_manager, "_rpc", None)
    return getattr(rpc, "_freqtrade", None)


def misspelled_sections(config: dict[str, Any]) -> list[str]:
    """Top-level config keys that look like a misspelled `ghost_guard` section."""
    def squash(key: str) -> str:
        return "".join(ch for ch in key.lower() if ch.isalnum())

    found = []
    for key in config:
        if not isinstance(key, str) or key == CONFIG_SECTION:
            continue
        if squash(key) == squash(CONFIG_SECTION) or difflib.get_close_matches(
            key.lower(), [CONFIG_SECTION], n=1, cutoff=0.85
        ):
            found.append(key)
    return found


def _placement_error(cls: type) -> str | None:
    """Why the mixin would never run in this class (None when it is placed right)."""
    mro = cls.__mro__
    if IStrategy in mro and mro.index(IStrategy) < mro.index(GhostGuardMixin):
        return (
            f"GhostGuard: in strategy '{cls.__name__}', GhostGuardMixin comes after IStrategy, "
            "so it would never run and the strategy would trade unguarded. Put the mixin "
            f"first: class {cls.__name__}(GhostGuardMixin, IStrategy)."
        )
    return None


class GhostGuardMixin:
    """Strategy mixin. Strategy attribute `ghost_guard_defaults` may hold config defaults."""

    ghost_guard_defaults: ClassVar[dict[str, Any]] = {}
    ghost_guard: GhostGuard | None = None
    ghost_guard_config: GuardConfig

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        error = _placement_error(cls)
        if error is not None:
            raise OperationalException(error)

    def __init__(self, config: dict[str, Any]) -> None:
        # Validate before anything runs: a bad section stops start-up, naming the key.
        wrong = misspelled_sections(config)
        if wrong:
            raise ConfigurationError(
                f"Invalid GhostGuard config: section '{wrong[0]}' is not read; the section is "
                f"called '{CONFIG_SECTION}'."
            )
        self.ghost_guard_config = parse_guard_config(
            config.get(CONFIG_SECTION), self.ghost_guard_defaults
        )
        self.ghost_guard = None
        self._ghost_guard_last_loop: Any = None
        super().__init__(config)  # type: ignore[call-arg]
        if config.get("runmode") in _GUARDED_RUNMODES:
            for name in GUARDED_CALLBACKS:
                own = getattr(self, name)  # the strategy's method (or IStrategy's), bound
                setattr(self, name, _guarded(name, own, self))

    # --- the guard's part of each callback ----------------------------------------------------

    def ghost_guard_start(self) -> None:
        if self.ghost_guard is not None:
            return
        config: dict[str, Any] = getattr(self, "config", {})
        if config.get("runmode") not in _GUARDED_RUNMODES:
            return  # backtesting, hyperopt, plotting: inert
        if not self.ghost_guard_config.default.enabled and not self.ghost_guard_config.pairs:
            logger.warning("GhostGuard is disabled by config (ghost_guard.enabled = false)")
            return
        bot = find_bot(self)
        if bot is None:
            raise StartRefused(
                "GhostGuard: cannot reach the running bot; refusing to trade unguarded"
            )
        guard = GhostGuard(self.ghost_guard_config, self, bot)
        guard.install()
        self.ghost_guard = guard

    def ghost_guard_stop(self) -> None:
        """The bot stops (or /reload_config replaces it): unwrap the exchange, stop the pool."""
        guard, self.ghost_guard = self.ghost_guard, None
        if guard is not None:
            guard.uninstall()

    def ghost_guard_loop(self, current_time: Any) -> None:
        if self.ghost_guard is None or current_time == self._ghost_guard_last_loop:
            return
        self._ghost_guard_last_loop = current_time
        self.ghost_guard.on_loop_start()

    def ghost_guard_filter_reprice(self, proposed: Any, **kwargs: Any) -> Any:
        """Keep the current order when re-pricing it would cancel an order whose state the
        exchange has not confirmed (see `GhostGuard.reprice_veto`)."""
        guard = self.ghost_guard
        current = kwargs.get("current_order_rate")
        if guard is None or proposed is None or proposed == current:
            return proposed
        trade = kwargs.get("trade")
        order = kwargs.get("order")
        pair = kwargs.get("pair") or getattr(trade, "pair", "")
        order_id = getattr(order, "order_id", None)
        try:
            reason = guard.reprice_veto(pair, [order_id] if order_id else [])
        except Exception:  # noqa: BLE001 - the gate in create_order still holds
            logger.exception("GhostGuard re-price pre-check failed on %s", pair)
            return proposed
        if reason is None:
            return proposed
        log_event(
            REPLACEMENT_BLOCKED,
            type="entry" if kwargs.get("is_entry", True) else "exit",
            pair=pair,
            order_id=order_id,
            reason=reason,
            detection="reprice",
        )
        return current


def _guarded(name: str, own: Callable[..., Any], strategy: GhostGuardMixin) -> Callable[..., Any]:
    """The strategy's own bound callback with the guard's part in front (or after, for the
    re-price answer). `functools.wraps` keeps its name and qualified name, so Freqtrade's
    `strategy_safe_wrapper` treats it exactly as the strategy's own method."""
    if name == "bot_start":

        @functools.wraps(own)
        def bot_start(*args: Any, **kwargs: Any) -> Any:
            strategy.ghost_guard_start()
            return own(*args, **kwargs)

        return bot_start
    if name == "bot_loop_start":

        @functools.wraps(own)
        def bot_loop_start(*args: Any, **kwargs: Any) -> Any:
            current_time = kwargs.get("current_time", args[0] if args else None)
            strategy.ghost_guard_loop(current_time)
            return own(*args, **kwargs)

        return bot_loop_start
    if name == "ft_bot_cleanup":

        @functools.wraps(own)
        def ft_bot_cleanup(*args: Any, **kwargs: Any) -> Any:
            try:
                strategy.ghost_guard_stop()
            except Exception:  # noqa: BLE001 - Freqtrade's own cleanup must still run
                logger.warning("GhostGuard could not uninstall cleanly")
            return own(*args, **kwargs)

        return ft_bot_cleanup

    @functools.wraps(own)
    def adjust_order_price(*args: Any, **kwargs: Any) -> Any:
        proposed = own(*args, **kwargs)
        return strategy.ghost_guard_filter_reprice(proposed, **kwargs)

    return adjust_order_price
