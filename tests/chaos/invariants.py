"""The campaign's invariants, checked after every loop and once the schedule has settled
(their meaning: ``INVARIANTS`` and the docstring of ``tests.chaos.runner``)."""

from __future__ import annotations

import traceback
from typing import Any

from freqtrade.exceptions import TemporaryError
from freqtrade.persistence import Order, PairLocks, Trade

from ghostguard.config import GuardSettings
from ghostguard.reconcile import RECONCILE_ATTEMPTS
from ghostguard.records import PairLockRecord
from ghostsim import SimExchange
from ghostsim.ftrun import parse_events
from tests.chaos.events import is_other_bots


EPS = 1e-9
# The campaign runs the guard with its default cooldown between ghost replacements.
COOLDOWN_MS = int(GuardSettings().replacement_cooldown_s * 1000)
# ... and its default bound on a pair lock (`lock_hours`).
LOCK_BOUND_S = getattr(GuardSettings(), "lock_hours", 4.0) * 3600.0
# Loops a reconciliation may hold a pair's entries before it is resolved or locked (o).
HOLD_BOUND_LOOPS = RECONCILE_ATTEMPTS + 2
# Blocks that need no network to decide (and cannot change until a fact does).
OFFLINE_REASONS = frozenset(
    {
        "signal_no_longer_active",
        "bot_state_has_position",
        "bot_state_no_position",
        "max_replacement_attempts",
        "cooldown_active",
        "auto_replace_disabled",
        "reconciling",
    }
)


def _message(record: Any) -> str:
    """A record's text; "" when its arguments cannot be rendered any more (a Trade object
    detached from its session after a restart)."""
    try:
        return str(record.getMessage())
    except Exception:  # noqa: BLE001
        return ""


class InvariantsMixin:
    """The checks (part of the run's state)."""

    sim: Any
    schedule: Any
    result: Any
    step: int
    dca_ever: bool
    ledger_seen: int
    force_exit_due: Any
    records: list[Any]
    guard_thread_requests: int
    booked: dict[str, float]
    pair: str
    pairs: tuple[str, ...]
    spot: bool
    other_seen: dict[str, float]
    m_seen: set[str]

    def is_exit(self, order: Any) -> bool:
        raise NotImplementedError

    def violation(self, inv: str, text: str) -> None:
        raise NotImplementedError

    def eid(self, order_id: Any) -> str:
        raise NotImplementedError

    def note(self, text: str) -> None:
        raise NotImplementedError

    def intended(self, side: str, pair: str) -> float:
        """The largest entry of this side the bot sent so far, times the entries allowed."""
        entries = [
            o.orig_qty
            for o in self.sim.orders
            if not self.is_exit(o) and o.spec.symbol == pair and o.side == side
        ]
        return max(entries, default=0.0) * (2 if self.dca_ever else 1)

    def other_ids(self) -> dict[str, Any]:
        """The other bot's orders on the account (eighth stream), by id."""
        return {str(o.order_id): o for o in self.sim.orders if is_other_bots(o)}

    def other_net(self, pair: str) -> float:
        """The other bot's share of the pair's position: its signed fills (futures only)."""
        return sum(
            (o.executed_qty if o.side == "BUY" else -o.executed_qty)
            for o in self.other_ids().values() if o.spec.symbol == pair
        )

    def own_position(self, pair: str) -> float:
        return float(self.sim.position(pair)) - self.other_net(pair)

    def check_position(self) -> None:
        ledger = self.sim.ledger
        new = ledger[self.ledger_seen :]
        self.ledger_seen = len(ledger)
        others = self.other_ids()
        for pair in self.pairs:
            symbol = self.sim.spec(pair).id
            # Spot: the base balance the account holds (net of the fee a BUY pays in the
            # base asset, which stays behind as dust after the exit), as the venue shows it.
            # The other bot's fills are its share of the position, not the bot's.
            key = "base_balance" if self.spot else "position"
            positions = []
            for e in new:
                if e.get("symbol") != symbol:
                    continue
                if e.get("event") == "fill" and str(e.get("order_id")) in others:
                    signed = float(e["qty"]) if e.get("side") == "BUY" else -float(e["qty"])
                    self.other_seen[symbol] = self.other_seen.get(symbol, 0.0) + signed
                if key in e:
                    positions.append(e[key] - self.other_seen.get(symbol, 0.0))
            self._check_peaks(pair, positions)

    def check_other_bot(self) -> None:
        """(m): no request of the bot cancelled an order of the other bot, and the bot's
        database holds none of them (nothing claimed, booked or swept)."""
        others = self.other_ids()
        if not others:
            return
        for r in self.sim.requests:
            order_id = str(r.params.get("orderId", ""))
            if r.method == "DELETE" and order_id in others and order_id not in self.m_seen:
                self.m_seen.add(order_id)
                self.violation("m", f"the bot cancelled order {order_id} of the other bot")
        for row in Order.session.query(Order).all():
            order_id = self.eid(row.order_id)
            if order_id in others and order_id not in self.m_seen:
                self.m_seen.add(order_id)
                self.violation("m", f"the bot's database holds order {order_id} of the other bot")

    def _check_peaks(self, pair: str, positions: list[float]) -> None:
        where = "" if pair == self.pair else f" ({pair})"
        longest = max((p for p in positions if p > EPS), default=0.0)
        shortest = min((p for p in positions if p < -EPS), default=0.0)
        for peak, side, word in ((longest, "BUY", "long"), (-shortest, "SELL", "short")):
            if peak <= EPS:
                continue
            intended = self.intended(side, pair)
            if intended <= EPS:
                self.violation(
                    "a", f"position {word} {peak:g}: the bot never entered {word}{where}"
                )
            elif peak > intended + EPS:
                self.violation(
                    "a",
                    f"{word} position reached {peak:g} > intended {intended:g}"
                    f" (dca={self.dca_ever}){where}",
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
            and (str(r.params.get("reduceOnly", "")).lower() == "true"
                 or (self.spot and r.params.get("side") == "SELL"))
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
        left = abs(self.own_position(self.pair))
        if not sent and not refused and guard_in_the_way and left > EPS:
            self.violation(
                "e", f"forced exit at step {step}: no reduce-only order sent, position "
                f"{self.own_position(self.pair):g}; the guard: {guard_in_the_way[0][:120]}"
            )

    def check_no_back_off(self, since: int) -> None:
        # A stop order on the exchange is not the guard's: Freqtrade queries the order the
        # triggered stop placed (Binance's Algo API) under an id its database does not hold.
        stop_orders = set(self.algo_rows())
        for record in self.records[since:]:
            if record.name != "freqtrade.exchange.common":
                continue
            text = record.getMessage()
            if any(f"id: {order_id})" in text for order_id in stop_orders):
                continue
            if text.startswith("fetch_order() returned exception") and "Retrying still" in text:
                if "not found" in text.lower() or "does not exist" in text.lower():
                    self.violation("f", text[:200])

    def check_no_worker_retry(self, caught: list[Exception]) -> None:
        for error in caught:
            if isinstance(error, TemporaryError) and str(error).startswith("GhostGuard"):
                self.violation(
                    "f", f"the guard's TemporaryError left process() (worker sleeps 30 s, "
                    f"the loop's exits did not run): {str(error)[:160]}"
                )

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

    def algo_rows(self) -> dict[str, str]:
        """A stop order on the exchange (Binance's Algo API) fills through the order it places
        when triggered; Freqtrade books that fill on the stop's row, under the algo id:
        exchange order id -> the id Freqtrade's row carries."""
        algos = getattr(self.sim, "_algo_orders", None)
        if algos is None:
            return {}
        return {
            str(algo.actual_order_id): str(algo.algo_id)
            for algo in algos().values()
            if getattr(algo, "actual_order_id", None) is not None
        }

    def check_booked_fills(self) -> None:
        """(j): a fill the database booked is never lost: no Order row's `filled` falls (nor
        does the row go) while the exchange still shows at least that much filled."""
        if self.schedule.dry_run:
            return
        via_algo = self.algo_rows()
        executed = {via_algo.get(str(o.order_id), str(o.order_id)): o.executed_qty
                    for o in self.sim.orders}
        now = {self.eid(r.order_id): float(r.filled or 0.0)
               for r in Order.session.query(Order).all()}
        for order_id, booked in list(self.booked.items()):
            held = now.get(order_id, 0.0)
            if held < booked - EPS and executed.get(order_id, 0.0) >= booked - EPS:
                self.violation(
                    "j", f"order {order_id}: the database had booked {booked:g} filled, now "
                    f"{'no row' if order_id not in now else f'{held:g}'}; the exchange shows "
                    f"{executed.get(order_id, 0.0):g}"
                )
                del self.booked[order_id]  # reported once
        for order_id, filled in now.items():
            if filled > self.booked.get(order_id, 0.0) + EPS:
                self.booked[order_id] = filled

    def check_cooldown_on_exchange(self) -> None:
        """(i): two ghost replacements of one pair and role reach the exchange at least the
        cooldown apart, on the exchange's own clock (the time it stamped each order). Only the
        rationed ones (`attempt=N/M`): a risk-reducing exit is never held back, so no cooldown
        applies to it (seed 612 of the first four-venue run with this invariant)."""
        if self.schedule.dry_run:
            return  # dry-run orders never reach the exchange
        arrived = {str(o.order_id): o.time for o in self.sim.orders}
        stamps: dict[tuple[str, str], list[int]] = {}
        for record in self.records:
            if record.name != "ghostguard":
                continue
            for event in parse_events([_message(record)]):
                at = arrived.get(self.eid(event.get("order_id")))
                rationed = bool(event.get("attempt"))
                if event.name == "GHOST_ORDER_REPLACED" and rationed and at is not None:
                    stamps.setdefault((event.get("pair"), event.get("type")), []).append(at)
        for (pair, role), times in sorted(stamps.items()):
            times.sort()
            for first, second in zip(times, times[1:], strict=False):
                if second - first < COOLDOWN_MS:
                    self.violation(
                        "i", f"{role} ghost replacements on {pair} reached the exchange "
                        f"{second - first} ms apart (cooldown {COOLDOWN_MS} ms)"
                    )

    def check_no_stale_block(self, since: int) -> None:
        """(n) A pair keeps trading after a ghost: no order is blocked by check 1 (filled or
        partial, or the reconciliation that block starts) as the replacement of a gone order
        whose whole fill a closed trade of the database holds (the fill is the bot's and was
        exited; nothing of it can double). Excused: a reconciliation's hold in the loop that
        verifies what it just booked (it re-reads the position once before the pair trades on),
        and while its reads fail (a trade list down: invariant (o) bounds that hold).
        Guard-off has no blocks. Found in `make demo`
        (2026-12-05): SOL and BNB blocked every loop for the rest of the run."""
        phase = self.reconcile_phase
        for record in self.records[since:]:
            if record.name != "ghostguard":
                continue
            text = _message(record)
            if text.startswith("GhostGuard: reconciling "):
                pair, _, why = text[len("GhostGuard: reconciling "):].partition(": ")
                phase[pair] = why
                continue
            if not text.startswith("REPLACEMENT_BLOCKED") or not any(
                code in text for code in ("original_order_filled", "original_order_partial")
            ):
                continue  # a read that failed or found nothing blocks until the breaker trips
            fields = dict(
                part.split("=", 1) for part in text.split() if "=" in part and part[0] != "("
            )
            last = phase.get(fields.get("pair", ""), "")
            if fields.get("reason", "").startswith("reconciling(") and (
                last.endswith("verifying") or " unreadable (" in f" {last}"
            ):
                continue  # verifying a booking (one loop), or reads failing (bounded: o)
            gone = fields.get("order_id")
            row = Order.order_by_id(gone) if gone else None
            trade = row.trade if row is not None else None
            if trade is None or trade.is_open:
                continue
            engine = next(
                (o for o in self.sim.orders if str(o.order_id) == self.eid(gone)), None
            )
            if engine is None or engine.is_open:
                continue
            if engine.executed_qty <= float(row.filled or 0.0) + EPS:
                self.violation(
                    "n",
                    f"{text[:120]}: order {gone} filled {engine.executed_qty:g}, all of it"
                    f" held by closed trade {trade.id}",
                )

    def check_hold_bounded(self) -> None:
        """(o) A reconciliation ends by itself: consecutive loops in which the guard holds a
        pair's entries back (its disagreement record, not expired, no lock set) stay within
        `HOLD_BOUND_LOOPS`. A loop without the record (agreed) or with a lock ends the count; a
        new disagreement (another `since`: the earlier one ended within the loop, and a block
        started the next) starts a new one."""
        guard = self._guard_obj()
        ran, self.guard_ran = self.guard_ran, False
        if guard is None or not ran:
            return  # no guard work this loop (Freqtrade's own read aborted it): nothing held
        for pair in self.pairs:
            try:
                record = guard.ctx.store.of_pair(PairLockRecord, pair)
            except Exception:  # noqa: BLE001 - the store failing (fault store_fail): no record
                record = None
            held = record is not None and not record.expired and record.locked_until is None
            since, count = self.held_loops.get(pair, (None, 0))
            if not held:
                count = 0
            elif record.since != since:  # a new disagreement (an earlier one ended)
                count = 1
            else:
                count += 1
            self.held_loops[pair] = (record.since if held else None, count)
            if count == HOLD_BOUND_LOOPS + 1:
                self.violation(
                    "o", f"{pair}: entries held by the reconciliation for {count} loops with "
                    f"no lock (bound {HOLD_BOUND_LOOPS}): {record.reason[:100]}"
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
        for pair in self.pairs:
            self._check_end_of(pair, rows)

    def _check_end_of(self, pair: str, rows: list[Any]) -> None:
        known_open = {self.eid(r.order_id) for r in rows if r.ft_is_open}
        by_id = {self.eid(r.order_id): r for r in rows}
        for order in self.sim.open_orders(pair):
            if is_other_bots(order):
                continue  # the other bot's: never the bot's to know
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
            for lock in PairLocks.get_pair_locks(pair)
            if (lock.reason or "").startswith("GhostGuard")
        ]
        problems = []
        via_algo = self.algo_rows()
        for order in self.sim.orders:
            if order.executed_qty <= 0 or order.spec.symbol != pair or is_other_bots(order):
                continue
            row = by_id.get(via_algo.get(str(order.order_id), str(order.order_id)))
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
            if row.ft_pair == pair and row.filled:
                db_position += float(row.filled) if row.side == "buy" else -float(row.filled)
        position = self.own_position(pair)
        if abs(db_position - position) > EPS:
            problems.append(f"exchange position {position:g} != database {db_position:g}")
        for p in problems:  # a lock excuses nothing: a position no trade holds is unmanaged
            self.violation("c", p + (f" (pair locked: {locks[0].reason[:80]})" if locks else ""))
        for lock in locks:
            lasts = (lock.lock_end_time - lock.lock_time).total_seconds()
            if lasts > LOCK_BOUND_S + 300.0:  # Freqtrade ends a lock on a candle boundary
                self.violation(
                    "l", f"guard lock on {pair} for {lasts / 3600:.1f} h (bound "
                    f"{LOCK_BOUND_S / 3600:g} h): {(lock.reason or '')[:100]}"
                )

