"""GhostGuard's facade: checks Freqtrade's internals, installs the four wrappers on the bot's
`Exchange` object, and hands each call to the part that owns it.

Freqtrade has no hook that sees every order it sends, so the guard wraps four methods of the one
`Exchange` instance the bot uses (docs/architecture.md has the map of their callers):

- `create_order` -> `gate.Gate`: every order passes the gate; a replacement only when the
  checks pass, else `GhostGuardBlocked` (a `DependencyException` every caller catches).
- `fetch_order` -> `detection.Detection`: detection from status answers, the circuit breaker.
- `cancel_order_with_result` -> `detection.Detection`: never Freqtrade's made-up answer.
- `_get_params` -> the client order id of the order being sent (`intents`).

The wrappers only ever raise what Freqtrade raised already, or `TemporaryError` /
`DependencyException` subclasses; the guard's bookkeeping never raises into the bot loop.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from freqtrade import __version__ as freqtrade_version
from freqtrade.exceptions import OperationalException
from freqtrade.persistence import Trade

from ghostguard import (
    adapters,
    compat,
    events,
    ftmodel,
    identity,
    once,
    registry,
    scopes,
    summary,
)
from ghostguard.answers import settings_text
from ghostguard.config import GuardConfig, GuardSettings
from ghostguard.context import GuardContext, safe
from ghostguard.detection import Detection
from ghostguard.gate import Gate, GhostGuardBlocked
from ghostguard.intents import SENDING_CLIENT_ID, Intents
from ghostguard.ledger import Ledger
from ghostguard.loop import LoopWork
from ghostguard.records import (
    CLIENT_ID_PREFIX,
    Intent,
    OrderRecord,
    PairLockRecord,
    PendingReplacement,
)
from ghostguard.store import GuardStore
from ghostguard.venue import Venue


logger = logging.getLogger("ghostguard")


class StartRefused(OperationalException):
    """The guard will not let the bot trade unguarded: a message for the user (Freqtrade stops
    with it), not a crash (`mixin` keeps Freqtrade's strategy wrapper from logging a traceback
    for it)."""

WRAPPED_METHODS = (
    "create_order", "fetch_order", "fetch_orders", "cancel_order_with_result", "_get_params"
)

__all__ = ["WRAPPED_METHODS", "GhostGuard", "GhostGuardBlocked"]


def _strategy_name(strategy: Any) -> str:
    name = getattr(strategy, "get_strategy_name", None)
    return str(name()) if callable(name) else type(strategy).__name__


class GhostGuard:
    """One per bot: installed on the bot's exchange object by the strategy mixin."""

    def __init__(self, config: GuardConfig, strategy: Any, bot: Any) -> None:
        dry_run = bool(bot.config.get("dry_run"))
        self.ctx = GuardContext(
            config=config,
            strategy=strategy,
            bot=bot,
            venue=Venue(bot.exchange, dry_run, now=lambda: self.ctx.clock()),
            store=GuardStore(),
            dry_run=dry_run,
            own_prefix=identity.own_prefix(identity.bot_tag(identity.bot_identity(
                config.default.bot_id, bot.config, _strategy_name(strategy)
            ))),
        )
        url = config.default.account_registry
        if url and not dry_run:
            api = getattr(bot.exchange, "_api", None)
            tag = self.ctx.own_prefix[len(CLIENT_ID_PREFIX):]
            self.ctx.registry = registry.AccountRegistry(
                url,
                registry.account_key(
                    str(getattr(bot.exchange, "id", bot.exchange.name)),
                    str(bot.config.get("trading_mode", "spot")),
                    getattr(api, "apiKey", None),
                ),
                tag,
                config.default.bot_id or str(bot.config.get("bot_name") or "freqtrade"),
            )
        self.exchange = bot.exchange
        self.ledger = Ledger(self.ctx)
        self.intents = Intents(self.ctx, self.ledger)
        self.gate = Gate(self.ctx, self.ledger, self.intents)
        self.detection = Detection(self.ctx, self.ledger)
        self.loop = LoopWork(self.ctx, self.ledger, self.intents)
        self.tally = summary.EventTally()  # this run's events, for the summary in the log
        self.next_summary: float | None = None

    # --- what tests and the mixin reach --------------------------------------------------------

    @property
    def store(self) -> GuardStore:
        return self.ctx.store

    @property
    def stats(self) -> Counter[str]:
        return self.ctx.stats

    @property
    def clock(self) -> Callable[[], float]:
        return self.ctx.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.ctx.clock = clock

    @property
    def before_send(self) -> Callable[[], None] | None:
        return self.gate.before_send

    @before_send.setter
    def before_send(self, hook: Callable[[], None] | None) -> None:
        self.gate.before_send = hook

    def settings(self, pair: str) -> GuardSettings:
        return self.ctx.settings(pair)

    # --- installation ---------------------------------------------------------------------

    def install(self) -> None:
        """Verify Freqtrade's internals, then wrap. Raises `OperationalException` naming every
        internal that moved: the bot does not start rather than trade unguarded."""
        moved = compat.problems(self.exchange, self.ctx.bot)
        if moved:
            raise StartRefused(
                f"GhostGuard refuses to start on freqtrade {freqtrade_version}: internals it "
                "relies on have moved: " + "; ".join(moved)
            )
        self._check_venue()
        self.ctx.store.open(Trade.session.get_bind())
        if self.ctx.registry is not None:
            events.register_secret(registry.url_password(self.ctx.registry.url))
            self.ctx.registry.open()
        api = getattr(self.exchange, "_api", None)
        for attr in ("apiKey", "secret", "password", "uid"):
            events.register_secret(getattr(api, attr, None))
        self.ctx.venue.capture(WRAPPED_METHODS)
        if self.ctx.venue.needs_ccxt_once and not once.install(self.exchange):
            logger.warning(
                "GhostGuard: %s's fetch_order takes no retry count and its ccxt object has no "
                "fetch_order to ask once: a tracked order's 'not found' sleeps in Freqtrade's "
                "back-off on this venue",
                self.exchange.name,
            )
        for name in WRAPPED_METHODS:
            setattr(self.exchange, name, getattr(self, f"_wrapped_{name}"))
        events.listen(self.tally)
        for name in scopes.SCOPED_BOT_METHODS:
            setattr(self.ctx.bot, name, scopes.scoped(name, getattr(self.ctx.bot, name)))
        rpc = self._rpc()
        if rpc is not None:
            name = scopes.FORCE_EXIT_METHOD
            setattr(rpc, name, scopes.scoped(name, getattr(rpc, name)))
        self.ctx.bot.replace_order_failed = self.detection.keeping_trade(
            self.ctx.bot.replace_order_failed
        )
        logger.info("%s", self.startup_line())

    def _rpc(self) -> Any:
        """The bot's RPC object (what Telegram, the REST API and FreqUI call), or None."""
        rpc = getattr(getattr(self.ctx.bot, "rpc", None), "_rpc", None)
        return rpc if callable(getattr(rpc, scopes.FORCE_EXIT_METHOD, None)) else None

    def _check_venue(self) -> None:
        """A live bot on a venue with no proven adapter starts only when the user chose to run
        venue-neutral (`ghost_guard.unproven_venue`); dry-run reads no venue answers."""
        venue = self.ctx.venue
        if venue.adapter.proven:
            return
        mode = "futures" if venue.futures else "spot"
        refuse = self.ctx.config.default.unproven_venue != "venue_neutral"
        if self.ctx.dry_run:
            if refuse:  # said now, not first when the user goes live
                logger.warning(
                    "GhostGuard has no proven adapter for %s (%s): this dry-run works, but a "
                    "live start will be refused unless \"ghost_guard\": {\"unproven_venue\": "
                    "\"venue_neutral\"} is set (proven: %s)",
                    self.exchange.name, mode, adapters.proven_venues(),
                )
            return
        if refuse:
            raise StartRefused(
                f"GhostGuard has no proven adapter for {self.exchange.name} ({mode}); proven: "
                f"{adapters.proven_venues()}. To run with only what is venue-neutral (ccxt's "
                "unified readers, not-found as Freqtrade reports it, one trades request per "
                "order read), set \"ghost_guard\": {\"unproven_venue\": \"venue_neutral\"}."
            )
        logger.warning(
            "GhostGuard runs venue-neutral on %s (%s): no adapter is proven on this venue "
            "(ghost_guard.unproven_venue = \"venue_neutral\")",
            self.exchange.name,
            mode,
        )

    def uninstall(self) -> None:
        safe(self.log_summary, "at stop")
        events.unlisten(self.tally)
        for name in WRAPPED_METHODS:
            self.exchange.__dict__.pop(name, None)
        once.uninstall(self.exchange)
        for name in (*scopes.SCOPED_BOT_METHODS, "replace_order_failed"):
            self.ctx.bot.__dict__.pop(name, None)
        rpc = self._rpc()
        if rpc is not None:
            rpc.__dict__.pop(scopes.FORCE_EXIT_METHOD, None)
        self.gate.shutdown()
        self.ctx.store.close()

    def startup_line(self) -> str:
        """What runs: version, venue, mode, effective settings, the Freqtrade version check."""
        default = self.ctx.config.default
        overrides = []
        for pair, settings in sorted(self.ctx.config.pairs.items()):
            changed = {
                key: value
                for key, value in asdict(settings).items()
                if value != getattr(default, key)
            }
            overrides.append(f"{pair}{{{settings_text(changed)}}}")
        return (
            f"GhostGuard {compat.guard_version()} installed on {self.exchange.name} "
            f"({'dry-run' if self.ctx.dry_run else 'live'}, "
            f"{self.exchange.trading_mode.value}; adapter {self.ctx.venue.adapter.name}): "
            f"gating {', '.join(WRAPPED_METHODS)}; "
            f"settings {settings_text(asdict(default))}; "
            f"per-pair {', '.join(overrides) if overrides else 'none'}; "
            f"{compat.version_verdict(freqtrade_version, compat.declared_range())}"
        )

    # --- the five wrappers ------------------------------------------------------------------

    def _wrapped_create_order(self, **kwargs: Any) -> Any:
        send = self.ctx.venue.original["create_order"]
        if not self.ctx.settings(kwargs.get("pair", "")).enabled:
            return send(**kwargs)
        try:
            return self.gate.create_order(send, kwargs)
        finally:  # the pair's position may move: the loop's shared reads no longer serve it
            self.ctx.venue.loop_reads.touch(kwargs.get("pair", ""))

    def _wrapped_fetch_order(
        self, order_id: str, pair: str, params: dict | None = None, **kwargs: Any
    ) -> Any:
        fetch = self.ctx.venue.original["fetch_order"]
        answer = self.detection.fetch_order(fetch, order_id, pair, params, kwargs)
        if safe(ftmodel.shows_new_fill, order_id, answer):
            self.ctx.venue.loop_reads.touch(pair)  # a fill the shared reads may predate
        return answer

    def _wrapped_fetch_orders(self, *args: Any, **kwargs: Any) -> Any:
        """The pair's order list (Freqtrade's `handle_onexchange_order` books every answer in
        it): an order never shows less fill than the database booked (a lagging list)."""
        orders = self.ctx.venue.original["fetch_orders"](*args, **kwargs)
        if args or "pair" in kwargs:
            self.ctx.venue.loop_reads.touch(str(args[0] if args else kwargs["pair"]))
        return self.detection.listed_orders(orders)

    def _wrapped_cancel_order_with_result(self, order_id: str, pair: str, amount: float) -> Any:
        try:
            return self.detection.cancel_with_result(order_id, pair, amount)
        finally:  # a cancel can race a fill
            self.ctx.venue.loop_reads.touch(pair)

    def _wrapped__get_params(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        params = self.ctx.venue.original["_get_params"](*args, **kwargs)
        client_id = SENDING_CLIENT_ID.get()
        if client_id is not None:
            params["clientOrderId"] = client_id
        return params

    # --- once per bot loop, and before a re-price cancels anything -----------------------------

    def on_loop_start(self) -> None:
        """The loop's planned work (see `loop`)."""
        self.ctx.unconfirmed_cancels.clear()
        self.ctx.cancelled_this_loop.clear()
        self.ctx.venue.loop_reads.new_loop()
        self.loop.run()
        now = self.ctx.clock()
        if self.next_summary is None or now >= self.next_summary:
            if self.next_summary is not None:
                safe(self.log_summary, f"every {summary.SUMMARY_EVERY_S / 3600:g} h")
            self.next_summary = now + summary.SUMMARY_EVERY_S

    def log_summary(self, when: str) -> None:
        """The guard's state per pair, as `python -m ghostguard status` shows it (`summary`)."""
        for line in summary.lines(
            [r for kind in (OrderRecord, Intent, PendingReplacement, PairLockRecord)
             for r in self.ctx.store.all(kind)],
            ftmodel.adopted_trades(), ftmodel.guard_locks(), self.tally, when,
        ):
            logger.info("GhostGuard summary: %s", line)

    def reprice_veto(self, pair: str, open_order_ids: list[str]) -> str | None:
        """Before Freqtrade cancels an order to re-price it (no network): an order the exchange
        has answered "not found" for is not cancelled for a re-price (the cancel could not be
        confirmed; the circuit breaker resolves it instead). A re-price is never rationed:
        checks 5 and 6 do not apply to it.

        Returns the reason to keep the current order, or None to let the re-price proceed.
        """
        if not self.ctx.settings(pair).enabled:
            return None
        for order_id in open_order_ids:
            record: OrderRecord | None = self.ctx.store.order(order_id)
            if record is not None and record.not_found > 0:
                return "original_order_unknown_status"
        return None
