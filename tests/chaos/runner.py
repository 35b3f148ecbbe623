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
     open trade -- unless the pair is locked with a reason starting "GhostGuard".
  d  the bot loop never raises what the worker would not catch (TemporaryError and
     OperationalException are caught, like freqtrade/worker.py).
  e  the guard never holds back a forced exit: by the end of the loop after a forced exit of a
     trade, a reduce-only order was sent (the exchange may still refuse it), or the trade is
     closed, or nothing is left to reduce, or the guard did not stand in the way (no exit
     block and no refused cancel of its own in that window: Freqtrade alone may also fail to
     exit, e.g. when it will not cancel a partly filled entry).
  f  no loop sleeps in Freqtrade's retry back-off for an order the guard tracks (guard on): the
     retrier's "fetch_order() returned exception ... Retrying still" after a not-found answer.
  g  no line the guard logs carries a signature, the API key or the secret.
  h  requests stay bounded while a decision cannot change (guard on): a loop whose only blocks
     are network-free ones (attempt limit, cooldown, auto-replace off, signal or database
     state) sends no check request from the guard's worker threads.
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
from freqtrade.persistence import Order, PairLocks, Trade

import ghostguard.venue as ghostguard_venue
import tests.harness as harness
from ghostsim import SimExchange, install, uninstall
from tests.chaos.schedule import Schedule
from tests.harness import close_bot, make_bot
from tests.strategies.ScriptedMakerStrategy import CHAOS_STAKE, SCRIPT, SCRIPT_DEFAULTS
from tests.strategies.ScriptedMakerStrategy import _Scripted as _ScriptedBase


ORDER_TYPES = dict(_ScriptedBase.order_types)


PAIR = "BTC/USDT:USDT"
STRATEGY = "ChaosMakerStrategy"
EPS = 1e-9
STAKE = CHAOS_STAKE  # ~0.02 BTC per entry: partial fills of 0.001 exist (DCA adds the same)
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
}
# Blocks that need no network to decide (and cannot change until a fact does).
OFFLINE_REASONS = frozenset(
    {
        "signal_no_longer_active",
        "bot_state_has_position",
        "bot_state_no_position",
        "max_replacement_attempts",
        "cooldown_active",
        "auto_replace_disabled",
    }
)

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


class SimulatedCrash(BaseException):
    """The process dies (like KeyboardInterrupt / SIGKILL): nothing in Freqtrade catches it."""


@dataclass
class Result:
    seed: int
    guard: bool
    violations: dict[str, list[str]] = field(default_factory=dict)
    first_step: dict[str, int] = field(default_factory=dict)  # invariant -> step it first failed
    applied: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    loops: int = 0
    seconds: float = 0.0
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


def _message(record: logging.LogRecord) -> str:
    """A record's text; "" when its arguments cannot be rendered any more (a Trade object
    detached from its session after a restart)."""
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001
        return ""


def _signal(script: dict[str, Any], to: str) -> None:
    script.update(enter_long=0, enter_short=0, exit_long=0, exit_short=0)
    if to == "long":
        script["enter_long"] = 1
    elif to == "short":
        script["enter_short"] = 1
    elif to == "exit":
        script.update(exit_long=1, exit_short=1)


class _Run:
    """State of one schedule run."""

    def __init__(self, schedule: Schedule, guard: bool, keep_log: bool) -> None:
        self.schedule = schedule
        self.guard = guard
        self.keep_log = keep_log
        self.result = Result(schedule.seed, guard)
        self.records: list[Any] = []
        self.notes: list[tuple[int, str]] = []  # (index into records, runner note)
        self.sim = SimExchange(symbols=(PAIR,), seed=schedule.seed % 100_000)
        self.spec = self.sim.spec(PAIR)
        self.workdir: Path | None = None
        self.bot: Any = None
        self.step = -1
        self.dca_ever = False
        self.reprice = False
        self.ledger_seen = 0
        self.max_entry_qty = 0.0
        self.guard_thread_requests = 0
        self.hidden_trades: set[int] = set()  # orders whose fills userTrades does not list
        # (step, requests seen before, trade id) of the last forced exit
        self.force_exit_due: tuple[int, int, tuple[int, Any], int] | None = None
        self.triggers: list[dict[str, Any]] = []
        self.later: list[tuple[int, str]] = []  # (step, action) to undo a fault later
        self.handler = _Capture(self.records)
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
            if self.hidden_trades and path == "/fapi/v1/userTrades" and isinstance(body, list):
                body = [t for t in body if int(t.get("orderId", 0)) not in self.hidden_trades]
            return status, body

        self.sim.handle = handle  # type: ignore[method-assign]

    # ------------------------------------------------------------------ helpers

    def note(self, text: str) -> None:
        self.notes.append((len(self.records), f"[chaos step {self.step}] {text}"))

    def violation(self, inv: str, text: str) -> None:
        self.result.violations.setdefault(inv, []).append(f"step {self.step}: {text}")
        self.result.first_step.setdefault(inv, self.step)
        self.note(f"VIOLATION {inv}: {text}")

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
            "exchange": {"pair_whitelist": [PAIR]},
            "stake_amount": STAKE,
        }
        if self.schedule.stoploss_on_exchange:
            self.config["order_types"] = {**ORDER_TYPES, "stoploss_on_exchange": True}
            self.result.applied["stoploss_on_exchange"] += 1
        if self.schedule.dry_run:
            self.result.applied["dry_run"] += 1
        self.bot = make_bot(
            self.sim,
            strategy=STRATEGY,
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
            # (30 attempts x 5 s outlast the longest rate-limit ban a schedule draws, 120 s.)
            for attempt in range(1, 31):
                try:
                    self.bot = make_bot(
                        self.sim,
                        strategy=STRATEGY,
                        extra_config=self.config,
                        db_url=self.db_url,
                        dry_run=self.schedule.dry_run,
                    )
                    break
                except Exception as error:  # noqa: BLE001
                    self.note(f"start-up attempt {attempt} failed: {error!r}")
                    self.sim.advance(5.0)
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

    def _targets(self, role: str) -> list[Any]:
        exit_role = role == "exit"
        return sorted(
            (o for o in self.sim.open_orders(PAIR) if o.reduce_only == exit_role),
            key=lambda o: o.order_id,
        )

    def _target(self, event: dict[str, Any]) -> Any:
        orders = self._targets(event.get("role", "entry"))
        if not orders:
            return None
        return orders[-1] if event.get("which", "newest") == "newest" else orders[0]

    def _part(self, order: Any, fraction: float) -> float:
        step = self.spec.step
        qty = int(order.remaining * fraction / step + 1e-9) * step
        return round(max(qty, step), 8)

    def _race_fill(self, trig: dict[str, Any]) -> None:
        order = self._target(trig)
        if order is None:
            self.result.skipped["race_fill"] += 1
            return
        qty = order.remaining if trig["fraction"] >= 1 else self._part(order, trig["fraction"])
        self.sim.fill_order(order.order_id, qty)
        self.result.applied["race_fill"] += 1
        self.note(
            f"race_fill: {order.order_id} filled {qty:g} while {trig['method']} {trig['path']}"
            f" #{trig['nth']} was in flight"
        )

    def _age_for_timeout(self) -> float:
        skew = max(0.0, self.sim.now_ms / 1000.0 - time.time())
        return 660.0 + skew

    # ------------------------------------------------------------------ events

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        sim = self.sim
        script = SCRIPT
        applied = True
        text = kind
        if kind == "signal":
            _signal(script, event["to"])
            text = f"signal -> {event['to']}"
        elif kind == "reprice":
            self.reprice = bool(event["on"])
            script["reprice"] = self.reprice
            text = f"reprice {'on' if self.reprice else 'off'}"
        elif kind == "dca":
            script["dca"] = bool(event["on"])
            self.dca_ever = self.dca_ever or script["dca"]
            text = f"dca {'on' if script['dca'] else 'off'}"
        elif kind == "price":
            new = sim.price(PAIR) + event["ticks"] * self.spec.tick
            sim.set_price(PAIR, new)
            text = f"price -> {self.spec.round_price(new)}"
        elif kind == "fail":
            sim.fault_fail(event["method"], event["path"], count=event["count"])
            text = f"fail {event['method']} {event['path']} x{event['count']}"
        elif kind == "lost_create":
            sim.fault_lost_create(event["count"])
            text = f"lost_create x{event['count']}"
        elif kind == "delay_visibility":
            sim.fault_delay_visibility(event["seconds"])
            self.later.append((self.step + event["for_steps"], "visibility"))
            text = f"delay_visibility {event['seconds']}s for {event['for_steps']} steps"
        elif kind == "restart":
            self._restart(crashed=False)
            return
        elif kind == "lagging_views":
            views = None if event["views"] == "all" else (event["views"],)
            sim.fault_lagging_views(event["seconds"], views)
            self.later.append((self.step + event["for_steps"], "lag"))
            text = f"lagging_views {event['views']} {event['seconds']}s for {event['for_steps']}"
        elif kind == "unknown_create":
            sim.fault_unknown_create(event["count"], event["answer"])
            text = f"unknown_create {event['answer']} x{event['count']}"
        elif kind == "rate_limit":
            if event["ban_s"]:
                sim.fault_rate_limit(ban_s=event["ban_s"])
                text = f"rate_limit: 418 ban for {event['ban_s']}s"
            else:
                sim.fault_rate_limit(event["count"])
                text = f"rate_limit: 429 x{event['count']}"
        elif kind == "force_exit":
            trades = Trade.get_open_trades()
            if not trades or self.bot is None:
                self.result.skipped[kind] += 1
                self.note("force_exit: no open trade (skipped)")
                return
            trade_id = int(trades[0].id)  # read now: the exit may delete the trade
            forced = (trade_id, trades[0].open_date)  # ids are reused after a delete
            self.force_exit_due = (self.step, len(self.sim.requests), forced, len(self.records))
            try:
                self.bot.rpc._rpc._rpc_force_exit(str(trade_id))
                text = f"force_exit of trade {trade_id}"
            except Exception as error:  # noqa: BLE001 - Freqtrade refused: (e) still checks
                why = getattr(error, "message", None) or type(error).__name__
                text = f"force_exit of trade {trade_id} answered {why}"
        elif kind == "restart_unassigned_fee":
            orders = [o for o in self.sim.orders if o.spec.symbol == PAIR]
            if not orders:
                self.result.skipped[kind] += 1
                self.note("restart_unassigned_fee: no order yet (skipped)")
                return
            # Fills so far carry no fee Freqtrade can read; the newest order cannot be found.
            self.hidden_trades = {o.order_id for o in orders}
            self.later.append((self.step + event["for_steps"], "show_trades"))
            newest = orders[-1]
            self.sim.fault_not_found(newest.order_id, event["count"])
            self.result.applied[kind] += 1
            self.note(
                f"restart_unassigned_fee: trades hidden for {event['for_steps']} steps, order "
                f"{newest.order_id} -2013 x{event['count'] or 'forever'}, restart"
            )
            self._restart(crashed=False)
            return
        elif kind == "archive_downtime":
            self.result.applied[kind] += 1
            self.note(f"archive_downtime: bot down {event['days']} days")
            sim.advance(event["days"] * 86_400)
            self._restart(crashed=False)
            return
        elif kind == "crash_before_send":
            guard = self._guard_obj()
            if guard is None or not hasattr(guard, "before_send"):
                applied = False
                text = "crash_before_send: guard has no before_send hook (skipped)"
            else:

                def crash() -> None:
                    raise SimulatedCrash("crash between approved and sent")

                guard.before_send = crash
                self.later.append((self.step + event["for_steps"], "disarm"))
                text = f"crash_before_send armed for {event['for_steps']} steps"
        elif kind == "race_fill":
            self.triggers.append({**event, "seen": 0, "fired": False})
            text = f"race_fill armed on {event['method']} {event['path']} #{event['nth']}"
        else:
            order = self._target(event)
            if order is None:
                self.result.skipped[kind] += 1
                self.note(f"{kind} {event.get('role')}: no open order (skipped)")
                return
            oid = order.order_id
            text = f"{kind} {event.get('role')} order {oid} (qty {order.orig_qty:g})"
            if kind == "fill":
                sim.fill_order(oid)
            elif kind == "partial":
                qty = self._part(order, event["fraction"])
                sim.fill_order(oid, qty)
                text += f" filled {qty:g}"
            elif kind == "expire":
                sim.expire_order(oid)
            elif kind == "cancel":
                sim.cancel_on_exchange(oid)
            elif kind == "timeout":
                sim.age_order(oid, self._age_for_timeout())
            elif kind == "stale_filled":
                if event["fraction"] >= 1:
                    sim.fill_order(oid)
                else:
                    sim.fill_order(oid, self._part(order, event["fraction"]))
                    if order.is_open:
                        sim.cancel_on_exchange(oid)
                sim.fault_stale_status(oid, event["status"])
                text += f" filled {order.executed_qty:g}, answers {event['status']} filled=0"
            elif kind == "not_found":
                sim.fault_not_found(oid, event["count"], on_cancel=event["on_cancel"])
                then = event["then"]
                if then == "fill":
                    sim.fill_order(oid)
                elif then == "partial":
                    sim.fill_order(oid, self._part(order, 0.5))
                elif then == "cancel":
                    sim.cancel_on_exchange(oid)
                elif then == "expire":
                    sim.expire_order(oid)
                count = "forever" if event["count"] is None else event["count"]
                text += f" -2013 x{count} on_cancel={event['on_cancel']} then {then}"
            elif kind == "fill_during_cancel":
                sim.fault_fill_during_cancel(oid)
                trigger = event["trigger"]
                if trigger == "timeout":
                    sim.age_order(oid, self._age_for_timeout())
                elif trigger == "reprice":
                    sim.age_order(oid, 120)
                    script["reprice"] = True
                    self.later.append((self.step + 1, "reprice_restore"))
                    away = 3 if order.side == "BUY" else -3
                    sim.set_price(PAIR, sim.price(PAIR) + away * self.spec.tick)
                text += f" trigger={trigger}"
        if applied:
            self.result.applied[kind] += 1
        else:
            self.result.skipped[kind] += 1
        self.note(text)

    def _undo_later(self) -> None:
        keep = []
        for at, action in self.later:
            if at > self.step:
                keep.append((at, action))
                continue
            if action == "visibility":
                self.sim.fault_delay_visibility(0)
            elif action == "lag":
                self.sim.fault_lagging_views(0)
            elif action == "disarm":
                guard = self._guard_obj()
                if guard is not None and hasattr(guard, "before_send"):
                    guard.before_send = None
            elif action == "show_trades":
                self.hidden_trades = set()
            elif action == "reprice_restore":
                SCRIPT["reprice"] = self.reprice
        self.later = keep

    def _reprice_tick(self) -> None:
        """Re-pricing every candle: open orders look a candle old and the book moves away."""
        for order in self.sim.open_orders(PAIR):
            self.sim.age_order(order.order_id, 70)
        direction = 1 if (self.step % 2 == 0) else -1
        self.sim.set_price(PAIR, self.sim.price(PAIR) + direction * 2 * self.spec.tick)

    # ------------------------------------------------------------------ loop and invariants

    def loop(self) -> None:
        self.result.loops += 1
        records_before = len(self.records)
        guard = self._guard_obj()
        stats_before = dict(guard.stats) if guard is not None else {}
        requests_before = self.guard_thread_requests
        try:
            harness.run_loop(self.bot, 1)
        except SimulatedCrash:
            self.note("SimulatedCrash raised between approved and sent")
            self._restart(crashed=True)
        except Exception as error:  # noqa: BLE001 - invariant d
            tb = traceback.format_exception(type(error), error, error.__traceback__)
            self.violation("d", f"process() raised {error!r}\n" + "".join(tb[-6:]))
        self.check_position()
        self.check_forced_exit()
        if self.guard:
            self.check_no_back_off(records_before)
            if guard is not None and guard is self._guard_obj():
                self.check_requests_bounded(stats_before, dict(guard.stats), requests_before)

    def intended(self, side: str) -> float:
        """The largest entry of this side the bot sent so far, times the entries allowed."""
        entries = [
            o.orig_qty
            for o in self.sim.orders
            if not o.reduce_only and o.spec.symbol == PAIR and o.side == side
        ]
        return max(entries, default=0.0) * (2 if self.dca_ever else 1)

    def check_position(self) -> None:
        ledger = self.sim.ledger
        new = ledger[self.ledger_seen :]
        self.ledger_seen = len(ledger)
        positions = [e["position"] for e in new if "position" in e]
        longest = max((p for p in positions if p > EPS), default=0.0)
        shortest = min((p for p in positions if p < -EPS), default=0.0)
        for peak, side, word in ((longest, "BUY", "long"), (-shortest, "SELL", "short")):
            if peak <= EPS:
                continue
            intended = self.intended(side)
            if intended <= EPS:
                self.violation("a", f"position {word} {peak:g}: the bot never entered {word}")
            elif peak > intended + EPS:
                self.violation(
                    "a",
                    f"{word} position reached {peak:g} > intended {intended:g}"
                    f" (dca={self.dca_ever})",
                )

    def check_forced_exit(self) -> None:
        """(e): by the end of the loop after a forced exit, a reduce-only order was sent,
        or nothing is left to reduce."""
        if self.force_exit_due is None or self.step <= self.force_exit_due[0]:
            return
        step, seen, forced, records_seen = self.force_exit_due
        self.force_exit_due = None
        if not [t for t in Trade.get_open_trades() if (t.id, t.open_date) == forced]:
            return  # the forced trade is closed (or was deleted: nothing had filled)
        since = self.sim.requests[seen:]
        sent = [
            r for r in since
            if r.method == "POST" and r.path == "/fapi/v1/order"
            and str(r.params.get("reduceOnly", "")).lower() == "true"
        ]
        # The exchange itself refusing requests (a 418 ban, 429, 5xx) is not a held-back exit.
        refused = any(r.status in (418, 429) or r.status >= 500 for r in since)
        guard_in_the_way = [
            text
            for text in (_message(r) for r in self.records[records_seen:])
            if (text.startswith("REPLACEMENT_BLOCKED") and "type=exit" in text)
            or ("GhostGuard blocked" in text and "exit" in text)
            or ("GhostGuard: cancel of order" in text and "not confirmed" in text)
        ]
        if not sent and not refused and guard_in_the_way and abs(self.sim.position(PAIR)) > EPS:
            self.violation(
                "e", f"forced exit at step {step}: no reduce-only order sent, position "
                f"{self.sim.position(PAIR):g}; the guard: {guard_in_the_way[0][:120]}"
            )

    def check_no_back_off(self, since: int) -> None:
        for record in self.records[since:]:
            if record.name != "freqtrade.exchange.common":
                continue
            text = record.getMessage()
            if text.startswith("fetch_order() returned exception") and "Retrying still" in text:
                if "not found" in text.lower() or "does not exist" in text.lower():
                    self.violation("f", text[:200])

    def check_requests_bounded(
        self, before: dict[str, int], after: dict[str, int], requests_before: int
    ) -> None:
        grew = {k for k in after if after[k] > before.get(k, 0)}
        blocked = {k.split(":", 1)[1] for k in grew if k.startswith("blocked:")}
        moved = grew & {"approved", "reprices_approved", "risk_reducing_exits"}
        requests = self.guard_thread_requests - requests_before
        if blocked and blocked <= OFFLINE_REASONS and not moved and requests:
            self.violation(
                "h", f"{requests} check requests while only {sorted(blocked)} blocked"
            )

    def check_logs(self) -> None:
        secrets = ("signature=", SimExchange.SIM_API_KEY, SimExchange.SIM_API_SECRET)
        for record in self.records:
            if record.name != "ghostguard":
                continue
            text = record.getMessage() + (record.exc_text or "")
            if record.exc_info:
                text += "".join(traceback.format_exception(*record.exc_info))
            leaked = [s for s in secrets if s in text]
            if leaked:
                self.violation("g", f"{leaked[0][:12]}... in: {text[:160]}")

    def check_end(self) -> None:
        if self.schedule.dry_run:
            return  # no order reaches the exchange: (b) and (c) have nothing to compare
        rows = Order.session.query(Order).all()
        known_open = {str(r.order_id) for r in rows if r.ft_is_open}
        by_id = {str(r.order_id): r for r in rows}
        for order in self.sim.open_orders(PAIR):
            if str(order.order_id) not in known_open:
                row = by_id.get(str(order.order_id))
                state = "no row" if row is None else f"row ft_is_open=False status={row.status}"
                self.violation(
                    "b",
                    f"order {order.order_id} {order.side} {order.orig_qty:g}"
                    f" reduce_only={order.reduce_only} open on exchange, {state}",
                )
        locks = [
            lock
            for lock in PairLocks.get_pair_locks(PAIR)
            if (lock.reason or "").startswith("GhostGuard")
        ]
        problems = []
        for order in self.sim.orders:
            if order.executed_qty <= 0:
                continue
            row = by_id.get(str(order.order_id))
            db_filled = float(row.filled or 0.0) if row is not None else None
            if db_filled is None or abs(db_filled - order.executed_qty) > EPS:
                problems.append(
                    f"order {order.order_id} filled {order.executed_qty:g} on exchange,"
                    f" database {'no row' if row is None else f'filled {db_filled:g}'}"
                )
        # The database's idea of the position: the signed fills of every Order row it holds
        # (a partly filled order that is still open counts too: Freqtrade adds it to
        # trade.amount only once the order closes, which is not a lost fill).
        db_position = 0.0
        for row in rows:
            if row.ft_pair == PAIR and row.filled:
                db_position += float(row.filled) if row.side == "buy" else -float(row.filled)
        position = self.sim.position(PAIR)
        if abs(db_position - position) > EPS:
            problems.append(f"exchange position {position:g} != database {db_position:g}")
        if problems:
            if locks:
                self.note(f"lost fills excused by lock '{locks[0].reason}': {problems}")
            else:
                for p in problems:
                    self.violation("c", p)

    def settle(self) -> None:
        self.step = self.schedule.steps
        self.note("settle: faults cleared, re-pricing off")
        self.sim.clear_faults()
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
                self.loop()
                self.triggers.clear()  # a race is armed for one step only
                self.sim.advance(self.schedule.advance_after(step))
                self._undo_later()
            self.settle()
            self.check_logs()
        except Exception as error:  # noqa: BLE001 - a runner crash is reported, not hidden
            tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            self.violation("d", f"runner error (not necessarily the bot): {error!r}\n{tb}")
        finally:
            self.result.seconds = time.perf_counter() - started
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
    return _Run(schedule, guard, keep_log).run()


__all__ = ["INVARIANTS", "PAIR", "Result", "SimulatedCrash", "run_schedule"]
