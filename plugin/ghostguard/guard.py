"""GhostGuard at work: detection, the gate in front of every order, and ghost resolution.

Freqtrade 2026.9 has no hook that sees every order it sends, so the guard wraps four methods of
the one `Exchange` instance the bot uses (see docs/architecture.md for the map):

- `create_order`: the gate. Every entry and exit order of every path passes here last; a
  replacement is let out only when the six checks pass, else `GhostGuardBlocked` (a Freqtrade
  `DependencyException`, which every caller of `create_order` already catches) is raised.
- `fetch_order`: detection from status answers and the circuit breaker on "not found" answers.
- `cancel_order_with_result`: never lets Freqtrade's made-up `{"status": "canceled", "filled": 0}`
  through; raises `TemporaryError` instead (which Freqtrade's worker catches), so nothing is
  replaced until the exchange itself has answered.
- `_get_params`: adds the client order id (scoped to the intent) to the order being sent.

The wrappers only ever raise what Freqtrade raised already (or `TemporaryError` /
`DependencyException` subclasses); their own bookkeeping never raises into the bot loop.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import ccxt
from freqtrade import __version__ as freqtrade_version
from freqtrade.enums import RPCMessageType, TradingMode
from freqtrade.exceptions import (
    DependencyException,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)
from freqtrade.persistence import Order, PairLocks, Trade
from sqlalchemy import select

from ghostguard import binance, compat, events, unified
from ghostguard.checks import (
    AMOUNT_EPS,
    GONE_STATUSES,
    Denial,
    InternalStateFact,
    OpenOrdersFact,
    OriginalOrderFact,
    PositionFact,
    ReplacementFacts,
    Role,
    Verdict,
    as_amount,
    decide,
)
from ghostguard.config import GuardConfig, GuardSettings
from ghostguard.events import log_event
from ghostguard.store import GuardStore


logger = logging.getLogger("ghostguard")

LOCK_REASON_PREFIX = "GhostGuard"
CUSTOM_DATA_KEY = "ghostguard"
# Reasons that mean the exchange and the database disagree: the pair is locked for new entries.
DISAGREEMENT_REASONS = frozenset(
    {
        "position_already_exists",
        "position_mismatch",
        "duplicate_working_order",
        "original_order_filled",
        "original_order_partial",
    }
)
LOCK_RECHECK_S = 60.0
WATCH_FIRST_INTERVAL_S = 5.0
WATCH_MAX_INTERVAL_S = 300.0
LOST_CREATE_GRACE_S = 60.0
PRUNE_EVERY_S = 600.0
CLIENT_ID_KEEP_S = 7 * 86400.0
WRAPPED_METHODS = ("create_order", "fetch_order", "cancel_order_with_result", "_get_params")
# Venue methods the guard calls for one attempt only (the retrier's `count=0`).
ONE_ATTEMPT_METHODS = ("fetch_order", "cancel_order", "get_balances", "fetch_positions")
# Detections of a gone order that the bot itself caused (it cancelled its own order to re-price
# it, or on its unfilled-timeout): what follows is checked but never rationed.
OWN_CANCEL_DETECTIONS = frozenset({"cancel"})


class GhostGuardBlocked(DependencyException):
    """A replacement the six checks did not prove safe. Freqtrade logs it and sends nothing."""

    def __init__(self, pair: str, verdict: Verdict) -> None:
        super().__init__(f"GhostGuard blocked replacement on {pair}: {verdict.describe()}")
        self.verdict = verdict


def is_not_found(error: BaseException) -> bool:
    """A definitive "order does not exist", recognised by ccxt's error class on any exchange."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ccxt.OrderNotFound):
            return True
        seen = seen.__cause__
    return False


def is_post_only_rejection(error: BaseException) -> bool:
    """A post-only order refused at placement because it would have taken liquidity."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ccxt.OrderImmediatelyFillable | ccxt.OrderNotFillable):
            return True
        seen = seen.__cause__
    return False


def signed_db_position(trade: Trade | None) -> float:
    """Filled amount of the trade per Freqtrade's database, long > 0, short < 0."""
    if trade is None:
        return 0.0
    net = 0.0
    for order in trade.orders:
        filled = order.safe_filled
        if order.ft_order_side == trade.entry_side:
            net += filled
        else:
            net -= filled
    return -net if trade.is_short else net


def with_verified_fill(
    answer: dict[str, Any], filled: float, amount: float, traded: float, cost: float | None
) -> dict[str, Any]:
    """A copy of an order answer carrying the fill the exchange verified (`filled`; `traded`
    and `cost` are what its trades record): `remaining` follows, a gone status becomes closed
    when the order is in fact fully filled, and cost and average come from the trades."""
    corrected = dict(answer)
    corrected["filled"] = filled
    corrected["remaining"] = max(amount - filled, 0.0)
    if corrected.get("status") in GONE_STATUSES and filled >= amount - AMOUNT_EPS:
        corrected["status"] = "closed"
    if cost is not None and traded > 0:
        corrected["cost"] = cost
        corrected["average"] = cost / traded
    return corrected


def _settings_text(values: dict[str, Any]) -> str:
    return " ".join(
        f"{key}={str(value).lower() if isinstance(value, bool) else value}"
        for key, value in values.items()
    )


def _error_text(error: BaseException) -> str:
    return events.scrub(f"{type(error).__name__}: {error}")[:300]


@dataclass(frozen=True)
class Placement:
    """What the gate knows about an order Freqtrade is about to send."""

    pair: str
    role: Role
    direction: int  # +1 long, -1 short
    signal: str
    trade_id: int | None
    initial: bool
    gone: dict[str, Any] | None  # the earlier order of this pair and role that went away

    @property
    def is_replacement(self) -> bool:
        return self.gone is not None

    @property
    def rationed(self) -> bool:
        """A ghost replacement (the exchange took the order away) counts against checks 5 and
        6; a re-price (the bot cancelled its own order) does not."""
        return self.gone is not None and self.gone.get("detection") not in OWN_CANCEL_DETECTIONS

    @property
    def entry_side(self) -> str:
        """The order side that opens this direction (buy for long, sell for short)."""
        return "buy" if self.direction > 0 else "sell"


class GhostGuard:
    """One per bot: installed on the bot's exchange object by the strategy mixin."""

    def __init__(
        self,
        config: GuardConfig,
        strategy: Any,
        bot: Any,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.strategy = strategy
        self.bot = bot
        self.exchange = bot.exchange
        self.clock = clock
        self.store = GuardStore()
        self.dry_run = bool(bot.config.get("dry_run"))
        self.futures = self.exchange.trading_mode == TradingMode.FUTURES
        # Binance USD-M: strict raw readers for checks 2 and 3 (see ghostguard/binance.py).
        self._binance_usdm = self.futures and self.exchange.id == "binance" and not self.dry_run
        self.stats: Counter[str] = Counter()
        self._orig: dict[str, Callable[..., Any]] = {}
        self._takes_count: dict[str, bool] = {}
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="ghostguard")
        self._cancelling: set[str] = set()
        self._starting_up = True
        # Custom data for trades Freqtrade creates only after the order is sent (new entries).
        self._custom_data_by_order: dict[str, dict[str, Any]] = {}
        self._client_id_for_send: str | None = None
        self._next_prune = 0.0
        # Test seam: called after a replacement is approved, just before it is sent.
        self.before_send: Callable[[], None] | None = None

    # --- installation ---------------------------------------------------------------------

    def install(self) -> None:
        """Verify Freqtrade's internals, then wrap. Raises `OperationalException` naming every
        internal that moved: the bot does not start rather than trade unguarded."""
        moved = compat.problems(self.exchange, self.bot)
        if moved:
            raise OperationalException(
                f"GhostGuard refuses to start on freqtrade {freqtrade_version}: internals it "
                "relies on have moved: " + "; ".join(moved)
            )
        self.store.load()
        api = getattr(self.exchange, "_api", None)
        for attr in ("apiKey", "secret", "password", "uid"):
            events.register_secret(getattr(api, attr, None))
        # Which venue methods take the retrier's `count` (an override may not: Bybit's
        # fetch_order, for one); read before wrapping.
        self._takes_count = {
            name: compat.accepts_retry_count(getattr(self.exchange, name))
            for name in ONE_ATTEMPT_METHODS
        }
        for name in WRAPPED_METHODS:
            self._orig[name] = getattr(self.exchange, name)
            setattr(self.exchange, name, getattr(self, f"_wrapped_{name}"))
        logger.info("%s", self.startup_line())

    def startup_line(self) -> str:
        """What runs: version, venue, mode, effective settings, the Freqtrade version check."""
        default = self.config.default
        overrides = []
        for pair, settings in sorted(self.config.pairs.items()):
            changed = {
                key: value
                for key, value in asdict(settings).items()
                if value != getattr(default, key)
            }
            overrides.append(f"{pair}{{{_settings_text(changed)}}}")
        return (
            f"GhostGuard {compat.guard_version()} installed on {self.exchange.name} "
            f"({'dry-run' if self.dry_run else 'live'}, {self.exchange.trading_mode.value}): "
            f"gating {', '.join(WRAPPED_METHODS)}; settings {_settings_text(asdict(default))}; "
            f"per-pair {', '.join(overrides) if overrides else 'none'}; "
            f"{compat.version_verdict(freqtrade_version, compat.declared_range())}"
        )

    def uninstall(self) -> None:
        for name in WRAPPED_METHODS:
            self.exchange.__dict__.pop(name, None)
        self._orig.clear()
        self._pool.shutdown(wait=False)

    def _once(self, name: str) -> dict[str, Any]:
        """Keyword arguments for one attempt, no retry back-off: `count=0` where the venue's
        method takes it, nothing where it does not (never an argument it rejects)."""
        return {"count": 0} if self._takes_count.get(name) else {}

    def settings(self, pair: str) -> GuardSettings:
        return self.config.for_pair(pair)

    def _safe(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run bookkeeping that must never break Freqtrade's own flow."""
        try:
            return func(*args)
        except Exception:
            logger.exception("GhostGuard bookkeeping failed in %s", func.__name__)
            return None

    # --- facts from the database (main thread only) ---------------------------------------

    @staticmethod
    def _db_order(order_id: str) -> Order | None:
        return Order.session.scalars(select(Order).filter(Order.order_id == order_id)).first()

    @staticmethod
    def _open_trade(pair: str) -> Trade | None:
        trades = Trade.get_trades_proxy(pair=pair, is_open=True)
        return trades[0] if trades else None

    def _role_of_row(self, row: Order) -> Role:
        trade = row.trade
        return "entry" if row.ft_order_side == trade.entry_side else "exit"

    def _analyzed_tail(self, pair: str) -> Any:
        dataframe, _ = self.strategy.dp.get_analyzed_dataframe(pair, self.strategy.timeframe)
        return dataframe

    def _entry_signal_key(self, pair: str, direction: int) -> str:
        """(pair, direction, entry tag, first candle of the signal's current run)."""
        side = "long" if direction > 0 else "short"
        column = f"enter_{side}"
        dataframe = self._analyzed_tail(pair)
        if dataframe is None or len(dataframe) == 0 or column not in dataframe.columns:
            return f"entry|{pair}|{side}|-|no-signal"
        tags = dataframe["enter_tag"] if "enter_tag" in dataframe.columns else None
        last = len(dataframe) - 1
        if dataframe[column].iloc[last] != 1:
            return f"entry|{pair}|{side}|-|no-signal"
        tag = tags.iloc[last] if tags is not None else None
        first = last
        while first > 0 and dataframe[column].iloc[first - 1] == 1:
            if tags is not None and tags.iloc[first - 1] != tag:
                break
            first -= 1
        date = dataframe["date"].iloc[first]
        return f"entry|{pair}|{side}|{tag or '-'}|{date.isoformat()}"

    def _signal_active(self, pair: str, direction: int) -> bool:
        """False once the latest candle signals an exit of this direction or the opposite entry."""
        dataframe = self._analyzed_tail(pair)
        if dataframe is None or len(dataframe) == 0:
            return False
        row = dataframe.iloc[-1]
        exit_col, opposite_col = (
            ("exit_long", "enter_short") if direction > 0 else ("exit_short", "enter_long")
        )
        return not (row.get(exit_col, 0) == 1 or row.get(opposite_col, 0) == 1)

    def _trade_signal_key(self, trade: Trade) -> str:
        """The signal a trade was opened on (recorded at its first order), else the trade id."""
        for order in trade.orders:
            if order.ft_order_side != trade.entry_side:
                continue
            record = self.store.get(f"ord:{order.order_id}")
            if record and record.get("signal"):
                return str(record["signal"])
        return f"entry|{trade.pair}|trade{trade.id}"

    def _plan(self, kwargs: dict[str, Any]) -> Placement:
        pair = kwargs["pair"]
        side = kwargs["side"]
        trade = self._open_trade(pair)
        if self.futures:
            is_exit = bool(kwargs.get("reduceOnly"))
        else:
            is_exit = trade is not None and side == trade.exit_side
        role: Role = "exit" if is_exit else "entry"
        initial = bool(kwargs.get("initial_order", True)) and role == "entry"
        if role == "exit":
            direction = -1 if (trade is not None and trade.is_short) else 1
            signal = f"exit|{pair}|trade{trade.id if trade else '-'}"
        else:
            direction = 1 if side == "buy" else -1
            if initial or trade is None:
                signal = self._entry_signal_key(pair, direction)
            else:
                signal = self._trade_signal_key(trade)
        return Placement(
            pair=pair,
            role=role,
            direction=direction,
            signal=signal,
            trade_id=trade.id if trade else None,
            initial=initial,
            gone=self._pending_gone(pair, role),
        )

    def _pending_gone(self, pair: str, role: Role) -> dict[str, Any] | None:
        key = f"gone:{pair}:{role}"
        gone = self.store.get(key)
        if gone is None:
            return None
        window = max(self.settings(pair).watchlist_minutes * 60.0, LOCK_RECHECK_S)
        if self.clock() - float(gone.get("at", 0.0)) > window:
            self.store.delete(key)
            return None
        return gone

    # --- facts from the exchange (worker threads: no database access here) ---------------

    def _fact_original(self, gone: dict[str, Any], pair: str) -> OriginalOrderFact:
        order_id = gone.get("order_id")
        if gone.get("rejected_at_create") or not order_id:
            return OriginalOrderFact(order_id=None, rejected_at_create=True)
        try:
            answer = self._orig["fetch_order"](order_id, pair, **self._once("fetch_order"))
        except Exception as error:  # noqa: BLE001 - every failure is a fact that blocks
            if is_not_found(error):
                return OriginalOrderFact(
                    order_id=order_id,
                    not_found=True,
                    breaker_tripped=bool(gone.get("breaker_tripped")),
                    verified_filled=as_amount(gone.get("verified_filled")),
                )
            return OriginalOrderFact(order_id=order_id, error=_error_text(error))
        if not isinstance(answer, dict):
            return OriginalOrderFact(order_id=order_id, error=f"answer={answer!r}")
        return OriginalOrderFact(
            order_id=order_id, status=answer.get("status"), filled=answer.get("filled")
        )

    def _read_position(self, pair: str) -> float | None:
        if self.dry_run:
            return self._dry_run_position(pair)
        if not self.futures:
            return unified.spot_position(
                self.exchange.get_balances(**self._once("get_balances")),
                self.exchange.get_pair_base_currency(pair),
            )
        if self._binance_usdm:
            market = self.exchange.markets[pair]
            answer = self.exchange._api.fapiPrivateV3GetPositionRisk({"symbol": market["id"]})
            return binance.parse_position_risk(
                answer, market["id"], binance.contract_size_of(market)
            )
        positions = self.exchange.fetch_positions(pair, **self._once("fetch_positions"))
        return unified.net_position(positions, pair)

    def _dry_run_position(self, pair: str) -> float:
        """In dry-run the exchange is Freqtrade's own simulation: net of its filled orders."""
        net = 0.0
        for order in list(self.exchange._dry_run_open_orders.values()):
            if order.get("symbol") != pair:
                continue
            filled = as_amount(order.get("filled")) or 0.0
            net += filled if order.get("side") == "buy" else -filled
        return net

    def _fact_position(self, pair: str, readings_wanted: int) -> PositionFact:
        readings: list[float | None] = []
        try:
            for index in range(readings_wanted):
                if index:
                    time.sleep(0.5)
                readings.append(self._read_position(pair))
        except Exception as error:  # noqa: BLE001
            return PositionFact(error=_error_text(error))
        return PositionFact(readings=tuple(readings))

    def _read_open_orders(self, pair: str, role: Role, entry_side: str) -> list[tuple[str, float]]:
        """(id, remaining) of the pair's open orders of one role, stop orders excluded."""
        if self._binance_usdm:
            market_id = self.exchange.markets[pair]["id"]
            answer = self.exchange._api.fapiPrivateGetOpenOrders({"symbol": market_id})
            return [
                (o.order_id, o.remaining)
                for o in binance.parse_open_orders(answer, market_id)
                if not o.is_stop and ("exit" if o.reduce_only else "entry") == role
            ]
        if self.dry_run:
            orders: Any = [
                o
                for o in list(self.exchange._dry_run_open_orders.values())
                if o.get("symbol") == pair and o.get("status") == "open"
            ]
        else:
            orders = self.exchange._api.fetch_open_orders(pair)
        return unified.open_orders_of_role(orders, role, entry_side, self.futures)

    def _fact_open_orders(self, pair: str, role: Role, entry_side: str) -> OpenOrdersFact:
        try:
            orders = self._read_open_orders(pair, role, entry_side)
        except Exception as error:  # noqa: BLE001
            return OpenOrdersFact(error=_error_text(error))
        return OpenOrdersFact(
            same_role_ids=tuple(order_id for order_id, _ in orders),
            same_role_remaining=sum(remaining for _, remaining in orders),
        )

    # --- the decision -----------------------------------------------------------------------

    def _decide(self, plan: Placement, kwargs: dict[str, Any]) -> Verdict:
        assert plan.gone is not None
        settings = self.settings(plan.pair)
        trade = Trade.get_trades_proxy(pair=plan.pair, is_open=True)
        open_trade = trade[0] if trade else None
        db_position = signed_db_position(open_trade)
        readings = 2 if settings.position_check == "double" else 1
        # The three exchange checks, issued concurrently, at the last moment before sending.
        original = self._pool.submit(self._fact_original, plan.gone, plan.pair)
        position = self._pool.submit(self._fact_position, plan.pair, readings)
        open_orders = self._pool.submit(
            self._fact_open_orders, plan.pair, plan.role, plan.entry_side
        )
        # Checks 4-6 need no network: gathered while the requests are in flight.
        if plan.role == "entry":
            internal = InternalStateFact(
                signal_active=self._signal_active(plan.pair, plan.direction),
                db_unexpected_position=plan.initial and abs(db_position) > AMOUNT_EPS,
                db_has_position=abs(db_position) > AMOUNT_EPS,
            )
        else:
            internal = InternalStateFact(
                signal_active=True,
                db_unexpected_position=False,
                db_has_position=db_position * plan.direction > AMOUNT_EPS,
            )
        facts = ReplacementFacts(
            role=plan.role,
            direction=plan.direction,
            amount=float(kwargs["amount"]),
            original=original.result(),
            position=position.result(),
            open_orders=open_orders.result(),
            internal=internal,
            db_position=db_position,
            approved_so_far=self._approved_so_far(plan.pair, plan.role, plan.signal),
            max_replacements=settings.max_replacements_per_signal,
            last_approved_at=self._last_approved_at(plan.pair, plan.role),
            now=self.clock(),
            cooldown_s=settings.replacement_cooldown_s,
            unknown_amount=self._unknown_amount(plan.pair, plan.role),
            rationed=plan.rationed,
            auto_replace=settings.auto_replace_cancelled_orders,
        )
        return decide(facts)

    def _approved_so_far(self, pair: str, role: Role, signal: str) -> int:
        """Replacements approved for this signal (check 5's count; a new signal starts at 0)."""
        state = self.store.get(f"sig:{pair}:{role}") or {}
        return int(state.get("approved", 0)) if state.get("signal") == signal else 0

    def _last_approved_at(self, pair: str, role: Role) -> float | None:
        """When the last replacement of this pair and role was approved (check 6)."""
        at = (self.store.get(f"cool:{pair}:{role}") or {}).get("at")
        return None if at is None else float(at)

    def _unknown_amount(self, pair: str, role: Role) -> float:
        """Amount of orders of the pair and role whose state the exchange has not confirmed:
        suspects the breaker has not resolved, and creates whose answer was lost."""
        total = 0.0
        for key in self.store.keys("ord:"):
            record = self.store.get(key) or {}
            if record.get("pair") != pair or record.get("role") != role:
                continue
            if record.get("resolved") or not (record.get("tripped") or record.get("not_found")):
                continue
            row = self._db_order(key[4:])
            if row is not None and row.ft_is_open:
                total += row.safe_remaining
        lost = self.store.get(f"lost:{pair}:{role}")
        if lost:
            total += float(lost.get("amount") or 0.0)
        return total

    # --- wrapper: create_order (the gate) ---------------------------------------------------

    def _wrapped_create_order(self, **kwargs: Any) -> Any:
        pair = kwargs.get("pair", "")
        if not self.settings(pair).enabled:
            return self._orig["create_order"](**kwargs)
        try:
            plan = self._plan(kwargs)
        except Exception as error:  # noqa: BLE001 - fail safe: an unplanned order is blocked
            logger.exception("GhostGuard could not assess an order on %s", pair)
            verdict = Verdict((Denial(0, "guard_error", _error_text(error)),))
            log_event(events.REPLACEMENT_BLOCKED, pair=pair, reason=verdict.describe())
            raise GhostGuardBlocked(pair, verdict) from error
        lost = self.store.get(f"lost:{pair}:{plan.role}")
        if lost is not None and not self.dry_run:
            found = self._resolve_lost_create(plan, lost)
            if found is not None:
                return found
            plan = replace(plan, gone=self._pending_gone(pair, plan.role))
        attempt: int | None = None
        if plan.is_replacement:
            attempt = self._gate(plan, kwargs)
            if self.before_send is not None:
                self.before_send()
        client_id = None if self.dry_run else self._client_id(plan)
        lost_key = f"lost:{pair}:{plan.role}"
        if client_id is not None:
            # Written ahead: a crash or a lost answer leaves the intent to be looked up.
            self.store.put(
                lost_key,
                {
                    "client_id": client_id,
                    "digest": self._intent_hash(plan),
                    "amount": float(kwargs.get("amount") or 0.0),
                    "at": self.clock(),
                },
            )
        self._client_id_for_send = client_id
        try:
            order = self._orig["create_order"](**kwargs)
        except Exception as error:
            if client_id is not None and isinstance(error, InvalidOrderException):
                self._safe(self.store.delete, lost_key)  # refused: no order exists
            self._safe(self._after_create_error, plan, error, attempt)
            raise
        finally:
            self._client_id_for_send = None
        if client_id is not None:
            self._safe(self.store.delete, lost_key)
        self._safe(self._after_create, plan, order, attempt, plan.is_replacement)
        if client_id is not None:
            self._safe(self._advance_client_id, plan)
        if plan.is_replacement and not self.dry_run:
            self._safe(self._sweep_duplicates, plan, order)
        return order

    # --- client order ids scoped to the intent, lost creates, the sweep after placing --------

    @staticmethod
    def _intent_hash(plan: Placement) -> str:
        return hashlib.sha1(f"{plan.signal}|{plan.role}".encode()).hexdigest()[:12]

    def _client_id(self, plan: Placement) -> str:
        """`gg` + hash(signal, role) + role letter + sequence: alphanumeric, at most ~20 chars
        (Binance allows 36 of `[.A-Z:/a-z0-9_-]`). A retry after a lost answer reuses the id,
        so the exchange itself refuses a second open order for the same intent."""
        digest = self._intent_hash(plan)
        sequence = int((self.store.get(f"cid:{digest}") or {}).get("next", 0))
        return f"gg{digest}{plan.role[0]}{sequence}"

    def _advance_client_id(self, plan: Placement | None, digest: str | None = None) -> None:
        digest = digest or self._intent_hash(plan)  # type: ignore[arg-type]
        sequence = int((self.store.get(f"cid:{digest}") or {}).get("next", 0))
        self.store.put(f"cid:{digest}", {"next": sequence + 1, "at": self.clock()})

    def _wrapped__get_params(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        params = self._orig["_get_params"](*args, **kwargs)
        if self._client_id_for_send is not None:
            params["clientOrderId"] = self._client_id_for_send
        return params

    def _lookup_lost(self, pair: str, client_id: str) -> dict[str, Any] | None:
        """The order a lost create may have placed, by client order id, with its fills read
        from the exchange's trades (a stale status must not hide a fill). None: not found.
        Raises when the exchange cannot tell."""
        try:
            found = self._orig["fetch_order"](
                "", pair, {"clientOrderId": client_id}, **self._once("fetch_order")
            )
        except Exception as error:
            if not is_not_found(error):
                raise
            # The query side may lag the matching engine (-2013 for a live order): the open
            # orders list is a second witness.
            return self._find_open_by_client_id(pair, client_id)
        if not isinstance(found, dict) or not found.get("id"):
            raise ValueError(f"lookup answer={found!r}")
        stamp = as_amount(found.get("timestamp"))
        since = (
            datetime.fromtimestamp(stamp / 1000, UTC)
            if stamp
            else datetime.now(UTC) - timedelta(days=1)
        )
        traded, cost = self._traded(str(found["id"]), pair, since)
        reported = as_amount(found.get("filled")) or 0.0
        if traded > reported + AMOUNT_EPS:
            amount = as_amount(found.get("amount")) or traded
            found = with_verified_fill(found, traded, amount, traded, cost)
        return found

    def _find_open_by_client_id(self, pair: str, client_id: str) -> dict[str, Any] | None:
        orders = self.exchange._api.fetch_open_orders(pair)
        if not isinstance(orders, list):
            raise ValueError(f"open orders answer={orders!r}")
        for order in orders:
            if isinstance(order, dict) and order.get("clientOrderId") == client_id:
                return self.exchange._order_contracts_to_amount(order)
        return None

    def _resolve_lost_create(self, plan: Placement, lost: dict[str, Any]) -> Any:
        """A create whose answer was lost: look its client order id up before sending again.

        Returns the order found (Freqtrade takes it as the create answer), or None to go on
        (the placement then counts as a replacement and reuses the same client order id).
        """
        pair, client_id = plan.pair, str(lost.get("client_id"))
        try:
            found = self._lookup_lost(pair, client_id)
        except Exception as error:  # noqa: BLE001
            verdict = Verdict((Denial(0, "lost_create_unresolved", _error_text(error)),))
            self._safe(self._on_blocked, plan, verdict)
            raise GhostGuardBlocked(pair, verdict) from error
        self.store.delete(f"lost:{pair}:{plan.role}")
        if found is not None:
            filled = as_amount(found.get("filled")) or 0.0
            if found.get("status") not in GONE_STATUSES or filled > AMOUNT_EPS:
                self.stats["lost_creates_found"] += 1
                logger.warning(
                    "GhostGuard: the lost create %s on %s was placed after all (order %s, %s, "
                    "filled %s); taking it instead of sending a second order",
                    client_id,
                    pair,
                    found.get("id"),
                    found.get("status"),
                    filled,
                )
                self._after_create(plan, found, None, False)
                self._advance_client_id(plan)
                return found
            self._advance_client_id(plan)  # it existed and is gone: its id is used up
        # Not found (the exchange may lag) or gone: the placement that follows is a replacement
        # decision (checks 2, 3 and exposure), and a not-found id is reused so that the
        # exchange itself refuses a duplicate of a still-working original.
        self._record_gone(
            pair, plan.role, None, "lost_create", rejected_at_create=True, client_id=client_id
        )
        return None

    def _sweep_duplicates(self, plan: Placement, order: Any) -> None:
        """Right after a replacement: a second working order of the same role is cancelled."""
        working = self._read_open_orders(plan.pair, plan.role, plan.entry_side)
        if len(working) < 2:
            return
        ordered = sorted(working, key=lambda item: (len(item[0]), item[0]))
        for order_id, _ in ordered[1:]:
            self.exchange.cancel_order(order_id, plan.pair)
            self.stats["duplicates_cancelled"] += 1
            log_event(
                events.DUPLICATE_CANCELLED,
                type=plan.role,
                pair=plan.pair,
                order_id=order_id,
                reason=f"second working {plan.role} order; kept {ordered[0][0]}",
            )

    def _gate(self, plan: Placement, kwargs: dict[str, Any]) -> int | None:
        """Decide a replacement; raise `GhostGuardBlocked` or return the approved attempt no.
        (None for an approved re-price: it uses up no attempt)."""
        self.stats["decisions"] += 1
        try:
            verdict = self._decide(plan, kwargs)
        except Exception as error:  # noqa: BLE001
            logger.exception("GhostGuard check failed on %s", plan.pair)
            verdict = Verdict((Denial(0, "guard_error", _error_text(error)),))
        if not verdict.approved:
            self._safe(self._on_blocked, plan, verdict)
            raise GhostGuardBlocked(plan.pair, verdict)
        attempt = self._on_approved(plan) if plan.rationed else self._on_reprice_approved(plan)
        if plan.role == "exit" and verdict.exit_amount is not None:
            if verdict.exit_amount < float(kwargs["amount"]):
                logger.info(
                    "GhostGuard clamps exit on %s from %s to the position %s",
                    plan.pair,
                    kwargs["amount"],
                    verdict.exit_amount,
                )
                kwargs["amount"] = verdict.exit_amount
        return attempt

    def _on_approved(self, plan: Placement) -> int:
        settings = self.settings(plan.pair)
        key = f"sig:{plan.pair}:{plan.role}"
        state = self.store.get(key) or {}
        if state.get("signal") != plan.signal:
            state = {"signal": plan.signal, "approved": 0, "max_logged": False}
        state["approved"] = int(state.get("approved", 0)) + 1
        self.store.put(key, state)
        self.store.put(f"cool:{plan.pair}:{plan.role}", {"at": self.clock()})
        self.stats["approved"] += 1
        attempt = int(state["approved"])
        log_event(
            events.GHOST_ORDER_RECOVERY_APPROVED,
            type=plan.role,
            pair=plan.pair,
            order_id=(plan.gone or {}).get("order_id"),
            attempt=f"{attempt}/{settings.max_replacements_per_signal}",
            detection=(plan.gone or {}).get("detection"),
        )
        self._update_custom_data(plan.trade_id, attempts=attempt, last_verdict="approved")
        return attempt

    def _on_reprice_approved(self, plan: Placement) -> None:
        """A re-price passed checks 1-4 and the exposure rule: it uses up no attempt."""
        self.stats["reprices_approved"] += 1
        logger.debug(
            "GhostGuard: re-price on %s (%s) passed the checks; original %s",
            plan.pair,
            plan.role,
            (plan.gone or {}).get("order_id"),
        )
        return None

    def _on_blocked(self, plan: Placement, verdict: Verdict) -> None:
        settings = self.settings(plan.pair)
        self.stats["blocked"] += 1
        for reason in verdict.reasons:
            self.stats[f"blocked:{reason}"] += 1
        original_id = (plan.gone or {}).get("order_id")
        line = log_event(
            events.REPLACEMENT_BLOCKED,
            type=plan.role,
            pair=plan.pair,
            order_id=original_id,
            reason=verdict.describe(),
            detection=(plan.gone or {}).get("detection"),
        )
        if "max_replacement_attempts" in verdict.reasons:
            key = f"sig:{plan.pair}:{plan.role}"
            state = self.store.get(key) or {"signal": plan.signal, "approved": 0}
            if not state.get("max_logged"):
                state["max_logged"] = True
                self.store.put(key, state)
                log_event(
                    events.MAX_REPLACEMENT_ATTEMPTS_REACHED,
                    type=plan.role,
                    pair=plan.pair,
                    order_id=original_id,
                    attempt=f"{state.get('approved', 0)}/{settings.max_replacements_per_signal}",
                )
        disagreement = sorted(DISAGREEMENT_REASONS.intersection(verdict.reasons))
        if disagreement:
            self._lock_pair(plan.pair, ",".join(disagreement))
        self._update_custom_data(plan.trade_id, last_verdict=f"blocked:{verdict.describe()}")
        if settings.notify:
            self.bot.rpc.send_msg({"type": RPCMessageType.WARNING, "status": line})

    def _after_create(
        self, plan: Placement, order: Any, attempt: int | None, replaced: bool
    ) -> None:
        """Record the order sent; `replaced`: it replaced a gone order (ghost or re-price),
        `attempt`: the ghost replacement's number (None for a re-price or a first order)."""
        order_id = str(order.get("id")) if isinstance(order, dict) else None
        status = order.get("status") if isinstance(order, dict) else None
        if order_id:
            self.store.put(
                f"ord:{order_id}",
                {
                    "pair": plan.pair,
                    "role": plan.role,
                    "signal": plan.signal,
                    "placed_at": self.clock(),
                    "not_found": 0,
                },
            )
        if replaced:
            self.store.delete(f"gone:{plan.pair}:{plan.role}")
        if attempt is not None:
            if plan.trade_id is None and order_id:
                self._custom_data_by_order[order_id] = {
                    "attempts": attempt,
                    "last_verdict": "approved",
                }
            log_event(
                events.GHOST_ORDER_REPLACED,
                type=plan.role,
                pair=plan.pair,
                order_id=order_id,
                attempt=f"{attempt}/{self.settings(plan.pair).max_replacements_per_signal}",
            )
        if status in ("expired", "rejected") and not as_amount(order.get("filled")):
            self._record_create_rejected(plan, order_id, f"status={status}")

    def _after_create_error(self, plan: Placement, error: Exception, attempt: int | None) -> None:
        if attempt is not None:
            self.stats["failed"] += 1
            log_event(
                events.REPLACEMENT_FAILED,
                type=plan.role,
                pair=plan.pair,
                attempt=f"{attempt}/{self.settings(plan.pair).max_replacements_per_signal}",
                reason=_error_text(error),
            )
        if is_post_only_rejection(error):
            self._record_create_rejected(plan, None, _error_text(error))

    def _record_create_rejected(self, plan: Placement, order_id: str | None, why: str) -> None:
        self.stats["detected:create_rejected"] += 1
        log_event(
            events.GHOST_ORDER_DETECTED,
            type=plan.role,
            pair=plan.pair,
            order_id=order_id or "-",
            detection="create_rejected",
            reason=why,
        )
        self._record_gone(
            plan.pair, plan.role, order_id, "create_rejected", rejected_at_create=True
        )

    # --- wrapper: fetch_order (detection, circuit breaker) -----------------------------------

    def _wrapped_fetch_order(
        self, order_id: str, pair: str, params: dict | None = None, **kwargs: Any
    ) -> Any:
        record = self.store.get(f"ord:{order_id}")
        if (
            record
            and int(record.get("not_found", 0)) > 0
            and "count" not in kwargs
            and self._takes_count.get("fetch_order")
        ):
            # A suspect costs one request a loop, not Freqtrade's ~35 s of back-off.
            kwargs["count"] = 0
        try:
            order = self._orig["fetch_order"](order_id, pair, params, **kwargs)
        except InvalidOrderException as error:
            if is_not_found(error):
                self._safe(self._on_not_found, order_id, pair)
                if self._starting_up:
                    # Freqtrade's start-up would take this as "cancelled" with the database's
                    # fill; keep the order open and let the circuit breaker verify it instead.
                    raise TemporaryError(
                        f"GhostGuard: order {order_id} ({pair}) not found at start-up; "
                        "kept open for verification"
                    ) from error
            raise
        self._safe(self._on_status_answer, order_id, pair, order)
        if order_id not in self._cancelling:
            order = self._verify_gone_answer(order_id, pair, order)
        return order

    def _on_not_found(self, order_id: str, pair: str) -> None:
        row = self._db_order(order_id)
        if row is None or not row.ft_is_open or row.ft_order_side == "stoploss":
            return
        settings = self.settings(pair)
        key = f"ord:{order_id}"
        record = self.store.get(key) or {"pair": pair, "role": self._role_of_row(row)}
        record["not_found"] = int(record.get("not_found", 0)) + 1
        if record["not_found"] >= settings.circuit_breaker_threshold and not record.get("tripped"):
            record["tripped"] = True
            record["tripped_at"] = self.clock()
            self.stats["breaker_trips"] += 1
            log_event(
                events.CIRCUIT_BREAKER_TRIGGERED,
                type=record["role"],
                pair=pair,
                order_id=order_id,
                reason=f"{record['not_found']} consecutive not-found answers",
            )
        self.store.put(key, record)

    def _on_status_answer(self, order_id: str, pair: str, order: Any) -> None:
        key = f"ord:{order_id}"
        record = self.store.get(key)
        if record and (record.get("not_found") or record.get("tripped")):
            if not record.get("resolved"):
                record["not_found"] = 0  # any successful answer resets the count
                record["tripped"] = False
                self.store.put(key, record)
        if order_id in self._cancelling or not isinstance(order, dict):
            return
        if order.get("status") not in GONE_STATUSES:
            return
        row = self._db_order(order_id)
        if row is None or not row.ft_is_open or row.ft_order_side == "stoploss":
            return
        role = self._role_of_row(row)
        self._detected(row, "rest_status", f"status={order.get('status')}")
        self._record_gone(pair, role, order_id, "rest_status")

    # --- fills: the exchange's trades, never a status answer's `filled` alone -----------------

    def _traded(self, order_id: str, pair: str, since: datetime) -> tuple[float, float | None]:
        """(amount, cost) the exchange's trades record for the order; raises when unreadable."""
        fills = self.exchange.get_trades_for_order(order_id, pair, since)
        if not isinstance(fills, list):
            raise ValueError(f"trades answer={fills!r}")
        amounts = [as_amount(t.get("amount")) if isinstance(t, dict) else None for t in fills]
        if any(a is None for a in amounts):
            raise ValueError("unreadable trade amount")
        costs = [as_amount(t.get("cost")) for t in fills]
        cost = sum(c or 0.0 for c in costs) if all(c is not None for c in costs) else None
        return sum(a or 0.0 for a in amounts), cost

    def _verify_gone_answer(self, order_id: str, pair: str, answer: Any) -> Any:
        """A cancelled/expired/rejected answer for an order the database holds open: its fills
        are read from the exchange's trades before Freqtrade acts on it (a stale "cancelled,
        filled 0" for a filled order would otherwise drop the trade and lose the fill).

        Returns the answer, with `filled` (and `status` closed when fully filled) raised to
        what the trades show. Raises `TemporaryError` when the trades cannot be read: Freqtrade
        then skips the order this loop instead of acting on an unverified cancel.
        """
        if self.dry_run or not isinstance(answer, dict):
            return answer
        row = self._db_order(order_id)
        if row is None or row.ft_order_side == "stoploss":
            return answer
        if not row.ft_is_open:
            return self._no_fill_regression(row, answer)
        if answer.get("status") not in GONE_STATUSES:
            return answer
        try:
            traded, cost = self._traded(order_id, pair, row.order_date_utc)
        except Exception as error:  # noqa: BLE001
            raise TemporaryError(
                f"GhostGuard: fills of order {order_id} ({pair}) unreadable after a "
                f"'{answer.get('status')}' answer ({_error_text(error)}); re-checking next loop"
            ) from error
        self._safe(self._note_verified_fill, order_id, traded)
        reported = as_amount(answer.get("filled"))
        if reported is not None and traded <= reported + AMOUNT_EPS:
            return answer
        amount = as_amount(answer.get("amount")) or row.safe_amount
        corrected = with_verified_fill(answer, traded, amount, traded, cost)
        if corrected["status"] == "closed":
            # It filled: nothing went away, so the next order of this pair is no replacement.
            gone_key = f"gone:{pair}:{self._role_of_row(row)}"
            if (self.store.get(gone_key) or {}).get("order_id") == order_id:
                self.store.delete(gone_key)
        self.stats["fills_corrected"] += 1
        self._safe(
            self._detected,
            row,
            "rest_status",
            f"answer said {answer.get('status')} filled={reported}; trades show {traded:g}",
        )
        logger.warning(
            "GhostGuard: order %s (%s) answered %s with filled=%s, but the exchange's trades "
            "show %s filled: taking the trades",
            order_id,
            pair,
            answer.get("status"),
            reported,
            traded,
        )
        return corrected

    @staticmethod
    def _no_fill_regression(row: Order, answer: dict[str, Any]) -> dict[str, Any]:
        """A later answer for an order the database has closed may be stale (Freqtrade fetches
        closed orders again, e.g. for fees): it never lowers a fill the database already holds."""
        reported = as_amount(answer.get("filled"))
        if reported is not None and reported >= row.safe_filled - AMOUNT_EPS:
            return answer
        logger.warning(
            "GhostGuard: order %s (%s) answered filled=%s, below the %s already booked: "
            "keeping the booked fill",
            row.order_id,
            row.ft_pair,
            reported,
            row.safe_filled,
        )
        corrected = dict(answer)
        corrected["filled"] = row.safe_filled
        corrected["remaining"] = max(row.safe_amount - row.safe_filled, 0.0)
        corrected["status"] = row.status or answer.get("status")
        if row.average:
            corrected["average"] = row.average
            corrected["cost"] = row.average * row.safe_filled
        return corrected

    def _note_verified_fill(self, order_id: str, traded: float) -> None:
        key = f"ord:{order_id}"
        record = self.store.get(key)
        if record is not None:
            record["verified_filled"] = max(traded, float(record.get("verified_filled") or 0))
            self.store.put(key, record)

    # --- wrapper: cancel_order_with_result (no made-up answers) -----------------------------

    def _wrapped_cancel_order_with_result(self, order_id: str, pair: str, amount: float) -> Any:
        self._cancelling.add(order_id)
        try:
            cancel_error: Exception | None = None
            try:
                answer = self.exchange.cancel_order(order_id, pair)
                if self.exchange.is_cancel_order_result_suitable(answer):
                    answer = self._verify_gone_answer(order_id, pair, answer)
                    self._safe(self._after_cancel, order_id, pair, answer, None)
                    return answer
            except InvalidOrderException as error:
                cancel_error = error
                logger.warning("Could not cancel order %s for %s.", order_id, pair)
            try:
                answer = self.exchange.fetch_order(order_id, pair)
            except InvalidOrderException as error:
                self.stats["fabricated_refused"] += 1
                logger.warning(
                    "GhostGuard: cancel of %s (%s) unconfirmed (cancel: %s; fetch: %s); "
                    "refusing Freqtrade's made-up 'canceled' answer, nothing is replaced",
                    order_id,
                    pair,
                    _error_text(cancel_error) if cancel_error else "no usable answer",
                    _error_text(error),
                )
                raise TemporaryError(
                    f"GhostGuard: cancel of order {order_id} ({pair}) not confirmed by the "
                    "exchange; will re-check next loop"
                ) from error
            answer = self._verify_gone_answer(order_id, pair, answer)
            self._safe(self._after_cancel, order_id, pair, answer, cancel_error)
            return answer
        finally:
            self._cancelling.discard(order_id)

    def _after_cancel(
        self, order_id: str, pair: str, answer: Any, cancel_error: Exception | None
    ) -> None:
        if not isinstance(answer, dict) or answer.get("status") not in GONE_STATUSES:
            return
        row = self._db_order(order_id)
        if row is None or row.ft_order_side == "stoploss":
            return
        role = self._role_of_row(row)
        detection = "cancel"
        if cancel_error is not None and is_not_found(cancel_error):
            detection = "replace_response"
            self._detected(row, detection, "cancel answered: already gone")
        self._record_gone(pair, role, order_id, detection)

    # --- shared bookkeeping -------------------------------------------------------------------

    def _record_gone(
        self, pair: str, role: Role, order_id: str | None, detection: str, **extra: Any
    ) -> None:
        value = {"order_id": order_id, "detection": detection, "at": self.clock(), **extra}
        self.store.put(f"gone:{pair}:{role}", value)

    def _detected(self, row: Order, detection: str, reason: str | None = None) -> None:
        """Log GHOST_ORDER_DETECTED once per order, and note it on the trade."""
        key = f"ord:{row.order_id}"
        record = self.store.get(key) or {"pair": row.ft_pair, "role": self._role_of_row(row)}
        if record.get("detected"):
            return
        record["detected"] = detection
        if not self.dry_run and not record.get("watch_until"):
            known = max(row.safe_filled, float(record.get("verified_filled") or 0))
            record.update(self._watch_from_now(row, known))
        self.store.put(key, record)
        self.stats[f"detected:{detection}"] += 1
        log_event(
            events.GHOST_ORDER_DETECTED,
            type=record["role"],
            pair=row.ft_pair,
            order_id=row.order_id,
            detection=detection,
            reason=reason,
        )
        trade = row.trade
        if trade is not None and trade.id is not None:
            seen = list(trade.get_custom_data(CUSTOM_DATA_KEY, {}).get("ghost_orders", []))
            if row.order_id not in seen:
                seen.append(row.order_id)
            self._update_custom_data(trade.id, ghost_orders=seen)

    def _watch_from_now(self, row: Order, verified_filled: float) -> dict[str, Any]:
        """Watchlist fields of an order record: re-check it for `watchlist_minutes`, first
        after WATCH_FIRST_INTERVAL_S, for fills beyond `verified_filled`."""
        now = self.clock()
        return {
            "watch_until": now + self.settings(row.ft_pair).watchlist_minutes * 60.0,
            "next_check": now + WATCH_FIRST_INTERVAL_S,
            "interval": WATCH_FIRST_INTERVAL_S,
            "verified_filled": verified_filled,
            "since": row.order_date_utc.timestamp(),
        }

    def _update_custom_data(self, trade_id: int | None, **values: Any) -> None:
        if trade_id is None:
            return
        trade = Trade.get_trades_proxy(is_open=True)
        match = [t for t in trade if t.id == trade_id]
        if not match:
            return
        current = dict(match[0].get_custom_data(CUSTOM_DATA_KEY, {}) or {})
        current.update(values)
        match[0].set_custom_data(CUSTOM_DATA_KEY, current)

    def _lock_pair(self, pair: str, why: str) -> None:
        reason = f"{LOCK_REASON_PREFIX}: exchange and database disagree ({why})"
        now = datetime.now(UTC)
        if not any(
            lock.reason and lock.reason.startswith(LOCK_REASON_PREFIX)
            for lock in PairLocks.get_pair_locks(pair, now)
        ):
            PairLocks.lock_pair(pair, now + timedelta(days=365), reason=reason, side="*")
            self.stats["locks"] += 1
            logger.warning("GhostGuard locked %s for new entries: %s", pair, reason)
        self.store.put(
            f"lock:{pair}", {"reason": reason, "next_check": self.clock() + LOCK_RECHECK_S}
        )

    def _unlock_pair(self, pair: str) -> None:
        now = datetime.now(UTC)
        for lock in PairLocks.get_pair_locks(pair, now):
            if lock.reason and lock.reason.startswith(LOCK_REASON_PREFIX):
                lock.active = False
        Trade.commit()
        self.store.delete(f"lock:{pair}")
        logger.info("GhostGuard unlocked %s: exchange and database agree again", pair)

    # --- once per bot loop (bot_loop_start) --------------------------------------------------

    def on_loop_start(self) -> None:
        """Resolve suspected-gone orders, re-check the watchlist and locks. No request unless
        one of those is pending."""
        self._starting_up = False
        for order_id, values in list(self._custom_data_by_order.items()):
            row = self._db_order(order_id)
            if row is not None and row.trade is not None:
                self._update_custom_data(row.trade.id, **values)
            self._custom_data_by_order.pop(order_id, None)
        if not (self.store.keys("ord:") or self.store.keys("lock:") or self.store.keys("lost:")):
            return
        with self.bot._exit_lock:
            for key in self.store.keys("lost:"):
                self._safe(self._settle_lost_create, key)
            for key in self.store.keys("ord:"):
                record = self.store.get(key)
                if record is None:
                    continue
                order_id = key[4:]
                if record.get("tripped") and not record.get("resolved"):
                    self._safe(self._resolve_suspect, order_id, record)
                elif record.get("watch_until"):
                    self._safe(self._watch, order_id, record)
            for key in self.store.keys("lock:"):
                self._safe(self._recheck_lock, key[5:])
            if self.clock() >= self._next_prune:
                self._next_prune = self.clock() + PRUNE_EVERY_S
                self._safe(self._prune)
            Trade.commit()

    def _prune(self) -> None:
        """Forget orders whose trade is closed (or gone) and that nothing watches any more."""
        for key in self.store.keys("ord:"):
            record = self.store.get(key) or {}
            if record.get("watch_until") or (record.get("tripped") and not record.get("resolved")):
                continue
            row = self._db_order(key[4:])
            if row is None or (not row.ft_is_open and not (row.trade and row.trade.is_open)):
                self.store.delete(key)
        for key in self.store.keys("cid:"):
            record = self.store.get(key) or {}
            if self.clock() - float(record.get("at", 0.0)) > CLIENT_ID_KEEP_S:
                self.store.delete(key)

    def _settle_lost_create(self, key: str) -> None:
        """A create with no answer that no later placement has claimed (after a crash, or the
        signal went away): after LOST_CREATE_GRACE_S, find it by client order id and make sure
        no unknown order stays working and no fill stays unknown."""
        record = self.store.get(key)
        if record is None or self.clock() - float(record.get("at", 0.0)) < LOST_CREATE_GRACE_S:
            return
        pair, role = key[len("lost:") :].rsplit(":", 1)  # pairs contain ':' (BTC/USDT:USDT)
        client_id = str(record.get("client_id"))
        try:
            found = self._lookup_lost(pair, client_id)
        except Exception as error:  # noqa: BLE001 - the exchange cannot tell: ask again later
            logger.warning("GhostGuard: lost create %s not resolved: %s", client_id, error)
            return
        self.store.delete(key)
        # Whatever happened to it, the next placement for this pair and role is checked.
        self._record_gone(
            pair,
            role,
            None,
            "lost_create",
            rejected_at_create=True,
            client_id=client_id,  # type: ignore[arg-type]
        )
        if found is None:
            return
        if record.get("digest"):
            self._advance_client_id(None, str(record["digest"]))
        if found.get("status") == "open":
            self.exchange.cancel_order(str(found.get("id")), pair)
            log_event(
                events.DUPLICATE_CANCELLED,
                type=role,
                pair=pair,
                order_id=found.get("id"),
                reason=f"unclaimed order {client_id} from a create whose answer was lost",
            )
        filled = as_amount(found.get("filled")) or 0.0
        if filled > AMOUNT_EPS:
            self.stats["late_fills"] += 1
            log_event(
                events.GHOST_LATE_FILL,
                type=role,
                pair=pair,
                order_id=found.get("id"),
                reason=f"filled={filled:g} of a create whose answer was lost ({client_id})",
            )
            self._lock_pair(pair, f"fill of unclaimed order {found.get('id')}: {filled:g}")

    def _resolve_suspect(self, order_id: str, record: dict[str, Any]) -> None:
        """A tripped breaker: cancel by id, look up the fills, resolve in Freqtrade's model."""
        row = self._db_order(order_id)
        pair = record["pair"]
        if row is None or not row.ft_is_open:
            record["resolved"] = True
            self.store.put(f"ord:{order_id}", record)
            return
        cancel_filled = 0.0
        try:
            answer = self.exchange.cancel_order(order_id, pair, **self._once("cancel_order"))
            if isinstance(answer, dict):
                cancel_filled = as_amount(answer.get("filled")) or 0.0
            how = "cancel succeeded: the order was live"
        except Exception as error:  # noqa: BLE001
            if not is_not_found(error):
                logger.warning(
                    "GhostGuard: cancel of suspect %s failed (%s); retrying next loop",
                    order_id,
                    _error_text(error),
                )
                return
            how = "cancel: exchange does not know it either"
        try:
            traded, cost = self._traded(order_id, pair, row.order_date_utc)
        except Exception as error:  # noqa: BLE001
            logger.warning(
                "GhostGuard: fills of suspect %s not readable (%s); retrying next loop",
                order_id,
                _error_text(error),
            )
            return
        filled = max(traded, cancel_filled)
        ccxt_order = with_verified_fill(
            {**row.to_ccxt_object(), "status": "canceled"}, filled, row.safe_amount, traded, cost
        )
        record.update(resolved=True, **self._watch_from_now(row, filled))
        self.store.put(f"ord:{order_id}", record)
        self._detected(row, "circuit_breaker", f"{how}; verified filled={filled:g}")
        role = self._role_of_row(row)
        self._record_gone(
            pair, role, order_id, "circuit_breaker", breaker_tripped=True, verified_filled=filled
        )
        trade = row.trade
        if ccxt_order["status"] == "closed":
            self.bot.update_trade_state(trade, order_id, ccxt_order)
        else:
            self.bot.handle_cancel_order(ccxt_order, row, trade, "ghost order (GhostGuard)")
        Trade.commit()

    def _watch(self, order_id: str, record: dict[str, Any]) -> None:
        """Re-check a suspected-gone original at growing intervals for a late fill."""
        now = self.clock()
        key = f"ord:{order_id}"
        if now > float(record["watch_until"]):
            record.pop("watch_until", None)
            self.store.put(key, record)
            return
        if now < float(record.get("next_check", 0.0)):
            return
        pair = record["pair"]
        interval = min(
            float(record.get("interval", WATCH_FIRST_INTERVAL_S)) * 2, WATCH_MAX_INTERVAL_S
        )
        record["next_check"] = now + interval
        record["interval"] = interval
        try:
            answer = self._orig["fetch_order"](order_id, pair, **self._once("fetch_order"))
        except Exception:  # noqa: BLE001 - not found (or unreachable): the trades still tell
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        filled = as_amount(answer.get("filled")) or 0.0
        if record.get("since") is not None:
            try:
                since = datetime.fromtimestamp(float(record["since"]), UTC)
                filled = max(filled, self._traded(order_id, pair, since)[0])
            except Exception:  # noqa: BLE001 - unreadable now: look again at the next check
                pass
        known = float(record.get("verified_filled") or 0.0)
        if answer.get("status") == "open":
            self._safe(self.exchange.cancel_order, order_id, pair)
            log_event(
                events.DUPLICATE_CANCELLED,
                type=record.get("role"),
                pair=pair,
                order_id=order_id,
                reason="suspected-gone order turned up open",
            )
        if filled > known + AMOUNT_EPS:
            self.stats["late_fills"] += 1
            log_event(
                events.GHOST_LATE_FILL,
                type=record.get("role"),
                pair=pair,
                order_id=order_id,
                reason=f"filled={filled:g} known={known:g}",
            )
            self._lock_pair(pair, f"late fill of {order_id}: {filled:g}")
            record["verified_filled"] = filled
        self.store.put(key, record)

    def _recheck_lock(self, pair: str) -> None:
        record = self.store.get(f"lock:{pair}")
        if record is None or self.clock() < float(record.get("next_check", 0.0)):
            return
        record["next_check"] = self.clock() + LOCK_RECHECK_S
        self.store.put(f"lock:{pair}", record)
        trade = self._open_trade(pair)
        position = self._fact_position(pair, 1)
        if position.error is not None or not position.readings:
            return
        reading = position.readings[0]
        if reading is not None and abs(reading - signed_db_position(trade)) <= AMOUNT_EPS:
            self._unlock_pair(pair)

    # --- in-loop veto before a re-price cancels anything ---------------------------------

    def reprice_veto(self, pair: str, open_order_ids: list[str]) -> str | None:
        """Before Freqtrade cancels an order to re-price it (no network): an order the exchange
        has answered "not found" for is not cancelled for a re-price (the cancel could not be
        confirmed; the circuit breaker resolves it instead). A re-price is never rationed:
        checks 5 and 6 do not apply to it.

        Returns the reason to keep the current order, or None to let the re-price proceed.
        """
        if not self.settings(pair).enabled:
            return None
        for order_id in open_order_ids:
            record = self.store.get(f"ord:{order_id}") or {}
            if record.get("not_found"):
                return "original_order_unknown_status"
        return None
