"""`GhostGuardMixin`: add it in front of `IStrategy` and GhostGuard guards the strategy.

    class MyStrategy(GhostGuardMixin, IStrategy): ...

The mixin validates the `ghost_guard` config section when the strategy is built (a wrong key
stops start-up), installs the guard in `bot_start` (live and dry-run only) and runs its
per-loop work in `bot_loop_start`. A strategy that overrides `bot_start`, `bot_loop_start` or
`adjust_order_price` keeps its own code: `__init_subclass__` wraps the override so the guard's
part runs whether or not the override calls `super()`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from freqtrade.enums import RunMode

from ghostguard.config import CONFIG_SECTION, GuardConfig, parse_guard_config
from ghostguard.events import REPLACEMENT_BLOCKED, log_event
from ghostguard.guard import GhostGuard


logger = logging.getLogger("ghostguard")

_GUARDED_RUNMODES = (RunMode.LIVE, RunMode.DRY_RUN)
_WRAP_MARK = "_ghostguard_wrapped"


def find_bot(strategy: Any) -> Any | None:
    """The running FreqtradeBot, reached from the strategy's DataProvider (None when absent).

    Freqtrade hands strategies no reference to the bot; this private chain is the only one
    (pinned by a test against Freqtrade 2026.9).
    """
    dp = getattr(strategy, "dp", None)
    rpc_manager = getattr(dp, "_DataProvider__rpc", None)
    rpc = getattr(rpc_manager, "_rpc", None)
    return getattr(rpc, "_freqtrade", None)


def _with_guard(name: str, user_method: Callable[..., Any]) -> Callable[..., Any]:
    if name == "bot_start":

        @functools.wraps(user_method)
        def bot_start(self: Any, **kwargs: Any) -> None:
            self.ghost_guard_start()
            return user_method(self, **kwargs)

        wrapper: Callable[..., Any] = bot_start
    elif name == "bot_loop_start":

        @functools.wraps(user_method)
        def bot_loop_start(self: Any, current_time: Any, **kwargs: Any) -> None:
            self.ghost_guard_loop(current_time)
            return user_method(self, current_time=current_time, **kwargs)

        wrapper = bot_loop_start
    else:

        @functools.wraps(user_method)
        def adjust_order_price(self: Any, *args: Any, **kwargs: Any) -> Any:
            proposed = user_method(self, *args, **kwargs)
            return self.ghost_guard_filter_reprice(proposed, **kwargs)

        wrapper = adjust_order_price
    setattr(wrapper, _WRAP_MARK, True)
    return wrapper


class GhostGuardMixin:
    """Strategy mixin. Strategy attribute `ghost_guard_defaults` may hold config defaults."""

    ghost_guard_defaults: ClassVar[dict[str, Any]] = {}
    ghost_guard: GhostGuard | None = None
    ghost_guard_config: GuardConfig

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("bot_start", "bot_loop_start", "adjust_order_price"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, _WRAP_MARK, False):
                setattr(cls, name, _with_guard(name, method))

    def __init__(self, config: dict[str, Any]) -> None:
        # Validate before anything runs: a bad section stops start-up, naming the key.
        self.ghost_guard_config = parse_guard_config(
            config.get(CONFIG_SECTION), self.ghost_guard_defaults
        )
        self.ghost_guard = None
        self._ghost_guard_last_loop: Any = None
        super().__init__(config)  # type: ignore[call-arg]

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
            raise RuntimeError(
                "GhostGuard: cannot reach the running bot; refusing to trade unguarded"
            )
        guard = GhostGuard(self.ghost_guard_config, self, bot)
        guard.install()
        self.ghost_guard = guard

    def ghost_guard_loop(self, current_time: Any) -> None:
        if self.ghost_guard is None or current_time == self._ghost_guard_last_loop:
            return
        self._ghost_guard_last_loop = current_time
        self.ghost_guard.on_loop_start()

    def ghost_guard_filter_reprice(self, proposed: Any, **kwargs: Any) -> Any:
        """Keep the current order when a re-price would be a replacement the guard must block."""
        guard = self.ghost_guard
        current = kwargs.get("current_order_rate")
        if guard is None or proposed is None or proposed == current:
            return proposed
        trade = kwargs.get("trade")
        pair = kwargs.get("pair") or getattr(trade, "pair", "")
        try:
            reason = guard.reprice_veto(pair, bool(kwargs.get("is_entry", True)), None)
        except Exception:  # noqa: BLE001 - the gate in create_order still holds
            logger.exception("GhostGuard re-price pre-check failed on %s", pair)
            return proposed
        if reason is None:
            return proposed
        log_event(
            REPLACEMENT_BLOCKED,
            type="entry" if kwargs.get("is_entry", True) else "exit",
            pair=pair,
            reason=reason,
            detection="reprice",
        )
        return current

    # --- default callbacks (used when the strategy does not override them) -------------------

    def bot_start(self, **kwargs: Any) -> None:
        self.ghost_guard_start()
        super().bot_start(**kwargs)  # type: ignore[misc]

    def bot_loop_start(self, current_time: Any, **kwargs: Any) -> None:
        self.ghost_guard_loop(current_time)
        super().bot_loop_start(current_time=current_time, **kwargs)  # type: ignore[misc]

    def adjust_order_price(self, *args: Any, **kwargs: Any) -> Any:
        proposed = super().adjust_order_price(*args, **kwargs)  # type: ignore[misc]
        return self.ghost_guard_filter_reprice(proposed, **kwargs)


for _name in ("bot_start", "bot_loop_start", "adjust_order_price"):
    setattr(getattr(GhostGuardMixin, _name), _WRAP_MARK, True)
