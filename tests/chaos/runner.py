"""Run one schedule against a real FreqtradeBot on a fresh SimExchange and check invariants.

Invariants (``INVARIANTS``):
  a  no double position, no wrong direction: after every fill, the SIGNED exchange position is
     one the bot intended. Long: the bot sent a BUY entry before, and the position stays within
     the largest BUY entry times the number of entries the strategy allows (1, or 2 once DCA
     was switched on: `max_entry_position_adjustment = 1`); short likewise with SELL entries.
     Read from the sim ledger's position history (every fill), so a peak between two checks
     is seen too. (Before: |position| against the largest entry of either side, which let a
     position in the wrong direction pass.)
  b  no orphan: once the schedule has settled (faults cleared, clean loops with the sim clock
     moving on), every open order on the exchange is an Order row with ft_is_open.
  c  no lost fill: after settling, every order with fills on the exchange is an Order row with
     the same filled amount, and the exchange position equals the signed amount of the bot's
     rows. A guard lock excuses nothing (it did until the reconciliation work): a position no
     trade holds is one no stop-loss watches.
  d  the bot loop never raises what the worker would not catch (TemporaryError and
     OperationalException are caught, like freqtrade/worker.py).
  e  the guard never holds back a forced exit: by the end of the loop after a forced exit of a
     trade, a reduce-only order was sent (the exchange may still refuse it), or the trade is
     closed, or nothing is left to reduce, or the guard did not stand in the way (no exit
     block and no refused cancel of its own in that window: Freqtrade alone may also fail to
     exit, e.g. when it will not cancel a partly filled entry).
  f  no loop sleeps in Freqtrade's retry back-off for an order the guard tracks (guard on): the
     retrier's "fetch_order() returned exception ... Retrying still" after a not-found answer,
     a back-off sleep inside one of the guard's own trade reads (`Venue.traded`: in front of
     a stop-loss it would wait up to 18 s), or a `TemporaryError` of the guard's leaving
     `process()` (the worker sleeps its 30 s RETRY_TIMEOUT, and that loop's exits never ran).
  g  no line the guard logs carries a signature, the API key or the secret.
  h  requests stay bounded while a decision cannot change (guard on): a loop whose only blocks
     are network-free ones (attempt limit, cooldown, auto-replace off, signal or database
     state) sends no check request from the guard's worker threads.
  i  the cooldown holds on the exchange's clock (guard on): two ghost replacements of one pair
     and role were stamped by the exchange at least `replacement_cooldown_s` apart, however
     long each create took to get there (fault slow_create).
  j  no booked fill is lost: an Order row's `filled` never falls, nor does the row go, while
     the exchange still shows at least that much filled (a stale "cancelled, filled 0" taken
     over a fill the database held drops the trade and leaves a position with no stop-loss).
  k  no stop-loss later than Freqtrade alone (guard on): from the loop in which the price has
     carried an exchange position through its stop-loss, an order reducing it reaches the
     exchange no later than in the guard-off twin of the same schedule, in a real bot's
     seconds (5 s a loop, or the loop's retry back-off when longer: ``tests.chaos.exits``; the
     twin runs only when the guard-on stop was not immediate).
  l  no guard lock outlives its bound: every pair lock whose reason starts "GhostGuard" lasts
     at most `lock_hours` (default 4 h).
  m  the bot never touches another bot's order (cancels it, or holds it in its database).
  n  a pair keeps trading after a ghost (guard on): check 1 never blocks the next order of a
     pair and role as the replacement of a gone order whose whole fill a closed trade of the
     bot's database holds (before: filled or partial blocked every such order for the
     30-minute watch window, and the block started a reconciliation).
  o  no reconciliation holds a pair's entries without end (guard on): a pair the guard is
     reconciling (its entries held back, no lock set) is resolved or locked within
     `RECONCILE_ATTEMPTS` + 2 consecutive loops (the counted attempts, a booking's verifying
     loop, and the loop that locks). Counted per disagreement (the guard's record, whose
     presence is what holds the entries; a new one has a new `since`), not from its attempts
     counter, over loops whose guard work ran (Freqtrade's own read failing early in
     `process()`, before `bot_loop_start`, stops the whole loop, guard on or off). (A block of
     check 1 that repeats every loop starts a new, short disagreement
     each time: that block is check 1's, bounded by the watch window.) Before: reads that
     failed (a trade list down for the rest of a schedule) held the pair for as long as they
     failed, with no lock and no message.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freqtrade.exceptions import OperationalException, TemporaryError
from freqtrade.persistence import Trade

import ghostguard.venue as ghostguard_venue
import tests.harness as harness
from ghostsim import SimExchange, install, uninstall
from tests.chaos.events import EventsMixin, SimulatedCrash, _signal
from tests.chaos.exits import ExitsMixin, late_stops
from tests.chaos.invariants import InvariantsMixin
from tests.chaos.roundtwo import RoundTwoMixin
from tests.chaos.schedule import ROUND_TWO_FLAGS, Schedule
from tests.harness import close_bot, make_bot
from tests.strategies.ScriptedMakerStrategy import CHAOS_STAKE, SCRIPT, SCRIPT_DEFAULTS
from tests.strategies.ScriptedMakerStrategy import _Scripted as _ScriptedBase


ORDER_TYPES = dict(_ScriptedBase.order_types)


PAIR = "BTC/USDT:USDT"
SECOND_PAIR = "ETH/USDT:USDT"  # trades at the same time in schedules with `second_pair`
STRATEGY = "ChaosMakerStrategy"
# venue -> (pair, second pair, strategy): spot pairs have no settle currency, spot is long only
VENUE_SETUP: dict[str, tuple[str, str, str]] = {
    "binance": (PAIR, SECOND_PAIR, STRATEGY),
    "binance-spot": ("BTC/USDT", "ETH/USDT", "ChaosSpotStrategy"),
    "bybit": (PAIR, SECOND_PAIR, STRATEGY),
    "okx": (PAIR, SECOND_PAIR, STRATEGY),
}
STAKE = CHAOS_STAKE  # ~0.02 BTC per entry: partial fills of 0.001 exist (DCA adds the same)
# Back-off sleeps (seconds) Freqtrade's retrier slept inside the guard's own trade reads
# (observed, not changed: the read runs as it would).
GUARD_READ_SLEEPS: list[float] = []
_traded = ghostguard_venue.Venue.traded


def _observed_traded(self: Any, *args: Any, **kwargs: Any) -> Any:
    before = len(harness.SLEEPS)
    try:
        return _traded(self, *args, **kwargs)
    finally:
        GUARD_READ_SLEEPS.extend(harness.SLEEPS[before:])


ghostguard_venue.Venue.traded = _observed_traded  # type: ignore[method-assign]

SETTLE_LOOPS = 8
SETTLE_ADVANCE_S = 45.0  # 8 x 45 s: past the watchlist's 300 s interval and the 60 s lock re-check

INVARIANTS: dict[str, str] = {
    "a": "double position or wrong direction (signed position not intended)",
    "b": "orphan order (open on exchange, unknown to the database)",
    "c": "lost fill (exchange fill not in the database, pair not locked)",
    "d": "bot loop raised (worker would not catch it)",
    "e": "the guard held back a forced exit",
    "f": "retry back-off slept for a tracked order",
    "g": "a guard log line carries a signature or key",
    "h": "check requests while only network-free blocks repeat",
    "i": "ghost replacements reached the exchange less than the cooldown apart",
    "j": "a fill the database booked was lost (row lowered, exchange fill unchanged)",
    "k": "a stop-loss reached the exchange later than with the guard off",
    "l": "a guard lock outlives its bound (lock_hours)",
    "m": "the bot touched another bot's order (cancelled it, or its database holds it)",
    "n": "a pair stopped: check 1 blocked after a ghost whose fill a closed trade holds",
    "o": "a reconciliation held a pair's entries past its bound without a lock",
}
GUARD_ON: dict[str, Any] = {}
GUARD_OFF: dict[str, Any] = {"enabled": False}



class _SimTime:
    """``time`` for ghostguard.venue in a campaign run: sleep moves the sim clock instead."""

    def __init__(self, sim: SimExchange) -> None:
        self._sim = sim

    def sleep(self, seconds: float) -> None:
        self._sim.advance(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@dataclass
class Result:
    seed: int
    guard: bool
    venue: str = "binance"
    violations: dict[str, list[str]] = field(default_factory=dict)
    first_step: dict[str, int] = field(default_factory=dict)  # invariant -> step it first failed
    applied: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    loops: int = 0
    seconds: float = 0.0
    weight: int = 0  # the request weight the run used, in the venue's own unit (ghostsim)
    # invariant (k): "pair@step" -> (seconds until an exit reached the exchange, None never;
    # what of the guard's stood in the way meanwhile)
    stops: dict[str, tuple[float | None, str | None]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(self.violations.values())

    def failed_invariants(self) -> list[str]:
        return sorted(k for k, v in self.violations.items() if v)


class _Capture(logging.Handler):
    """Keeps the log records of one schedule (formatted only when a failure is printed)."""

    def __init__(self, sink: list[Any]) -> None:
        super().__init__(level=logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


class _Run(EventsMixin, RoundTwoMixin, InvariantsMixin, ExitsMixin):
    """State of one schedule run."""

    def __init__(self, schedule: Schedule, guard: bool, keep_log: bool) -> None:
        self.schedule = schedule
        self.guard = guard
        self.keep_log = keep_log
        self.result = Result(schedule.seed, guard, schedule.venue)
        self.records: list[Any] = []
        self.notes: list[tuple[int, str]] = []  # (index into records, runner note)
        pair, second, self.strategy = VENUE_SETUP[schedule.venue]
        self.spot = schedule.venue == "binance-spot"
        self.pair = pair  # the pair the faults target
        self.pairs: tuple[str, ...] = (pair, second) if schedule.second_pair else (pair,)
        self.sim = SimExchange(
            symbols=self.pairs, seed=schedule.seed % 100_000, venue=schedule.venue,
            venue_ids=schedule.venue_ids,
        )
        if schedule.rate_limits:
            self.sim.enforce_rate_limits(True, share=schedule.rate_limits)
        for flag in ROUND_TWO_FLAGS:
            shaped = flag != "venue_ids" or schedule.venue in ("bybit", "okx")
            if getattr(schedule, flag) and shaped:
                self.result.applied[flag] += 1
        self.spec = self.sim.spec(pair)
        if schedule.venue != "binance":
            self.result.applied[f"venue_{schedule.venue}"] += 1
        self.workdir: Path | None = None
        self.bot: Any = None
        self.step = -1
        self.dca_ever = False
        self.reprice = False
        self.ledger_seen = 0
        self.reconcile_phase: dict[str, str] = {}  # pair -> its reconciliation's last line (n)
        # pair -> (the disagreement's `since`, consecutive loops it held entries, no lock) (o)
        self.held_loops: dict[str, tuple[float | None, int]] = {}
        self.guard_ran = False  # the guard's loop work (`on_loop_start`) ran since the last (o)
        self.other_count = 0  # orders the other bot placed (eighth stream)
        self.other_seen: dict[str, float] = {}  # symbol id -> the other bot's net fills so far
        self.m_seen: set[str] = set()  # the other bot's orders already reported (m)
        self.booked: dict[str, float] = {}  # exchange order id -> the most the database booked
        self.max_entry_qty = 0.0
        self.guard_thread_requests = 0
        self.hidden_trades: set[int] = set()  # orders whose fills userTrades does not list
        # Lost creates every read misses for a while (event retried_create): order id -> client id
        self.unindexed: dict[int, str] = {}
        self.hide_next_lost = False
        self.sim.listeners.append(self._on_ledger)
        # (step, requests seen before, trade id) of the last forced exit
        self.force_exit_due: tuple[int, int, tuple[int, Any], int] | None = None
        self.triggers: list[dict[str, Any]] = []
        self.later: list[tuple[int, str]] = []  # (step, action) to undo a fault later
        self.rapid_until = -1  # rapid cancellations before each loop until this step
        self.handler = _Capture(self.records)
        self._init_exits()
        real_handle = self.sim.handle

        def handle(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name.startswith("ghostguard"):
                self.guard_thread_requests += 1
            for trig in self.triggers:
                if trig["fired"] or trig["method"] != method or trig["path"] != path:
                    continue
                trig["seen"] += 1
                if trig["seen"] == trig["nth"]:
                    trig["fired"] = True
                    self._race_fill(trig)
            status, body = real_handle(method, path, *args, **kwargs)
            if isinstance(body, dict) and body.get("code") == -4116:
                self.result.applied["answered_-4116"] += 1  # a retried create met its twin
            if self.hidden_trades and path == "/fapi/v1/userTrades" and isinstance(body, list):
                body = [t for t in body if int(t.get("orderId", 0)) not in self.hidden_trades]
            if self.unindexed:
                status, body = self._unindexed_answer(method, path, args, status, body)
            self.exits_request_hook(method, path)
            return status, body

        self.sim.handle = handle  # type: ignore[method-assign]

    # ------------------------------------------------------------------ helpers

    def note(self, text: str) -> None:
        self.notes.append((len(self.records), f"[chaos step {self.step}] {text}"))

    def violation(self, inv: str, text: str) -> None:
        self.result.violations.setdefault(inv, []).append(f"step {self.step}: {text}")
        self.result.first_step.setdefault(inv, self.step)
        self.note(f"VIOLATION {inv}: {text}")

    def eid(self, order_id: Any) -> str:
        """The engine's id (as ``sim.orders`` carry it) of an order id the bot holds (the
        venue's UUID or ordId with ``venue_ids``)."""
        if not self.sim.venue_ids or order_id is None:
            return str(order_id)
        try:
            return str(self.sim.engine_order_id(str(order_id)))
        except (TypeError, ValueError):
            return str(order_id)

    def _guard_obj(self) -> Any:
        return getattr(getattr(self.bot, "strategy", None), "ghost_guard", None)

    def _after_build(self) -> None:
        root = logging.getLogger()
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(self.handler)
        root.setLevel(logging.INFO)
        for name in ("ccxt", "urllib3", "asyncio", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        guard = self._guard_obj()
        if guard is not None:
            sim = self.sim
            guard.clock = lambda: sim.now_ms / 1000.0  # the guard lives on the sim's clock
            # Observed, not changed: (o) counts only loops whose guard work ran (a loop that
            # Freqtrade's own read aborts before `bot_loop_start` holds nothing of the guard's).
            run_loop_work = guard.on_loop_start

            def on_loop_start() -> None:
                self.guard_ran = True
                run_loop_work()

            guard.on_loop_start = on_loop_start
            # position_check "double" waits 0.5 s between its readings: on the sim's clock.
            ghostguard_venue.time = _SimTime(sim)  # type: ignore[attr-defined]

    def _build(self) -> None:
        db_url = "sqlite://"
        if self.schedule.needs_file_db:
            self.workdir = Path(tempfile.mkdtemp(prefix="ghostguard-chaos-"))
            db_url = f"sqlite:///{self.workdir / 'chaos.sqlite'}"
        self.db_url = db_url
        guard_config = dict(GUARD_ON if self.guard else GUARD_OFF)
        if self.guard:
            guard_config["position_check"] = self.schedule.position_check
            if self.schedule.position_check == "double":
                self.result.applied["position_check_double"] += 1
        self.config = {
            "ghost_guard": guard_config,
            "exchange": {"pair_whitelist": list(self.pairs)},
            "max_open_trades": len(self.pairs),
            "stake_amount": STAKE,
        }
        if self.schedule.stoploss is not None:
            self.config["stoploss"] = self.schedule.stoploss
        if self.schedule.stoploss_on_exchange:
            self.config["order_types"] = {**ORDER_TYPES, "stoploss_on_exchange": True}
            self.result.applied["stoploss_on_exchange"] += 1
        if self.schedule.dry_run:
            self.result.applied["dry_run"] += 1
        if self.schedule.second_pair:
            self.result.applied["second_pair"] += 1
        self.bot = make_bot(
            self.sim,
            strategy=self.strategy,
            extra_config=self.config,
            db_url=db_url,
            dry_run=self.schedule.dry_run,
        )
        self._after_build()
        self.bot.startup()

    def _restart(self, crashed: bool) -> None:
        if crashed:
            try:  # a dead process commits nothing: drop what the interrupted loop had pending
                Trade.session.rollback()
            except Exception:  # noqa: BLE001
                pass
        self.result.applied["restart"] += 0 if crashed else 1
        self.note("restart" + (" after crash" if crashed else ""))
        old, self.bot = self.bot, None
        install(self.sim)  # keep the routing alive between the two bots
        try:
            close_bot(old)
            # A supervisor (systemd, docker) restarts a bot whose start-up failed; Freqtrade's
            # start-up needs the exchange (markets, positions): retry while faults last.
            # (30 attempts, 5 s apart or after an IP ban in force: past any ban a schedule
            # draws, the enforced budget's included.)
            for attempt in range(1, 31):
                try:
                    self.bot = make_bot(
                        self.sim,
                        strategy=self.strategy,
                        extra_config=self.config,
                        db_url=self.db_url,
                        dry_run=self.schedule.dry_run,
                    )
                    break
                except Exception as error:  # noqa: BLE001
                    self.note(f"start-up attempt {attempt} failed: {error!r}")
                    # A supervisor keeps restarting (docker's `restart: unless-stopped` never
                    # gives up): the first start after an IP ban ends is the one that works.
                    self.sim.advance(max(5.0, self._ban_left_s() + 1.0))
            else:
                raise RuntimeError("bot did not start after 30 attempts")
        finally:
            uninstall(self.sim)
        self._after_build()
        try:
            self.bot.startup()
        except (TemporaryError, OperationalException) as error:
            self.note(f"startup raised (caught by worker): {error!r}")
        except Exception as error:  # noqa: BLE001
            self.violation("d", f"startup raised {error!r}")


    # ------------------------------------------------------------------ loop and invariants

    def loop(self) -> None:
        self.result.loops += 1
        records_before = len(self.records)
        guard = self._guard_obj()
        stats_before = dict(guard.stats) if guard is not None else {}
        requests_before = self.guard_thread_requests
        sim_requests_before = len(self.sim.requests)
        sleeps_before = len(harness.SLEEPS)
        read_sleeps_before = len(GUARD_READ_SLEEPS)
        stop_due = self.stop_before_loop()
        caught: list[Exception] = []
        try:
            caught = harness.run_loop(self.bot, 1)
            if self.guard:
                self.check_no_worker_retry(caught)
        except SimulatedCrash:
            self.note("SimulatedCrash raised between approved and sent")
            self._restart(crashed=True)
        except Exception as error:  # noqa: BLE001 - invariant d
            tb = traceback.format_exception(type(error), error, error.__traceback__)
            self.violation("d", f"process() raised {error!r}\n" + "".join(tb[-6:]))
        slept = sum(harness.SLEEPS[sleeps_before:])
        after = self._guard_obj()
        exits_blocked = 0
        if after is not None and after is guard:
            exits_blocked = after.stats["blocked_exit"] - stats_before.get("blocked_exit", 0)
        self.stop_after_loop(
            slept, stop_due, sim_requests_before, self.records[records_before:], caught,
            exits_blocked,
        )
        self.check_position()
        self.check_booked_fills()
        self.check_other_bot()
        self.check_forced_exit()
        if self.guard:
            self.check_no_back_off(records_before)
            self.check_no_stale_block(records_before)
            self.check_hold_bounded()
            if len(GUARD_READ_SLEEPS) > read_sleeps_before:
                self.violation("f", "the guard's trade read slept in Freqtrade's retry back-off "
                               f"{sum(GUARD_READ_SLEEPS[read_sleeps_before:]):g} s")
            if guard is not None and guard is self._guard_obj():
                self.check_requests_bounded(stats_before, dict(guard.stats), requests_before)

    def _ban_left_s(self) -> float:
        """Seconds an IP ban of the venue (rate limits enforced) still lasts."""
        rate = getattr(self.sim, "rate", None)
        if rate is None or not rate.enforced:
            return 0.0
        return max(0.0, (rate.banned_until - self.sim.now_ms) / 1000.0)

    def _lift_budget_faults(self) -> None:
        """Settle clears the budget faults too: the other bots' load ends (this client gets the
        whole documented budget again, still enforced) and an IP ban in force is waited out,
        as the venue lifts it. The invariants then judge the bot's recovery, not a ban that
        outlasts the schedule (a 10-minute Bybit ban is longer than the settle loops)."""
        if not self.schedule.rate_limits:
            return
        self.sim.enforce_rate_limits(True, share=1.0)
        left = self._ban_left_s()
        if left > 0:
            self.result.applied["ban_waited_out"] += 1
            self.note(f"settle: waiting out an IP ban ({left:.0f} s left)")
            self.sim.advance(left + 1.0)

    def settle(self) -> None:
        self.step = self.schedule.steps
        self.note("settle: faults cleared, re-pricing off")
        self.sim.clear_faults()
        self._lift_budget_faults()
        self.fail_after_cancel = False
        if self.guard:
            self._store_triggers(False)
        self.triggers.clear()
        self.later = [(self.step, a) for _, a in self.later]
        self._undo_later()
        self.reprice = False
        SCRIPT["reprice"] = False
        guard = self._guard_obj()
        if guard is not None and hasattr(guard, "before_send"):
            guard.before_send = None
        for _ in range(SETTLE_LOOPS):
            self.loop()
            self.sim.advance(SETTLE_ADVANCE_S)
        self.check_end()

    def run(self) -> Result:
        started = time.perf_counter()
        script = SCRIPT
        script.clear()
        script.update(SCRIPT_DEFAULTS)
        _signal(script, self.schedule.start_signal)
        harness.SLEEPS.clear()
        if self.schedule.clock_in_sleeps:  # a real bot's sleeps take time: the venue moves on
            harness.ON_SLEEP.append(self.sim.advance)
        by_step: dict[int, list[dict[str, Any]]] = {}
        for event in self.schedule.events:
            by_step.setdefault(int(event["step"]), []).append(event)
        try:
            self.step = 0
            self._build()
            for step in range(self.schedule.steps):
                self.step = step
                for event in by_step.get(step, []):
                    self.apply(event)
                if self.reprice:
                    self._reprice_tick()
                rapid = step < self.rapid_until
                if rapid:
                    self._rapid_tick()
                self.loop()
                self.triggers.clear()  # a race is armed for one step only
                self.sim.advance(
                    self.RAPID_ADVANCE_S if rapid else self.schedule.advance_after(step)
                )
                self._undo_later()
            self.settle()
            self.check_logs()
            self.result.stops = self.stop_latencies()
            if self.guard:
                self.check_cooldown_on_exchange()
        except Exception as error:  # noqa: BLE001 - a runner crash is reported, not hidden
            tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self.violation("d", f"runner error (not necessarily the bot): {error!r}\n{tb}")
        finally:
            harness.ON_SLEEP.clear()
            self.result.seconds = time.perf_counter() - started
            self.result.weight = self.sim.weight_used()
            refused = sum(self.sim.rate_usage().get("refused", {}).values())
            if refused:
                self.result.applied["answered_rate_limit"] += refused
            bans = getattr(getattr(self.sim, "rate", None), "bans", 0)
            if bans:
                self.result.applied["ip_bans"] += bans
            if self.keep_log or self.result.failed:
                self.result.log = self.render_log()
            try:
                if self.bot is not None:
                    close_bot(self.bot)
            finally:
                logging.getLogger().removeHandler(self.handler)
                if self.workdir is not None:
                    shutil.rmtree(self.workdir, ignore_errors=True)
                script.clear()
                script.update(SCRIPT_DEFAULTS)
        return self.result

    def render_log(self) -> list[str]:
        notes = iter(self.notes)
        pending = next(notes, None)
        lines: list[str] = []
        for i, record in enumerate(self.records):
            while pending is not None and pending[0] <= i:
                lines.append(pending[1])
                pending = next(notes, None)
            if record.levelno >= logging.WARNING or record.name.startswith(
                ("ghostguard", "freqtrade.freqtradebot")
            ):
                try:
                    msg = record.getMessage()
                except Exception:  # noqa: BLE001
                    msg = str(record.msg)
                lines.append(f"{record.levelname[:4]} {record.name}: {msg}"[:400])
        while pending is not None:
            lines.append(pending[1])
            pending = next(notes, None)
        ledger = [
            f"ledger {e['event']} "
            + " ".join(f"{k}={v}" for k, v in e.items() if k not in ("event", "symbol", "time"))
            for e in self.sim.ledger
            if e["event"] != "price"
        ]
        return lines + ["--- sim ledger (orders/fills) ---"] + ledger


def run_schedule(schedule: Schedule, guard: bool, keep_log: bool = False) -> Result:
    result = _Run(schedule, guard, keep_log).run()
    if guard and any(latency != 0 for latency, _ in result.stops.values()):
        # Invariant (k): a stop-loss that did not go out at once is compared with the guard-off
        # twin of the same schedule (run only then).
        twin = _Run(schedule, False, False).run()
        for text in late_stops(result.stops, twin.stops):
            result.violations.setdefault("k", []).append(text)
            result.first_step.setdefault("k", int(text.split("@", 1)[1].split(":", 1)[0]))
        if result.violations.get("k") and not result.log:
            result.log = _Run(schedule, guard, True).run().log  # the same run, with its log
    return result


__all__ = ["INVARIANTS", "PAIR", "SECOND_PAIR", "Result", "SimulatedCrash", "run_schedule"]
