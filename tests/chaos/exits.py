"""The seventh stream's faults and invariant (k): nothing the guard does makes a stop-loss later
than Freqtrade alone makes it.

Faults (``tests.chaos.schedule.add_exit_faults``): a stop-loss the price crosses (optionally
after the newest open entry half filled and expired, or went missing), DCA switched on just
before it, the trade list down for a while, one transient 503 on one read (the order re-fetch
after a cancel in particular), and the guard's own store failing every write.

Invariant (k): from the first loop in which the exchange holds a position of a traded pair, held
by an open trade of the bot in that direction, that the price has carried through the 2 %
stop-loss (measured from the position's entry price on the exchange, the price Freqtrade's own
stop is computed from, whatever amount the trade has booked), measure how long it takes until an
order reducing that position reaches the exchange (or the position is gone), in the seconds a
real bot would take: each loop that passes costs the bot's loop time (`process_throttle_secs`,
5 s here) or, when longer, what Freqtrade slept in that loop in its retry back-off (recorded by
the harness, not slept); the loop that sends the exit costs its back-off sleeps. With the guard
on, that time may not exceed the guard-off twin's for the stop that began at the same step (a
twin whose run went another way and had no such stop at that step counts as 0 s. A stop later
than that is a violation only when something of the guard's own stood in the way during it (an
exit it blocked, repeats included; a cancel it did not let complete; an answer it held back; its
`TemporaryError`): the runs of a schedule drift apart (other order ids, other answers of a fault
counted by requests), so a later stop with nothing of the guard's in the way is the exchange's
doing, not the guard's.
"""
from __future__ import annotations

from typing import Any

from freqtrade.persistence import Trade
from sqlalchemy import text

from tests.chaos.events import is_other_bots
from tests.strategies.ScriptedMakerStrategy import SCRIPT


LOOP_S = 5.0  # the harness's process_throttle_secs: what a loop of a real bot lasts at least
STORE_TRIGGERS = {
    "insert": "INSERT",
    "update": "UPDATE",
    "delete": "DELETE",
}


class ExitsMixin:
    """Part of the run's state (tests.chaos.runner._Run)."""

    sim: Any
    spec: Any
    result: Any
    schedule: Any
    step: int
    pair: str
    pairs: tuple[str, ...]
    spot: bool
    dca_ever: bool
    later: list[tuple[int, str]]
    guard: bool

    def _init_exits(self) -> None:
        # (pair, step the stop became due) -> [seconds so far, the exit reached the exchange,
        # what of the guard's stood in the way meanwhile (a log line), or None]
        self.stops: dict[tuple[str, int], list[Any]] = {}
        self.open_stop: dict[str, tuple[str, int]] = {}
        self.stop_orders: dict[str, set[int]] = {}  # exits resting after a stop was sent
        self.fail_after_cancel = False
        self.outage_rule: Any = None

    # ------------------------------------------------------------------ faults

    def apply_exit_event(self, event: dict[str, Any]) -> str | None:
        """Apply one of the seventh stream's events; returns the note (None: skipped)."""
        kind = event["kind"]
        if kind == "resting_dca":
            SCRIPT["dca"] = True
            self.dca_ever = True
            return "resting_dca: DCA on"
        if kind == "stop_trigger":
            return self._stop_trigger(event)
        if kind == "trades_outage":
            self.sim.fault_fail("GET", "/fapi/v1/userTrades", count=10**9)
            self.outage_rule = self.sim.faults.fail_rules[-1]
            steps = event.get("for_steps")
            if steps is not None:
                self.later.append((self.step + int(steps), "trades_back"))
            return f"trades_outage: every trade-list read 503 for {steps or 'all'} steps"
        if kind == "transient_read":
            if event.get("after_cancel"):
                self.fail_after_cancel = True
                return "transient_read: one 503 on the first order re-fetch after the next cancel"
            self.sim.fault_fail(event["method"], event["path"], count=1)
            return f"transient_read: one 503 on {event['method']} {event['path']}"
        if kind == "store_fail":
            if not self.guard:
                return None
            if not self._store_triggers(True):
                return None
            self.later.append((self.step + int(event["for_steps"]), "store_back"))
            return f"store_fail: every guard store write fails for {event['for_steps']} steps"
        raise ValueError(kind)

    def undo_exit_fault(self, action: str) -> bool:
        if action == "trades_back":
            if self.outage_rule is not None:
                self.outage_rule.remaining = 0
                self.outage_rule = None
            return True
        if action == "store_back":
            self._store_triggers(False)
            return True
        return False

    def exits_request_hook(self, method: str, path: str) -> None:
        """Called after each request the exchange answered (the runner's handle wrapper)."""
        if self.fail_after_cancel and method == "DELETE" and path == "/fapi/v1/order":
            self.fail_after_cancel = False
            self.sim.fault_fail("GET", "/fapi/v1/order", count=1)

    def _store_triggers(self, on: bool) -> bool:
        """Make every write to the guard's table fail (a real SQLite error from the real
        database), or stop doing so."""
        guard = self._guard_obj()  # type: ignore[attr-defined]
        engine = getattr(getattr(guard, "store", None), "_engine", None) if guard else None
        if engine is None:
            return False
        with engine.begin() as connection:
            for name, verb in STORE_TRIGGERS.items():
                trigger = f"ghostguard_chaos_fail_{name}"
                connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
                if on:
                    connection.execute(text(
                        f"CREATE TRIGGER {trigger} BEFORE {verb} ON ghostguard_state BEGIN "
                        "SELECT RAISE(ABORT, 'disk I/O error (chaos store_fail)'); END"
                    ))
        return True

    def _stop_trigger(self, event: dict[str, Any]) -> str | None:
        sim, pair = self.sim, self.pair
        notes = []
        prelude = event.get("prelude", "none")
        entries = sorted(
            (o for o in sim.open_orders(pair)
             if not self.is_exit(o) and not is_other_bots(o)),  # type: ignore[attr-defined]
            key=lambda o: o.order_id,
        )
        if prelude != "none" and entries:
            order = entries[-1]
            if prelude == "partial_expire":
                qty = self._part(order, 0.5)  # type: ignore[attr-defined]
                sim.fill_order(order.order_id, qty)
                if order.is_open:
                    sim.expire_order(order.order_id)
                notes.append(f"entry {order.order_id} filled {qty:g} and expired")
            else:  # missing_entry: gone on the exchange, "does not exist" on query and cancel
                sim.cancel_on_exchange(order.order_id)
                sim.fault_not_found(order.order_id, None, on_cancel=True)
                notes.append(f"entry {order.order_id} gone, not found on query and cancel")
        position = self.held(pair)
        still_open = [o for o in entries if o.is_open]
        if abs(position) < self.spec.min_qty and still_open and prelude == "none":
            sim.fill_order(still_open[-1].order_id)  # a position for the stop to protect
            notes.append(f"entry {still_open[-1].order_id} filled")
            position = self.held(pair)
        if abs(position) < self.spec.min_qty:
            return None
        entry = sim.positions[self.spec.id].entry_price
        move = float(event["move"])
        price = entry * (1 - move) if position > 0 else entry * (1 + move)
        sim.set_price(pair, price)
        notes.append(f"price {entry:g} -> {self.spec.round_price(price):g} ({move:.0%} against)")
        return "stop_trigger: " + ", ".join(notes)

    # ------------------------------------------------------------------ invariant (k)

    def held(self, pair: str) -> float:
        """The position the venue shows: on spot the base balance the account holds (the fee
        a BUY pays in the base asset is not held), on futures the signed position."""
        if self.spot:
            spec = self.sim.spec(pair)
            return float(self.sim.face.ledger.totals.get(spec.base, 0.0))
        return self.own_position(pair)  # the other bot's share is not the bot's

    def stop_due(self) -> list[str]:
        """Pairs whose exchange position, held by an open trade of the bot in the same
        direction, the price has carried through the stop-loss. (A position no trade holds is
        invariant (c)'s: no stop-loss can watch it.)"""
        stoploss = self.schedule.stoploss
        if stoploss is None or self.schedule.dry_run:
            return []
        due = []
        for pair in self.pairs:
            spec = self.sim.spec(pair)
            position = self.held(pair)
            if abs(position) < spec.min_qty:
                continue
            trades = Trade.get_trades_proxy(pair=pair, is_open=True)
            if not any(t.is_short == (position < 0) for t in trades):
                continue
            entry = self.sim.positions[spec.id].entry_price
            price = self.sim.price(pair)
            if position > 0 and price <= entry * (1 + stoploss):
                due.append(pair)
            elif position < 0 and price >= entry * (1 - stoploss):
                due.append(pair)
        return due

    def resting_exits(self, pair: str) -> set[int]:
        """Orders reducing the pair's position that work on the exchange."""
        return {
            o.order_id for o in self.sim.open_orders(pair)
            if self.is_exit(o) and not is_other_bots(o)  # type: ignore[attr-defined]
        }

    def stop_before_loop(self) -> list[str]:
        due = self.stop_due()
        for pair in due:
            if self.stop_orders.get(pair, set()) & self.resting_exits(pair):
                continue  # the exit a stop sent still works (Freqtrade keeps it as the stop's)
            if pair not in self.open_stop:
                key = (pair, self.step)
                self.open_stop[pair] = key
                self.stops.setdefault(key, [0.0, False, None])
        return due

    def guard_in_the_way(
        self, pair: str, records: list[Any], caught: list[Any], exits_blocked: int = 0
    ) -> str | None:
        """What of the guard's could have held an exit of the pair back in one loop."""
        if exits_blocked:
            return f"{exits_blocked} exit placement(s) blocked by the guard this loop"
        for error in caught:
            if str(error).startswith("GhostGuard"):
                return f"TemporaryError: {str(error)[:120]}"
        for record in records:
            try:
                text = str(record.getMessage())
            except Exception:  # noqa: BLE001
                continue
            if f"pair={pair}" in text and text.startswith("REPLACEMENT_BLOCKED") and (
                "type=exit" in text
            ):
                return text[:160]
            if f"({pair})" in text and "GhostGuard" in text and (
                "refusing" in text or "re-checking next loop" in text
            ):
                return text[:160]
        return None

    def stop_after_loop(
        self, slept: float, due: list[str], requests_before: int, records: list[Any],
        caught: list[Any], exits_blocked: int = 0,
    ) -> None:
        sent_pairs = set()
        for request in self.sim.requests[requests_before:]:
            if request.method != "POST" or request.path != "/fapi/v1/order":
                continue
            params = request.params
            reducing = str(params.get("reduceOnly", "")).lower() == "true" or (
                self.spot and params.get("side") == "SELL"
            )
            if reducing:
                sent_pairs.add(str(params.get("symbol")))
        for pair in due:
            key = self.open_stop.get(pair)
            if key is None:
                continue
            spec = self.sim.spec(pair)
            gone = abs(self.held(pair)) < spec.min_qty
            episode = self.stops[key]
            if episode[2] is None:
                episode[2] = self.guard_in_the_way(pair, records, caught, exits_blocked)
            if spec.id in sent_pairs or gone:
                episode[0] += slept
                episode[1] = True
                del self.open_stop[pair]
                self.stop_orders[pair] = self.resting_exits(pair)
            else:
                episode[0] += max(LOOP_S, slept)

    def stop_latencies(self) -> dict[str, tuple[float | None, str | None]]:
        """(pair@step) -> (seconds from the stop becoming due to an exit reaching the exchange,
        0 in the loop it became due with no back-off, None never; what of the guard's stood in
        the way meanwhile)."""
        return {
            f"{pair}@{step}": (seconds if sent else None, in_the_way)
            for (pair, step), (seconds, sent, in_the_way) in self.stops.items()
        }


def late_stops(
    on: dict[str, tuple[float | None, str | None]],
    twin: dict[str, tuple[float | None, str | None]],
) -> list[str]:
    """Invariant (k): the guard-on run's stops that reached the exchange later than its
    guard-off twin's stop that began at the same step; where the twin had none (its run went
    another way), the guard-on stops that were late while something of the guard's stood in
    the way."""
    never = float("inf")
    late = []
    for key, (latency, in_the_way) in sorted(on.items()):
        mine = never if latency is None else latency
        if mine == 0 or in_the_way is None:
            continue
        took = "never" if latency is None else f"after {latency:g} s"
        if key in twin:
            theirs_raw = twin[key][0]
            theirs = never if theirs_raw is None else theirs_raw
            if mine > theirs + 1e-9:
                late.append(
                    f"stop-loss {key}: exit reached the exchange {took}; guard off: "
                    f"{'never' if theirs_raw is None else f'{theirs_raw:g} s'}; the guard: "
                    f"{in_the_way}"
                )
        else:
            late.append(
                f"stop-loss {key}: exit reached the exchange {took} (the twin had no stop due "
                f"at that step); the guard: {in_the_way}"
            )
    return late


__all__ = ["ExitsMixin", "late_stops"]
